"""The Telegram layer in-process: the real Application against FakeTelegram, a real archive in SQLite.

One bot (module scope) runs in a background thread with its own event loop, so these
sync tests act as users through FakeTelegram and wait for the bot's answers. Each test
uses its own users, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from telegram import Chat, Message, Update, User

from bot.config import Config, load_config
from bot.logsetup import RedactSecrets, configure_logging
from bot.runtime import Runtime
from bot.settings import Settings
from bot.telegram.app import PerChatUpdateProcessor, build_application, running
from bot.telegram.context import SERVICES_KEY
from bot.telegram.i18n import t
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, RecordedCall, parse_html

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN, LAN, JOHN = 1001, 1002, 1003  # admin; configured user (vi); configured user (English client)
TEAM_CHAT, OTHER_GROUP, FORUM = -100500, -100600, -100700
DATE = re.compile(r"\b\d{2}/\d{2} \d{2}:\d{2}\b")


def this_week(now: datetime, fraction: float) -> datetime:
    """A moment between Monday 00:00 of this week and now (`fraction` of the way)."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday + (now - monday) * fraction


def feeds(now: datetime) -> dict[str, bytes]:
    """The fixture archive: recent 'chuyển đổi số' news, our own news, old news, and a long topic to page."""
    dongthap = [
        (
            "Đồng Tháp đẩy mạnh chuyển đổi số trong hành chính công",
            "Tỉnh triển khai chuyển đổi số ở mọi xã.",
            this_week(now, 0.9),
        ),
        (
            "Chuyển đổi số nông nghiệp: nông dân bán xoài qua mạng",
            "Nông dân Cao Lãnh học bán hàng trực tuyến.",
            this_week(now, 0.8),
        ),
        ("Sở TT&TT Đồng Tháp họp báo định kỳ", "Sở TT&TT Đồng Tháp thông tin về báo chí.", this_week(now, 0.7)),
        ("Giá lúa tăng mạnh ở đồng bằng", "Thương lái thu mua lúa.", now - timedelta(days=40)),
    ]
    dongthap += [
        (
            f"Giáo dục: trường số {i} đạt chuẩn quốc gia",
            "Ngành giáo dục tỉnh nhà báo tin vui.",
            now - timedelta(days=10, hours=i),
        )
        for i in range(12)
    ]
    cantho = [
        ("Cần Thơ tăng tốc chuyển đổi số đô thị", "Thành phố số hóa dịch vụ công.", this_week(now, 0.6)),
        ("Lễ hội bánh dân gian Nam Bộ", "Đông đảo du khách.", now - timedelta(days=3)),
    ]
    return {
        "/dongthap.rss": rss("Báo Đồng Tháp", dongthap, site="https://baodongthap.example.vn"),
        "/cantho.rss": rss("Báo Cần Thơ", cantho, site="https://baocantho.example.vn"),
    }


def make_config(tmp: Path, server: FeedServer, **overrides: Any) -> Config:
    sources = [
        {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dongthap.rss")},
        {"id": "baocantho", "name": "Báo Cần Thơ", "url": server.url("/cantho.rss")},
        {"id": "baoloi", "name": "Báo Lỗi", "url": server.url("/status/500")},
    ]
    data = config_dict(
        sources=sources,
        campaigns=[{"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"chuyển đổi số"'}],
        access={"admins": [ADMIN], "users": [LAN, JOHN], "chats": [TEAM_CHAT, FORUM]},
        **overrides,
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def populate(config: Config, db: Path) -> None:
    """Poll every feed once, as `mediabot poll` would, before the bot starts."""

    async def poll() -> None:
        runtime = Runtime(config, db)
        await runtime.start()
        try:
            assert runtime.poller
            await runtime.poller.poll(only_due=False)
        finally:
            await runtime.aclose()

    asyncio.run(poll())


class BotThread:
    """The bot's Application running in its own thread and event loop."""

    def __init__(self, srv: FakeTelegram, config: Config, db: Path) -> None:
        settings = Settings(token=srv.token, api_url=srv.url, db_path=str(db))
        self.app = build_application(settings, config, poll_feeds=False)
        self.srv = srv
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="bot", daemon=True)
        self.error: BaseException | None = None

    async def _main(self) -> None:
        self.loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with running(self.app):
                self._ready.set()
                await self._stop.wait()
        except BaseException as err:
            self.error = err
            raise
        finally:
            self._ready.set()

    def __enter__(self) -> BotThread:
        self._thread.start()
        assert self._ready.wait(30), "the bot did not start"
        if self.error:
            raise self.error
        self.srv.wait_for_polling()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop and self._stop
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        assert not self._thread.is_alive(), "the bot did not stop"

    def run(self, func: Callable[[], Any]) -> Any:
        """Run `func` on the bot's loop (the services are not thread-safe) and return its result."""
        assert self.loop

        async def call() -> Any:
            return func()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("handlers")
    now = datetime.now(TZ)
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        for path, body in feeds(now).items():
            server.add(path, body)
        config = make_config(tmp, server)
        db = tmp / "mediabot.db"
        populate(config, db)
        srv.user(ADMIN, "Quản trị", language_code="vi")  # the admin has opened the bot: requests reach them
        srv.group(TEAM_CHAT, "Tổ báo chí")
        srv.group(OTHER_GROUP, "Nhóm khác")
        srv.group(FORUM, "Diễn đàn", is_forum=True)
        with BotThread(srv, config, db) as bot:
            yield {"srv": srv, "bot": bot, "db": db, "server": server, "tmp": tmp}
        bad = [c.summary() for c in srv.sent if c.error_code == 400]
        assert not bad, f"Telegram refused messages: {bad}"


@pytest.fixture
def srv(world: dict[str, Any]) -> FakeTelegram:
    return world["srv"]


def ask(srv: FakeTelegram, user: Any, text: str, chat: Any = None, **kwargs: Any) -> RecordedCall:
    """Send as `user`, wait for the bot's first message in that chat afterwards."""
    chat = chat if chat is not None else user
    message_id = srv.send_text(user, text, chat=None if chat is user else chat, **kwargs)
    return srv.wait_for_message(chat, after=message_id)


def assert_valid(call: RecordedCall) -> None:
    html = call.html or ""
    parse_html(html)  # raises on markup Telegram would refuse
    assert len(html) <= 4096


def links(call: RecordedCall) -> list[str]:
    return [e["url"] for e in (call.message or {}).get("entities", []) if e["type"] == "text_link"]


# ---- conversation


def test_commands_menu_in_vietnamese_and_english(srv: FakeTelegram) -> None:
    vi = {c["command"]: c["description"] for c in srv.commands()}
    en = {c["command"]: c["description"] for c in srv.commands(language_code="en")}
    assert {"search", "latest", "news", "sources", "campaigns", "lang", "help"} <= set(vi) == set(en)
    assert vi["search"] != en["search"]


def test_start_and_help_show_examples(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    start = ask(srv, lan, "/start")
    assert "chuyển đổi số" in start.text and "/help" in start.text
    help_text = ask(srv, lan, "/help")
    assert "/search" in help_text.text and "/addsource" not in help_text.text
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    assert "/addsource" in ask(srv, admin, "/help").text


def test_vietnamese_question_gets_summary_and_linked_results(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "có bài nào về chuyển đổi số tuần này không?")
    assert_valid(reply)
    first_line = reply.text.splitlines()[0]
    assert first_line.startswith("Tìm thấy 3 bài tuần này"), first_line
    assert "Báo Đồng Tháp (2)" in first_line
    assert "Đồng Tháp đẩy mạnh chuyển đổi số trong hành chính công" in reply.text
    assert "Giá lúa" not in reply.text
    assert DATE.search(reply.text)
    assert all(u.startswith("https://bao") for u in links(reply)) and len(links(reply)) == 3
    assert reply.params.get("link_preview_options", {}).get("is_disabled") is True
    # One page: no pager, only the Follow button (bot.telegram.handlers.subscriptions).
    assert [[b["text"] for b in row] for row in reply.buttons] == [["🔔 Theo dõi"]]
    assert [d.split(":")[:2] for d in reply.callback_data] == [["sub", "f"]]


def test_english_client_is_answered_in_english(srv: FakeTelegram) -> None:
    john = srv.user(JOHN, "John", language_code="en-GB")
    reply = ask(srv, john, "chuyển đổi số this week")
    assert reply.text.startswith("Found 3 articles"), reply.text


def test_lang_switches_and_is_remembered(world: dict[str, Any], srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    assert "English" in ask(srv, lan, "/lang en").text
    assert ask(srv, lan, "chuyển đổi số").text.startswith("Found")
    stored = (
        sqlite3.connect(f"file:{world['db']}?mode=ro", uri=True)
        .execute("SELECT language FROM user_prefs WHERE user_id = ?", (LAN,))
        .fetchone()
    )
    assert stored == ("en",)
    assert "tiếng Việt" in ask(srv, lan, "/lang vi").text
    assert ask(srv, lan, "chuyển đổi số").text.startswith("Tìm thấy")
    assert "/lang" in ask(srv, lan, "/lang fr").text


def test_nothing_found_suggests_a_broader_question(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "tàu vũ trụ sao hỏa hôm nay")
    assert reply.text.startswith("Không tìm thấy bài nào hôm nay"), reply.text
    assert "ví dụ" in reply.text


def test_nothing_found_never_cuts_a_word(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "giá vàng Đồng Tháp hôm qua")
    assert "<code>giá vàng Đồng Tháp tuần này</code>" in (reply.html or ""), reply.html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cảm ơn", "Bạn muốn tìm tin gì?"),
        ("?", "Bạn muốn tìm tin gì?"),
        ("AND OR", "Bạn muốn tìm tin gì?"),
        ("-x", "cần ít nhất một từ để tìm"),
        ("bão since:2m", "since:2m cần đơn vị ngày, tuần hoặc giờ, ví dụ since:60d"),
        ("chuyển đổi số source:baodongtha", "có phải ý bạn là source:baodongthap"),
        ("chuyển đổi số source:khongco", "gõ /sources để xem danh sách"),
    ],
)
def test_questions_are_explained_never_the_generic_error(srv: FakeTelegram, text: str, expected: str) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, text)
    assert expected in reply.text, reply.text
    assert_valid(reply)


def test_random_questions_through_the_handler_never_get_the_generic_error(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    rng = random.Random(6)
    words = ["chuyển", "đổi", "số", "Đồng", "Tháp", "OR", "AND", "-", '"', "since:7d", "since:2m", "source:x",
             "source:baocantho", "tuần", "này", "tháng", "9", "quý", "3", "từ", "1/9", "đến", "?", "!!!", "😀",
             "cảm", "ơn", "UBND", "TP.HCM", "-lũ", "NEAR(", "*"]  # fmt: skip
    generic = t("error.generic", "vi")
    questions = [" ".join(rng.choice(words) for _ in range(rng.randrange(1, 12))) for _ in range(40)]
    questions.append(" ".join(["bão"] * 90))  # longer than the 64 words a query may have
    for text in questions:
        reply = ask(srv, lan, text)
        assert reply.text != generic and "Traceback" not in reply.text, text


def test_a_long_question_says_which_words_it_searched(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "chuyển đổi số " + " ".join(["số"] * 70))
    assert "Câu hỏi dài: chỉ tìm theo 64 từ đầu, bỏ qua 6 từ." in reply.text, reply.text


def test_search_pages_with_buttons(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    first = ask(srv, lan, "/search giáo dục trường")
    assert "12" in first.text.splitlines()[0]
    assert "1. " in first.text and "6. " not in first.text
    data = first.callback_data
    assert any(d.endswith(":1") for d in data) and all(len(d.encode()) <= 64 for d in data)
    next_data = next(d for d in data if d.endswith(":1"))
    press = srv.press_button(lan, first, next_data)
    second = srv.wait_for_message(lan, lambda c: c.method == "editMessageText", after=press)
    assert_valid(second)
    assert "6. " in second.text and "1. " not in second.text
    assert srv.callback_answer(press) is not None
    back = srv.wait_for_message(
        lan, after=srv.press_button(lan, second, next(d for d in second.callback_data if d.endswith(":0")))
    )
    assert "1. " in back.text


def test_expired_pager_says_ask_again(world: dict[str, Any], srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    first = ask(srv, lan, "/search giáo dục")
    services = world["bot"].app.bot_data[SERVICES_KEY]
    world["bot"].run(services.pages.clear)
    press = srv.press_button(lan, first, next(d for d in first.callback_data if d.endswith(":1")))
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    answer = srv.callback_answer(press)
    assert answer is not None and "tìm lại" in (answer.get("text") or "")


def test_search_syntax_errors_and_usage(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    assert "<code>" in (ask(srv, lan, "/search").html or "")
    reply = ask(srv, lan, "/search -quảng")
    assert reply.text.startswith("Không hiểu truy vấn"), reply.text
    assert "cần ít nhất một từ" in reply.text and "Exclusions" not in reply.text  # said in Vietnamese
    assert "Traceback" not in reply.text
    john = srv.user(JOHN, "John", language_code="en")
    english = ask(srv, john, "/search since:yesterday bão")
    assert "since:yesterday is not a time" in english.text, english.text


def test_latest_all_one_outlet_and_unknown(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    everything = ask(srv, lan, "/latest")
    assert everything.text.startswith("Bài mới nhất")
    one = ask(srv, lan, "/latest Báo Cần Thơ")
    assert "Báo Cần Thơ" in one.text.splitlines()[0] and "Đồng Tháp đẩy mạnh" not in one.text
    unknown = ask(srv, lan, "/latest báo không có")
    assert "không có" in unknown.text and "/sources" in unknown.text


def test_news_lists_articles_about_the_organization(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "/news")
    assert "Sở TT&TT Đồng Tháp họp báo định kỳ" in reply.text
    assert "Giá lúa" not in reply.text


def test_sources_show_health_with_the_failure_reason(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "/sources")
    assert_valid(reply)
    row = next(line for line in reply.text.splitlines() if "baoloi" in line)
    assert "lỗi từ" in row and "500" in row, row
    assert "hoạt động bình thường" in next(line for line in reply.text.splitlines() if "baocantho" in line)


def test_campaigns_count_7_and_30_days(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "/campaigns")
    assert "Chuyển đổi số: 3 bài 7 ngày, 3 bài 30 ngày" in reply.text


def test_unknown_command_gets_help(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    assert "/help" in ask(srv, lan, "/khongco").text


def test_user_text_is_escaped(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, "/latest <b>&amp; Báo")
    assert_valid(reply)
    assert "<b>&amp; Báo" in reply.text


# ---- access control


def test_stranger_learns_only_their_id_and_admin_can_approve(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    stranger = srv.user(5005, "Người Lạ", username="nguoila")
    mark = srv.mark()
    refusal = ask(srv, stranger, "chuyển đổi số")
    assert refusal.text == "Xin lỗi, bot này chỉ phục vụ cán bộ được cấp quyền. ID Telegram của bạn: 5005"
    request = srv.wait_for_message(admin, lambda c: bool(c.callback_data), after_call=mark)
    assert "Người Lạ" in request.text and "5005" in request.text
    assert request.callback_data == ["acc:a:5005", "acc:d:5005"]
    srv.send_text(stranger, "cho tôi xem tin")  # within the hour: no second refusal, no second request
    srv.send_text(stranger, "/start")
    press = srv.press_button(stranger, refusal, "pg:x:1", forged=True)  # the same chat: answered after both
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    to_stranger = [c for c in srv.sent[mark:] if c.chat_id == 5005 and c.message]
    assert len(to_stranger) == 1 and all("5005" in c.text for c in to_stranger)
    assert len([c for c in srv.sent[mark:] if c.chat_id == ADMIN and c.callback_data]) == 1
    # someone else pressing Approve does nothing
    lan = srv.user(LAN, "Lan", language_code="vi")
    press = srv.press_button(lan, request, "acc:a:5005")
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    # the admin approves: stored, the user is told, and served at once
    press = srv.press_button(admin, request, "acc:a:5005")
    done = srv.wait_for_message(admin, lambda c: c.method == "editMessageText", after=press)
    assert "Đã duyệt" in done.text
    srv.wait_for_message(stranger, lambda c: "đã được cấp quyền" in c.text, after_call=mark)
    assert ask(srv, stranger, "chuyển đổi số tuần này").text.startswith("Tìm thấy")
    rows = (
        sqlite3.connect(f"file:{world['db']}?mode=ro", uri=True)
        .execute("SELECT status, decided_by FROM users WHERE id = 5005")
        .fetchall()
    )
    assert rows == [("approved", ADMIN)]


def test_admin_can_deny(srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    stranger = srv.user(5006, "Khách")
    mark = srv.mark()
    ask(srv, stranger, "xin chào")
    request = srv.wait_for_message(admin, lambda c: "acc:d:5006" in c.callback_data, after_call=mark)
    press = srv.press_button(admin, request, "acc:d:5006")
    assert "Đã từ chối" in srv.wait_for_message(admin, after=press).text
    told = srv.wait_for_message(stranger, lambda c: "không được chấp thuận" in c.text, after_call=mark)
    srv.send_text(stranger, "chuyển đổi số")  # refused within the hour already: nothing more
    press = srv.press_button(stranger, told, "pg:x:1", forged=True)  # the same chat: answered after it
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    assert [c for c in srv.sent if c.chat_id == 5006 and c.message and c.index > told.index] == []


def test_stranger_pressing_a_button_gets_nothing(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    page = ask(srv, lan, "/search giáo dục")
    stranger = srv.user(5007, "Người Lạ")
    mark = srv.mark()
    press = srv.press_button(stranger, page, next(d for d in page.callback_data if d.endswith(":1")))
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    assert not [c for c in srv.sent[mark:] if c.method == "editMessageText"]


# ---- admin commands


def audit_rows(db: Path, action: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    return conn.execute("SELECT actor_id, action, target FROM audit WHERE action LIKE ?", (f"%{action}%",)).fetchall()


def test_admin_commands_are_refused_to_others(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    for command in ("/pause baocantho", "/stats", "/addsource https://x.example.vn/rss", "/reload"):
        assert ask(srv, lan, command).text == "Lệnh này chỉ dành cho quản trị viên."


def test_pause_resume_remove_with_audit(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    assert "/pause" in ask(srv, admin, "/pause").text
    assert "Đã tạm dừng nguồn baocantho" in ask(srv, admin, "/pause baocantho").text
    assert "đang tạm dừng" in next(
        line for line in ask(srv, admin, "/sources").text.splitlines() if "baocantho" in line
    )
    assert "Đã chạy lại" in ask(srv, admin, "/resume baocantho").text
    assert "Không có nguồn" in ask(srv, admin, "/removesource khong-co").text
    actions = {row[1] for row in audit_rows(world["db"], "")}
    assert any("pause" in a for a in actions) and any("resume" in a for a in actions), actions
    assert all(row[0] == ADMIN for row in audit_rows(world["db"], "pause"))


def test_stats_and_reload(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    stats = ask(srv, admin, "/stats")
    assert stats.text.startswith("Thống kê")
    stored = re.search(r"Bài đã lưu: (\d+)", stats.text)
    assert stored and int(stored.group(1)) >= 18, stats.text
    assert "3 nguồn, 1 chiến dịch" in ask(srv, admin, "/reload").text
    assert audit_rows(world["db"], "reload")


def _set_campaign_query(world: dict[str, Any], query: str) -> None:
    path = world["tmp"] / "feeds.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["campaigns"][0]["query"] = query
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_reload_retags_a_changed_campaign(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    try:
        _set_campaign_query(world, '"chuyển đổi số" -"Cần Thơ"')
        reply = ask(srv, admin, "/reload").text
        assert "Đã gắn thẻ lại chiến dịch trên toàn bộ kho (số bài): Chuyển đổi số (2)." in reply, reply
        assert "Chuyển đổi số: 2 bài 7 ngày, 2 bài 30 ngày" in ask(srv, admin, "/campaigns").text
    finally:
        _set_campaign_query(world, '"chuyển đổi số"')
        assert "Chuyển đổi số (3)" in ask(srv, admin, "/reload").text
    assert "gắn thẻ lại" not in ask(srv, admin, "/reload").text  # unchanged: nothing re-tagged


def test_addsource_previews_then_adds(world: dict[str, Any], srv: FakeTelegram) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    now = datetime.now(TZ)
    url = world["server"].add("/new.rss", rss("Báo Mới Đắk Lắk", [("Tin cà phê", "Giá cà phê", now)]))
    assert "Cách dùng" in ask(srv, admin, "/addsource").text
    assert "Cách dùng" in ask(srv, admin, "/addsource khong-phai-url").text
    preview = ask(srv, admin, f"/addsource {url}")
    assert "Báo Mới Đắk Lắk" in preview.text and "1 mục" in preview.text
    add = next(d for d in preview.callback_data if d.startswith("src:add:"))
    press = srv.press_button(admin, preview, add)
    done = srv.wait_for_message(admin, lambda c: c.method == "editMessageText", after=press)
    assert "Đã thêm nguồn" in done.text
    assert "bao-moi-dak-lak" in ask(srv, admin, "/sources").text
    assert audit_rows(world["db"], "add")
    again = ask(srv, admin, f"/addsource {url}")
    assert "đã có" in again.text


def test_addsource_cancel_adds_nothing(srv: FakeTelegram, world: dict[str, Any]) -> None:
    admin = srv.user(ADMIN, "Quản trị")
    url = world["server"].add("/cancel.rss", rss("Báo Hủy", [("Tin", "Tin", datetime.now(TZ))]))
    preview = ask(srv, admin, f"/addsource {url}")
    press = srv.press_button(admin, preview, next(d for d in preview.callback_data if d.startswith("src:no:")))
    assert "Đã hủy" in srv.wait_for_message(admin, after=press).text
    assert "bao-huy" not in ask(srv, admin, "/sources").text


# ---- groups and topics


def test_group_mentions_replies_and_commands(srv: FakeTelegram) -> None:
    member = srv.user(7001, "Thành viên")  # not configured: trusted as a member of the team chat
    chatter = srv.send_text(member, "hôm nay ăn gì nhỉ?", chat=TEAM_CHAT)
    other_bot = srv.send_text(member, "/search@otherbot chuyển đổi số", chat=TEAM_CHAT)
    mention = ask(srv, member, f"@{BOT_USERNAME} chuyển đổi số tuần này", chat=TEAM_CHAT)
    assert mention.text.startswith("Tìm thấy 3 bài")
    answered = {(c.params.get("reply_parameters") or {}).get("message_id") for c in srv.sent if c.chat_id == TEAM_CHAT}
    assert chatter not in answered and other_bot not in answered
    command = ask(srv, member, f"/latest@{BOT_USERNAME} baocantho", chat=TEAM_CHAT)
    assert "Báo Cần Thơ" in command.text
    follow_up = srv.send_text(member, "tin giáo dục", chat=TEAM_CHAT, reply_to_message_id=mention.message_id)
    assert "Giáo dục" in srv.wait_for_message(TEAM_CHAT, after=follow_up).text


def test_stranger_in_unconfigured_group_is_refused_only_when_addressing_the_bot(srv: FakeTelegram) -> None:
    stranger = srv.user(7002, "Người Ngoài")
    lan = srv.user(LAN, "Lan", language_code="vi")
    srv.send_text(stranger, "chuyện phiếm", chat=OTHER_GROUP)
    refusal = ask(srv, stranger, f"@{BOT_USERNAME} chuyển đổi số", chat=OTHER_GROUP)
    assert str(OTHER_GROUP) in refusal.text and "access.chats" in refusal.text  # the id an admin would allow
    # A group nobody allowed is not answered, even to a configured user (issue 9): the group would read it.
    mark = srv.mark()
    srv.send_text(lan, f"@{BOT_USERNAME} chuyển đổi số", chat=OTHER_GROUP)
    press = srv.press_button(lan, refusal, "pg:x:1", forged=True)  # the same chat: answered after the question
    srv.wait_for_call("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == press)
    assert [c for c in srv.sent[mark:] if c.chat_id == OTHER_GROUP and c.message] == []


def test_forum_topic_answers_stay_in_the_topic(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    reply = ask(srv, lan, f"/latest@{BOT_USERNAME}", chat=FORUM, thread_id=77)
    assert reply.params.get("message_thread_id") == 77
    assert reply.message["message_thread_id"] == 77
    question = ask(srv, lan, f"@{BOT_USERNAME} chuyển đổi số", chat=FORUM, thread_id=78)
    assert question.params.get("message_thread_id") == 78


# ---- errors


def test_a_failed_send_gets_a_brief_error_message(srv: FakeTelegram) -> None:
    lan = srv.user(LAN, "Lan", language_code="vi")
    srv.fail_next("sendMessage", 500)
    message_id = srv.send_text(lan, "/campaigns")
    reply = srv.wait_for_message(lan, after=message_id)
    assert reply.text == "Đã có lỗi, vui lòng thử lại sau."


def test_errors_outside_updates_are_logged_not_raised(world: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    bot = world["bot"]
    future = asyncio.run_coroutine_threadsafe(bot.app.process_error(None, RuntimeError("job exploded")), bot.loop)
    future.result(10)
    assert any("error outside an update" in r.getMessage() and r.exc_info for r in caplog.records)


# ---- logging


def test_redaction_covers_message_arguments_and_tracebacks() -> None:
    token = "123456:ABC-secret-part-xyz"
    redactor = RedactSecrets([token])
    try:
        raise ValueError(f"https://api.telegram.org/bot{token}/getMe failed")
    except ValueError:
        record = logging.LogRecord(
            "httpx",
            logging.INFO,
            __file__,
            1,
            "HTTP Request: %s %s",
            ("POST", f"https://api.telegram.org/bot{token}/getUpdates"),
            sys.exc_info(),
        )
    assert redactor.filter(record)
    handler_output = logging.Formatter("%(message)s").format(record)
    assert "[REDACTED]" in handler_output and "ValueError" in handler_output
    assert token not in handler_output and "ABC-secret-part-xyz" not in handler_output
    # the secret half alone (e.g. after URL-splitting) is redacted too
    assert redactor.redact("key=ABC-secret-part-xyz") == "key=[REDACTED]"


def test_configure_logging_quietens_httpx_and_redacts(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        configure_logging("DEBUG", ["999:very-secret-token-value"])
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        logging.getLogger("telegram.ext.ExtBot").debug("url %s", "/bot999:very-secret-token-value/getMe")
        err = capsys.readouterr().err
        assert "/bot[REDACTED]/getMe" in err and "very-secret-token-value" not in err
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


# ---- concurrency


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "private")
    return Update(update_id, message=Message(update_id, datetime.now(TZ), chat, from_user=User(chat_id, "A", False)))


async def test_one_chat_is_answered_in_order_while_other_chats_go_ahead() -> None:
    processor = PerChatUpdateProcessor(8)
    events: list[str] = []
    release = asyncio.Event()

    async def work(name: str, blocked: bool) -> None:
        events.append(f"start {name}")
        if blocked:
            await release.wait()
        events.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(_update(1, 10), work("lang", True)))
    second = asyncio.create_task(processor.process_update(_update(2, 10), work("question", False)))
    await asyncio.wait_for(processor.process_update(_update(3, 20), work("other chat", False)), 5)
    assert events == ["start lang", "start other chat", "end other chat"]
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 5)
    assert events[3:] == ["end lang", "start question", "end question"]
