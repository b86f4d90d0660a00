"""Attacks on subscriptions through Telegram: the real Application against FakeTelegram.

Hostile-but-legal inputs from users the bot serves: digits Python reads as digits but int()
refuses, and a chat that uses its whole allowance of long subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.alerts.subscriptions import SubscriptionRow
from bot.telegram.format import MESSAGE_LIMIT, utf16_len
from bot.telegram.handlers.subscriptions import render_list
from tests.fakes.telegram import FakeTelegram, parse_html
from tests.test_handlers import ADMIN, LAN
from tests.test_subscriptions_bot import ask, bot_world, edited_after, press, rows


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with bot_world(tmp_path_factory.mktemp("attack_subscriptions_bot"), groups=False) as built:
        yield built


@pytest.fixture
def srv(world: dict[str, Any]) -> FakeTelegram:
    return world["srv"]


@pytest.mark.parametrize("number", ["²", "①", "1²", "9" * 5000])
def test_unsubscribe_with_a_unicode_digit_gets_the_usage_line(srv: FakeTelegram, number: str) -> None:
    # str.isdigit() is True for '²' but int('²') raises: the handler crashed into "an error occurred".
    lan = srv.user(LAN, "Lan", language_code="vi")
    ask(srv, lan, "/subscribe sen hồng")
    reply = ask(srv, lan, f"/unsubscribe {number}")
    assert reply.text.startswith("Gõ /unsubscribe số"), reply.text


def test_a_full_list_of_long_subscriptions_can_still_be_managed(world: dict[str, Any], srv: FakeTelegram) -> None:
    # 50 subscriptions (the default limit) with 200-character labels make a list of ~11,000
    # characters: /subscriptions is split into parts, but a button press edits ONE message.
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    for i in range(50):
        words = " ".join(f"từ{i}x{j}" for j in range(40))
        reply = ask(srv, admin, f"/subscribe {words}")
        assert reply.text.startswith("🔔"), reply.text
    sent = srv.send_text(admin, "/subscriptions")
    listing = srv.wait_for_message(admin, lambda c: bool(c.buttons), after=sent)  # the keyboard rides the last part
    first, last = rows(world, "SELECT min(id), max(id) FROM subscriptions WHERE chat_id = ? AND active = 1", ADMIN)[0]
    mark = srv.mark()
    press(srv, admin, listing, f"sub:o:{last}")
    card = edited_after(srv, admin, mark)
    mark = srv.mark()
    answer = press(srv, admin, card, "sub:l:o")  # back to the list
    assert "text" not in answer or "lỗi" not in answer["text"].lower(), answer
    back = edited_after(srv, admin, mark)
    assert back.error_code is None and len(back.html or "") <= 4096
    assert f"sub:o:{first}" in back.callback_data and f"sub:o:{last}" in back.callback_data
    # Deleting from the card lands on the list too.
    mark = srv.mark()
    press(srv, admin, back, f"sub:o:{last}")
    card = edited_after(srv, admin, mark)
    mark = srv.mark()
    press(srv, admin, card, f"sub:x:{last}")
    after = edited_after(srv, admin, mark)
    assert after.error_code is None
    assert rows(world, "SELECT active FROM subscriptions WHERE id = ?", last) == [(0,)]


@pytest.mark.parametrize(("count", "lang"), [(50, "vi"), (50, "en"), (200, "vi")])
def test_the_list_fits_one_message_whatever_the_labels_and_states(count: int, lang: str) -> None:
    # Escaping grows '&' fivefold, and a blocked daily campaign's line is ~100 characters
    # without its label: 50 of them do not fit even with labels cut, 200 (a configured limit) never.
    rows_ = [
        SubscriptionRow(i, 1, None, "campaign", "c", "", "&<" * 100, "daily", "07:30", None, True, "blocked", 1,
                        "private", lang, "2026-11-30")
        for i in range(1, count + 1)
    ]  # fmt: skip
    for view in ("o", "x"):
        text = render_list(rows_, lang, count, view)
        parse_html(text)
        assert utf16_len(text) <= MESSAGE_LIMIT
        assert text.splitlines()[1].startswith("1. ")
