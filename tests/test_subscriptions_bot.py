"""Subscriptions through Telegram: the real Application against FakeTelegram, a real archive in SQLite.

/subscribe, the Follow button under answers, /subscriptions with its buttons, /unsubscribe, group
admins (asked with getChatMember), forum topics, stale and forged buttons.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BOT_TOKEN, BOT_USERNAME
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall, parse_html
from tests.test_handlers import ADMIN, FORUM, LAN, TEAM_CHAT, TZ, BotThread, feeds, make_config, populate

MEMBER, GROUP_ADMIN, OUTSIDER = 8201, 8202, 8203


@contextmanager
def bot_world(tmp: Path, *, groups: bool = True) -> Iterator[dict[str, Any]]:
    """The real bot on a populated archive against FakeTelegram; no message may be refused (400)."""
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        for path, body in feeds(datetime.now(TZ)).items():
            server.add(path, body)
        config = make_config(tmp, server)
        db = tmp / "mediabot.db"
        populate(config, db)
        if groups:
            srv.group(TEAM_CHAT, "Tổ báo chí")
            srv.group(FORUM, "Diễn đàn", is_forum=True)
        with BotThread(srv, config, db) as bot:
            yield {"srv": srv, "bot": bot, "db": db}
        bad = [c.summary() for c in srv.sent if c.error_code == 400]
        assert not bad, f"Telegram refused messages: {bad}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with bot_world(tmp_path_factory.mktemp("subscriptions_bot")) as built:
        yield built


@pytest.fixture
def srv(world: dict[str, Any]) -> FakeTelegram:
    return world["srv"]


def rows(world: dict[str, Any], sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{Path(world['db'])}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def ask(srv: FakeTelegram, user: FakeUser, text: str, chat: Any = None, **kwargs: Any) -> RecordedCall:
    chat = chat if chat is not None else user
    message_id = srv.send_text(user, text, chat=None if chat is user else chat, **kwargs)
    reply = srv.wait_for_message(chat, after=message_id)
    parse_html(reply.html or "")
    assert len(reply.html or "") <= 4096
    return reply


def press(srv: FakeTelegram, user: FakeUser, message: RecordedCall, data: str, **kwargs: Any) -> dict[str, Any]:
    """Press a button; the bot's answerCallbackQuery parameters once it answered."""
    query_id = srv.press_button(user, message, data, **kwargs)
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id)
    answer = srv.callback_answer(query_id)
    assert answer is not None
    return answer


def edited_after(srv: FakeTelegram, chat: Any, mark: int) -> RecordedCall:
    return srv.wait_for_message(chat, lambda c: c.method == "editMessageText", after_call=mark)


def button(call: RecordedCall, text: str) -> str:
    return next(b["callback_data"] for row in call.buttons for b in row if b["text"] == text)


# ---- subscribing


def test_subscribe_confirms_with_the_three_newest_matches(world: dict[str, Any], srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "/subscribe chuyển đổi số")
    lines = reply.text.splitlines()
    assert lines[0] == "🔔 Đã theo dõi chuyển đổi số — báo ngay.", lines
    assert "Đồng Tháp đẩy mạnh chuyển đổi số trong hành chính công" in reply.text
    assert reply.text.count("\n1. ") == 1 and "\n3. " in reply.text and "\n4. " not in reply.text
    assert rows(world, "SELECT kind, query, mode, thread_id FROM subscriptions WHERE chat_id = ?", LAN) == [
        ("query", "chuyển đổi số", "instant", None)
    ]
    again = ask(srv, lan, "/subscribe chuyển đổi số")
    assert again.text == "Đã theo dõi chuyển đổi số ở đây rồi; xem /subscriptions."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/subscribe", "Cách dùng: /subscribe chuyển đổi số"),
        ("/subscribe daily 7h30 bão", "7h30 không phải giờ hợp lệ"),
        ("/subscribe bão since:7d", "Theo dõi luôn báo bài mới nên không cần since:"),
        ("/subscribe bão source:baodongthapp", "Không hiểu truy vấn: không có nguồn baodongthapp, có phải ý bạn là"),
        ("/subscribe source Báo Không Có", "Không có nguồn Báo Không Có"),
        ("/subscribe campaign khong-co", "Không có chiến dịch khong-co; các chiến dịch: chuyen-doi-so"),
    ],
)
def test_mistakes_get_one_clear_line(srv: FakeTelegram, text: str, expected: str) -> None:
    reply = ask(srv, srv.user(ADMIN, "Quản trị", language_code="vi"), text)
    assert reply.text.startswith(expected), reply.text


def test_follow_button_subscribes_to_the_question_without_its_period(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    answer = ask(srv, admin, "có bài nào về nông dân trên Báo Đồng Tháp tuần này không?")
    assert answer.text.startswith("Tìm thấy 1 bài tuần này")
    mark = srv.mark()
    press(srv, admin, answer, button(answer, "🔔 Theo dõi"))
    done = srv.wait_for_message(admin, lambda c: c.text.startswith("🔔"), after_call=mark)
    assert done.text.startswith("🔔 Đã theo dõi nông dân source:baodongthap — báo ngay.")
    assert "Chuyển đổi số nông nghiệp: nông dân bán xoài qua mạng" in done.text
    newest = "SELECT kind, target, query FROM subscriptions WHERE chat_id = ? ORDER BY id DESC LIMIT 1"
    assert rows(world, newest, ADMIN) == [("query", None, "nông dân source:baodongthap")]
    # A question naming a campaign follows the campaign (and the outlet it named).
    answer = ask(srv, admin, "chuyển đổi số trên Báo Cần Thơ tuần này")
    mark = srv.mark()
    press(srv, admin, answer, button(answer, "🔔 Theo dõi"))
    done = srv.wait_for_message(admin, lambda c: c.text.startswith("🔔"), after_call=mark)
    assert done.text.startswith("🔔 Đã theo dõi chiến dịch Chuyển đổi số source:baocantho — báo ngay.")
    assert rows(world, newest, ADMIN) == [("campaign", "chuyen-doi-so", "source:baocantho")]


def test_follow_under_search_news_and_latest(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    for text, kind in (("/news", "news"), ("/latest baocantho", "source"), ('/search "giáo dục" -lúa', "query")):
        answer = ask(srv, admin, text)
        mark = srv.mark()
        press(srv, admin, answer, button(answer, "🔔 Theo dõi"))
        srv.wait_for_message(admin, lambda c: c.text.startswith("🔔"), after_call=mark)
        newest = rows(world, "SELECT kind FROM subscriptions WHERE chat_id = ? ORDER BY id DESC LIMIT 1", ADMIN)
        assert newest == [(kind,)], text


def test_stale_and_forged_buttons_get_a_short_answer(world: dict[str, Any], srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    answer = ask(srv, lan, "lễ hội bánh dân gian")
    expired = "Nút này đã cũ; gõ /subscriptions để xem lại."
    for data in ("sub:f:nosuchtoken", "sub:x:999999999", "sub:zz:1", "sub:f:" + "x" * 58, "sub:mute:-1"):
        assert press(srv, lan, answer, data, forged=True).get("text") == expired, data
    other = rows(world, "SELECT id FROM subscriptions WHERE chat_id != ? LIMIT 1", LAN)
    assert other, "another chat's subscription is needed"
    assert press(srv, lan, answer, f"sub:x:{other[0][0]}", forged=True).get("text") == expired
    assert rows(world, "SELECT active FROM subscriptions WHERE id = ?", other[0][0]) == [(1,)]


# ---- managing


def test_list_pause_switch_delete(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    chat = admin
    ask(srv, admin, "/subscribe daily 18:00 sen tháp mười")
    listing = ask(srv, admin, "/subscriptions")
    assert "sen tháp mười — bản tin hằng ngày lúc 18:00" in listing.text
    sub_id = rows(world, "SELECT id FROM subscriptions WHERE chat_id = ? AND query = ?", ADMIN, "sen tháp mười")[0][0]
    mark = srv.mark()
    press(srv, admin, listing, f"sub:o:{sub_id}")
    card = edited_after(srv, chat, mark)
    mark = srv.mark()
    press(srv, admin, card, f"sub:p:{sub_id}")
    card = edited_after(srv, chat, mark)
    assert "⏸ đang tạm dừng" in card.text and f"sub:r:{sub_id}" in card.callback_data
    mark = srv.mark()
    press(srv, admin, card, f"sub:m:{sub_id}")
    card = edited_after(srv, chat, mark)
    assert "Cách gửi: báo ngay" in card.text
    assert rows(world, "SELECT mode, paused, paused_reason FROM subscriptions WHERE id = ?", sub_id) == [
        ("instant", 1, "user")
    ]
    mark = srv.mark()
    press(srv, admin, card, f"sub:x:{sub_id}")
    after = edited_after(srv, chat, mark)
    assert "sen tháp mười" not in after.text
    assert rows(world, "SELECT active FROM subscriptions WHERE id = ?", sub_id) == [(0,)]


def test_unsubscribe_by_number(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    ask(srv, admin, "/subscribe lũ lụt miền Tây")
    listing = ask(srv, admin, "/unsubscribe")
    lines = [line for line in listing.text.splitlines() if line[:1].isdigit()]
    number = next(i for i, line in enumerate(lines, start=1) if "lũ lụt miền Tây" in line)
    assert f"🗑 {number}" in [b["text"] for row in listing.buttons for b in row]
    assert ask(srv, admin, "/unsubscribe 999").text.startswith("Gõ /unsubscribe số")
    assert ask(srv, admin, f"/unsubscribe {number}").text == "Đã bỏ theo dõi lũ lụt miền Tây."


def test_group_only_admins_change_its_subscriptions(world: dict[str, Any], srv: FakeTelegram) -> None:
    group = srv.group(TEAM_CHAT, "Tổ báo chí")
    member = srv.user(MEMBER, "Thành viên")
    boss = srv.user(GROUP_ADMIN, "Trưởng nhóm")
    srv.set_member_status(group, member, "member")
    srv.set_member_status(group, boss, "administrator")
    refused = ask(srv, member, f"/subscribe@{BOT_USERNAME} giá lúa", chat=group)
    assert refused.text == "Chỉ quản trị viên của nhóm mới được thay đổi các theo dõi của nhóm."
    assert rows(world, "SELECT count(*) FROM subscriptions WHERE chat_id = ?", TEAM_CHAT) == [(0,)]
    done = ask(srv, boss, "/subscribe giá lúa", chat=group)
    assert done.text.startswith("🔔 Đã theo dõi giá lúa")
    sub_id = rows(world, "SELECT id FROM subscriptions WHERE chat_id = ?", TEAM_CHAT)[0][0]
    listing = ask(srv, member, "/subscriptions", chat=group)  # reading is for everyone
    mark = srv.mark()
    press(srv, member, listing, f"sub:o:{sub_id}")
    card = edited_after(srv, group, mark)
    answer = press(srv, member, card, f"sub:p:{sub_id}")
    assert answer.get("text") == "Chỉ quản trị viên của nhóm mới được thay đổi các theo dõi của nhóm."
    assert rows(world, "SELECT paused FROM subscriptions WHERE id = ?", sub_id) == [(0,)]
    mark = srv.mark()
    press(srv, boss, card, f"sub:p:{sub_id}")
    card = edited_after(srv, group, mark)
    assert rows(world, "SELECT paused FROM subscriptions WHERE id = ?", sub_id) == [(1,)]
    bot_admin = srv.user(ADMIN, "Quản trị", language_code="vi")  # the bot's admins may too
    press(srv, bot_admin, card, f"sub:r:{sub_id}")
    assert rows(world, "SELECT paused FROM subscriptions WHERE id = ?", sub_id) == [(0,)]


def test_topic_subscription_remembers_its_topic(world: dict[str, Any], srv: FakeTelegram) -> None:
    forum = srv.group(FORUM, "Diễn đàn", is_forum=True)
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    reply = ask(srv, admin, "/subscribe news", chat=forum, thread_id=42)
    assert reply.params.get("message_thread_id") == 42
    assert reply.text.startswith("🔔 Đã theo dõi báo chí viết về Sở Thông tin và Truyền thông Đồng Tháp")
    assert rows(world, "SELECT thread_id, kind, chat_type FROM subscriptions WHERE chat_id = ?", FORUM) == [
        (42, "news", "supergroup")
    ]


def test_mute_and_more(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    confirmation = ask(srv, admin, "/subscribe nông dân")
    sub_id = rows(world, "SELECT id FROM subscriptions WHERE chat_id = ? AND query = 'nông dân'", ADMIN)[0][0]
    mark = srv.mark()
    # An alert carries these buttons (bot.alerts delivery); here pressed on the confirmation.
    press(srv, admin, confirmation, f"sub:more:{sub_id}", forged=True)
    more = srv.wait_for_message(admin, lambda c: c.method == "sendMessage", after_call=mark)
    assert more.text.startswith("Tìm thấy 1 bài") and "bán xoài" in more.text
    answer = press(srv, admin, confirmation, f"sub:mute:{sub_id}", forged=True)
    assert answer.get("text") == "Đã tắt thông báo: nông dân. Gõ /subscriptions để bật lại."
    assert rows(world, "SELECT paused, paused_reason FROM subscriptions WHERE id = ?", sub_id) == [(1, "user")]


def test_in_private_mode_a_stranger_cannot_subscribe(world: dict[str, Any], srv: FakeTelegram) -> None:
    stranger = srv.user(OUTSIDER, "Người lạ")
    reply = ask(srv, stranger, "/subscribe chuyển đổi số")
    assert reply.text.endswith(f"ID Telegram của bạn: {OUTSIDER}")
    assert rows(world, "SELECT count(*) FROM subscriptions WHERE created_by = ?", OUTSIDER) == [(0,)]
