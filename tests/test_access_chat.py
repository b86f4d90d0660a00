"""Access control in chat (issue 9), through the real Application against FakeTelegram and a real SQLite file.

Strangers get one refusal an hour and cannot spend the send budget members need; admins list,
revoke and approve again with /users; a denied user may ask again after the cool-down; groups
obey access.chats; non-admins' tries at admin commands and buttons, and /addsource previews,
leave audit rows.

Waiting for "nothing happened": updates of one chat are handled in order, so a (forged) button
press in the same chat, answered silently by the bot, marks that everything before it is done.
Time passing (an hour, a cool-down) is set in the database, as the clock would leave it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import load_config
from bot.store.db import iso_utc
from bot.telegram.handlers.common import ADMIN_COMMANDS
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall, parse_html
from tests.test_handlers import TZ, BotThread, feeds, populate

ADMIN, LAN, HOA = 9001, 9002, 9003  # admin; configured users
TEAM_CHAT, OTHER_GROUP = -100900, -100901


@contextmanager
def bot_world(tmp: Path) -> Iterator[dict[str, Any]]:
    """The real bot on a small archive, Telegram's flood limits on (a 429 is retried); no message refused
    (400), save an edit that changes nothing (the same view pressed twice)."""
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        for path, body in feeds(datetime.now(TZ)).items():
            server.add(path, body)
        data = config_dict(
            sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dongthap.rss")}],
            access={"admins": [ADMIN], "users": [LAN, HOA], "chats": [TEAM_CHAT]},
        )
        path = tmp / "feeds.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        config = load_config(path)
        db = tmp / "mediabot.db"
        populate(config, db)
        srv.user(ADMIN, "Quản trị", language_code="vi")
        srv.group(TEAM_CHAT, "Tổ báo chí")
        srv.group(OTHER_GROUP, "Nhóm lạ")
        srv.flood_limits = True  # Telegram's limits: a bot that floods gets 429s
        with BotThread(srv, config, db):
            yield {"srv": srv, "db": db, "server": server}
        bad = [c.summary() for c in srv.sent if c.error_code == 400 and "not modified" not in (c.description or "")]
        assert not bad, f"Telegram refused messages: {bad}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with bot_world(tmp_path_factory.mktemp("access_chat")) as built:
        yield built


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A bot of its own for the tests that spend the courtesy budget (the others need its tokens)."""
    with bot_world(tmp_path_factory.mktemp("access_crowd")) as built:
        yield built


@pytest.fixture
def srv(world: dict[str, Any]) -> FakeTelegram:
    return world["srv"]


def sql(world: dict[str, Any], statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on the bot's database (a second connection, as another process would)."""
    conn = sqlite3.connect(world["db"], timeout=10)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def ask(srv: FakeTelegram, user: FakeUser, text: str, chat: Any = None) -> RecordedCall:
    chat = chat if chat is not None else user
    message_id = srv.send_text(user, text, chat=None if chat is user else chat)
    reply = srv.wait_for_message(chat, after=message_id)
    assert_valid(reply)
    return reply


def assert_valid(call: RecordedCall) -> None:
    parse_html(call.html or "")
    assert len(call.html or "") <= 4096


def settle(srv: FakeTelegram, user: FakeUser, chat_id: int, message_id: int) -> None:
    """Wait until every earlier update of this chat was handled (see the module docstring)."""
    query = srv.press_button(user, {"chat": {"id": chat_id}, "message_id": message_id}, "pg:zz:1", forged=True)
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query, timeout=30)


def to_chat(srv: FakeTelegram, chat_id: int, since: int) -> list[RecordedCall]:
    return [c for c in srv.sent[since:] if c.chat_id == chat_id and c.ok and c.method == "sendMessage"]


def hour_passes(world: dict[str, Any], chat_id: int) -> None:
    earlier = iso_utc(datetime.now(UTC) - timedelta(hours=1, minutes=1))
    sql(world, "UPDATE refusals SET refused_at = ? WHERE chat_id = ?", earlier, chat_id)


def press(srv: FakeTelegram, user: FakeUser, message: RecordedCall, data: str) -> RecordedCall:
    """Press one of `message`'s buttons; the bot's edit of that message."""
    query = srv.press_button(user, message, data)
    edit = srv.wait_for_message(message.chat_id, lambda c: c.method == "editMessageText", after=query)
    assert_valid(edit)
    return edit


# ---- strangers


def test_a_stranger_is_refused_once_an_hour_and_admins_asked_once(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    stranger = srv.user(9101, "Đặng", last_name="Thị Đào", username="dao_dang")
    mark = srv.mark()
    refusal = ask(srv, stranger, "tin chuyển đổi số")
    assert refusal.text.endswith("ID Telegram của bạn: 9101")
    last = 0
    for text in ("xin chào", "/start", "/search đường", "cho tôi xem tin"):
        last = srv.send_text(stranger, text)
    settle(srv, stranger, stranger.id, last)
    assert len(to_chat(srv, stranger.id, mark)) == 1
    requests = [c for c in to_chat(srv, admin.id, mark) if "acc:a:9101" in c.callback_data]
    assert len(requests) == 1 and "Đặng Thị Đào" in requests[0].text and "/users" in requests[0].text
    # An hour later (the refusal is remembered in the database, so a restart changes nothing) …
    hour_passes(world, stranger.id)
    assert ask(srv, stranger, "còn tôi thì sao?").text.endswith("ID Telegram của bạn: 9101")
    assert len(to_chat(srv, stranger.id, mark)) == 2
    assert len([c for c in to_chat(srv, admin.id, mark) if "acc:a:9101" in c.callback_data]) == 1  # still one


def test_a_flood_of_strangers_does_not_hold_up_a_member(crowded: dict[str, Any]) -> None:
    world, srv = crowded, crowded["srv"]
    lan = srv.user(LAN, "Lan", language_code="vi")
    strangers = [srv.user(20_000 + n, f"Khách {n}", language_code="vi") for n in range(100)]
    mark = srv.mark()
    for round_ in range(3):  # 300 messages from 100 strangers
        for stranger in strangers:
            srv.send_text(stranger, f"tin số {round_} đâu?")
    help_id = srv.send_text(lan, "/help")
    answer = srv.wait_for_message(lan, after=help_id, timeout=30)
    assert "/search" in answer.text
    stranger_ids = {s.id for s in strangers}
    before = [c for c in srv.sent[mark : answer.index] if c.chat_id in stranger_ids and c.method == "sendMessage"]
    # Every refusal waited for its slot before the member's answer on main: 300 of them (11.7 s).
    # Now refusals take a token of their own budget (5 at once, then 1 a second) or are not sent.
    elapsed = answer.at - srv.sent[mark].at if srv.sent[mark:] else 0.0
    assert len(before) <= 5 + elapsed + 1, (len(before), elapsed)
    for stranger in strangers:
        settle(srv, stranger, stranger.id, srv.send_text(stranger, "?"))
    per_stranger = [len(to_chat(srv, s.id, mark)) for s in strangers]
    assert max(per_stranger) <= 1
    pending = sql(world, "SELECT count(*) FROM users WHERE status = 'pending' AND id BETWEEN 20000 AND 20099")
    assert pending == [(100,)]  # every request is kept, for /users, even when no message went out


# ---- /users


def test_users_lists_revokes_and_approves_again(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    user = srv.user(9201, "Nguyễn Văn", last_name="Đức", username="duc_nv")
    settle(srv, user, user.id, srv.send_text(user, "chuyển đổi số"))  # a request
    listing = ask(srv, admin, "/users")
    assert "Người dùng chờ duyệt" in listing.text and "Nguyễn Văn Đức @duc_nv" in listing.text, listing.text
    assert all(len(d.encode()) <= 64 for d in listing.callback_data)
    mark = srv.mark()
    edit = press(srv, admin, listing, "usr:a:9201:pending:0")
    assert "Nguyễn Văn Đức" not in edit.text  # no longer waiting
    srv.wait_for_message(user, lambda c: "đã được cấp quyền" in c.text, after_call=mark)
    assert ask(srv, user, "chuyển đổi số").text.startswith("Tìm thấy")

    approved = ask(srv, admin, "/users approved")
    assert "Nguyễn Văn Đức" in approved.text and "usr:d:9201:approved:0" in approved.callback_data
    mark = srv.mark()
    edit = press(srv, admin, approved, "usr:d:9201:approved:0")
    assert "Nguyễn Văn Đức" not in edit.text
    srv.wait_for_message(user, lambda c: "đã bị thu hồi" in c.text, after_call=mark)
    question = srv.send_text(user, "chuyển đổi số")
    settle(srv, user, user.id, question)
    assert [c for c in to_chat(srv, user.id, mark) if (c.text or "").startswith("Tìm thấy")] == []  # revoked at once

    denied = ask(srv, admin, "/users denied")
    assert "Nguyễn Văn Đức" in denied.text and "usr:a:9201:denied:0" in denied.callback_data
    press(srv, admin, denied, "usr:a:9201:denied:0")
    assert ask(srv, user, "chuyển đổi số").text.startswith("Tìm thấy")
    audit = sql(world, "SELECT actor_id, action FROM audit WHERE target = '9201' ORDER BY id")
    assert audit == [(ADMIN, "user.approved"), (ADMIN, "user.revoked"), (ADMIN, "user.approved")]
    log = ask(srv, admin, "/users log")
    assert "user.revoked" in log.text and "9201" in log.text


def test_users_pages_long_lists_within_telegrams_limits(crowded: dict[str, Any]) -> None:
    srv = crowded["srv"]
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    long_name = "Trần Thị Hồng Nhung " * 20  # 400 characters: shortened in the list and on buttons
    for n in range(23):
        stranger = srv.user(30_000 + n, f"{long_name}{n}", username=f"u{n}")
        settle(srv, stranger, stranger.id, srv.send_text(stranger, "xin dùng bot"))
    first = ask(srv, admin, "/users")
    pages = int(first.text.split("trang 1/")[1].split()[0])
    assert pages >= 3
    assert all(len(d.encode()) <= 64 for d in first.callback_data)
    assert all(len(b["text"]) <= 40 for row in first.buttons for b in row)
    second = press(srv, admin, first, "usr:v:pending:1")
    assert "trang 2/" in second.text and "11. " in second.text


def test_users_buttons_refuse_forged_data(
    world: dict[str, Any], srv: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    target = srv.user(9301, "Lê Thị Mai")
    settle(srv, target, target.id, srv.send_text(target, "tin mới"))
    listing = ask(srv, admin, "/users")
    for data in ("usr:a:9301:pending", "usr:a:9301:everyone:0", "usr:x:9301:pending:0", "usr:a:" + "9" * 40 + ":p:0"):
        query = srv.press_button(admin, listing, data, forged=True)
        srv.wait_for_call("answerCallbackQuery", lambda c, q=query: c.params.get("callback_query_id") == q)
    assert sql(world, "SELECT status FROM users WHERE id = 9301") == [("pending",)]
    mark = srv.mark()
    for _ in range(2):  # the same view twice: the second edit changes nothing, which is no error
        query = srv.press_button(admin, listing, "usr:v:pending:0")
        srv.wait_for_call("answerCallbackQuery", lambda c, q=query: c.params.get("callback_query_id") == q)
    settle(srv, admin, admin.id, listing.message_id or 0)
    assert not [c for c in to_chat(srv, admin.id, mark) if "Đã có lỗi" in (c.text or "")]
    assert not [r for r in caplog.records if "failed" in r.getMessage() and r.exc_info], "the error handler ran"


# ---- cool-down


def test_a_denied_user_may_ask_again_only_after_the_cooldown(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    user = srv.user(9401, "Phạm Đình", last_name="Đông")
    mark = srv.mark()
    ask(srv, user, "cho tôi dùng bot")
    request = srv.wait_for_message(admin, lambda c: "acc:d:9401" in c.callback_data, after_call=mark)
    press(srv, admin, request, "acc:d:9401")
    srv.wait_for_message(user, lambda c: "không được chấp thuận" in c.text, after_call=mark)
    hour_passes(world, user.id)
    again = ask(srv, user, "xin lần nữa")
    assert "Bạn có thể xin lại từ" in again.text and "9401" in again.text
    requests = [c for c in to_chat(srv, admin.id, mark) if "acc:a:9401" in c.callback_data]
    assert len(requests) == 1  # before the cool-down no new request reaches admins
    assert sql(world, "SELECT status FROM users WHERE id = 9401") == [("denied",)]
    # Seven days later (the default access.request_cooldown) the next message asks the admins again.
    week_ago = iso_utc(datetime.now(UTC) - timedelta(days=7, minutes=1))
    sql(world, "UPDATE users SET decided_at = ? WHERE id = 9401", week_ago)
    hour_passes(world, user.id)
    later = srv.mark()
    assert ask(srv, user, "xin lần nữa nhé").text.endswith("ID Telegram của bạn: 9401")
    srv.wait_for_message(admin, lambda c: "acc:a:9401" in c.callback_data, after_call=later)
    assert len([c for c in to_chat(srv, admin.id, mark) if "acc:a:9401" in c.callback_data]) == 2
    assert sql(world, "SELECT status FROM users WHERE id = 9401") == [("pending",)]


# ---- groups


def test_groups_obey_access_chats(world: dict[str, Any], srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    mark = srv.mark()
    refusal = ask(srv, lan, f"@{BOT_USERNAME} chuyển đổi số", chat=OTHER_GROUP)
    assert str(OTHER_GROUP) in refusal.text and "chuyển đổi số" not in refusal.text
    hoa = srv.user(HOA, "Hoa", language_code="vi")
    srv.send_text(hoa, f"/latest@{BOT_USERNAME}", chat=OTHER_GROUP)  # another configured user: not twice an hour
    settle(srv, lan, OTHER_GROUP, srv.send_text(lan, f"/sources@{BOT_USERNAME}", chat=OTHER_GROUP))
    assert len(to_chat(srv, OTHER_GROUP, mark)) == 1
    # Admins are answered in any group: they choose where the bot speaks.
    assert ask(srv, admin, f"/latest@{BOT_USERNAME}", chat=OTHER_GROUP).text.startswith("Bài mới nhất")
    assert ask(srv, lan, f"@{BOT_USERNAME} chuyển đổi số", chat=TEAM_CHAT).text.startswith("Tìm thấy")
    member = srv.user(9501, "Thành viên tổ")  # anyone in an allowed group
    assert ask(srv, member, f"/latest@{BOT_USERNAME}", chat=TEAM_CHAT).text.startswith("Bài mới nhất")
    hour_passes(world, OTHER_GROUP)
    assert str(OTHER_GROUP) in ask(srv, lan, f"@{BOT_USERNAME} tin", chat=OTHER_GROUP).text


# ---- audit


def test_non_admin_attempts_and_previews_are_audited(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    hoa = srv.user(HOA, "Hoa", language_code="vi")
    assert ask(srv, hoa, "/users").text == "Lệnh này chỉ dành cho quản trị viên."
    answer = ask(srv, hoa, "chuyển đổi số")
    query = srv.press_button(hoa, answer, f"acc:a:{HOA + 1}", forged=True)
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query)
    stranger = srv.user(9601, "Kẻ Lạ")
    settle(srv, stranger, stranger.id, srv.send_text(stranger, "/addsource http://127.0.0.1/x.rss"))
    rows = sql(world, "SELECT actor_id, action, target FROM audit WHERE action = 'admin.refused' ORDER BY id")
    assert (HOA, "admin.refused", "/users") in rows
    assert (9601, "admin.refused", "/addsource http://127.0.0.1/x.rss") in rows
    # Hoa's forged press came within a minute of their /users: one row a minute per user, not a flood.
    assert [r for r in rows if r[0] == HOA] == [(HOA, "admin.refused", "/users")]
    url = world["server"].url("/cantho.rss")  # not a source yet
    preview = ask(srv, admin, f"/addsource {url}")
    assert preview.callback_data
    secret_url = url.replace("http://", "http://lan:matkhau-bi-mat@")
    ask(srv, admin, f"/addsource {secret_url}")
    previews = sql(world, "SELECT actor_id, target, detail FROM audit WHERE action = 'source.preview' ORDER BY id")
    assert previews[0][:2] == (ADMIN, url) and "items" in previews[0][2]
    assert len(previews) == 2 and "matkhau" not in str(previews)
    assert "source.preview" in ask(srv, admin, "/users log").text


def test_admins_find_their_commands_in_their_own_menu(srv: FakeTelegram) -> None:
    everyone = {c["command"] for c in srv.commands()}
    admin_vi = {c["command"] for c in srv.commands(scope={"type": "chat", "chat_id": ADMIN})}
    admin_en = {c["command"] for c in srv.commands(scope={"type": "chat", "chat_id": ADMIN}, language_code="en")}
    assert "users" not in everyone and "addsource" not in everyone
    assert admin_vi == admin_en == everyone | set(ADMIN_COMMANDS)
