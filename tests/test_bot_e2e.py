"""`mediabot run` as a real subprocess: FakeTelegram for the Bot API, FeedServer for the press.

The process polls the feeds itself; the tests wait until articles are stored, then hold
real conversations through the fake Telegram, and finally stop it with SIGTERM. Its
output (at DEBUG) must never contain the bot token.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, RecordedCall, parse_html
from tests.test_handlers import ADMIN, FORUM, JOHN, LAN, TEAM_CHAT, TZ, feeds

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "có bài nào về chuyển đổi số tuần này không?"


def write_config(tmp: Path, server: FeedServer) -> Path:
    data = config_dict(
        sources=[
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dongthap.rss")},
            {"id": "baocantho", "name": "Báo Cần Thơ", "url": server.url("/cantho.rss")},
            {"id": "baoloi", "name": "Báo Lỗi", "url": server.url("/status/500")},
        ],
        campaigns=[{"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"chuyển đổi số"'}],
        access={"admins": [ADMIN], "users": [LAN, JOHN], "chats": [TEAM_CHAT, FORUM]},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def bot_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MEDIABOT_"))}
    env.update(extra)
    return env


def start_bot(cfg: Path, db: Path, env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bot", "--config", str(cfg), "--db", str(db), "run"]
    with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Re-check `predicate` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.05)


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the schema is not created yet
        return []
    finally:
        conn.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("e2e")
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        for path, body in feeds(datetime.now(TZ)).items():
            server.add(path, body)
        for user_id, name in ((ADMIN, "Quản trị"), (LAN, "Lan")):
            srv.user(user_id, name, language_code="vi")
        db = tmp / "data" / "mediabot.db"
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=srv.url, MEDIABOT_LOG_LEVEL="DEBUG")
        proc = start_bot(write_config(tmp, server), db, env, tmp)
        try:
            srv.wait_for_polling(timeout=30)
            wait_until(lambda: query(db, "SELECT count(*) FROM articles") == [(18,)], 30, "articles stored")
            wait_until(
                lambda: bool(query(db, "SELECT 1 FROM feeds WHERE consecutive_failures > 0")),
                30,
                "the failing feed recorded",
            )
            yield {"srv": srv, "proc": proc, "db": db, "tmp": tmp}
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        refused = [c.summary() for c in srv.sent if c.error_code is not None and c.error_code < 500]
        assert not refused, f"Telegram refused calls: {refused}"


def ask(srv: FakeTelegram, user: Any, text: str, chat: Any = None, **kwargs: Any) -> RecordedCall:
    target = user if chat is None else chat
    message_id = srv.send_text(user, text, chat=chat, **kwargs)
    reply = srv.wait_for_message(target, after=message_id, timeout=15)
    parse_html(reply.html or "")  # valid Telegram HTML (the fake would have refused it too)
    assert len(reply.html or "") <= 4096
    return reply


def test_vietnamese_question(live: dict[str, Any]) -> None:
    srv = live["srv"]
    reply = ask(srv, srv.user(LAN, "Lan", language_code="vi"), QUESTION)
    assert reply.text.startswith("Tìm thấy 3 bài tuần này, nhiều nhất trên Báo Đồng Tháp (2)"), reply.text
    assert "Đồng Tháp đẩy mạnh chuyển đổi số trong hành chính công" in reply.text
    assert re.search(r"Báo Đồng Tháp · \d{2}/\d{2} \d{2}:\d{2}", reply.text)


def test_english_user(live: dict[str, Any]) -> None:
    srv = live["srv"]
    john = srv.user(JOHN, "John", language_code="en")
    assert ask(srv, john, "chuyển đổi số this week").text.startswith("Found 3 articles this week")
    assert ask(srv, john, "/help").text.startswith("Just ask")


def test_search_with_pages(live: dict[str, Any]) -> None:
    srv = live["srv"]
    lan = srv.user(LAN, "Lan", language_code="vi")
    first = ask(srv, lan, '/search "giáo dục" trường')
    assert first.text.startswith("Tìm thấy 12 bài")
    press = srv.press_button(lan, first, next(d for d in first.callback_data if d.endswith(":2") or d.endswith(":1")))
    page = srv.wait_for_message(lan, lambda c: c.method == "editMessageText", after=press, timeout=15)
    assert "6. " in page.text


def test_latest_news_campaigns(live: dict[str, Any]) -> None:
    srv = live["srv"]
    lan = srv.user(LAN, "Lan", language_code="vi")
    assert "Lễ hội bánh dân gian" in ask(srv, lan, "/latest baocantho").text
    assert "Sở TT&TT Đồng Tháp họp báo định kỳ" in ask(srv, lan, "/news").text
    assert "Chuyển đổi số: 3 bài 7 ngày, 3 bài 30 ngày" in ask(srv, lan, "/campaigns").text


def test_sources_show_the_failing_one(live: dict[str, Any]) -> None:
    srv = live["srv"]
    text = ask(srv, srv.user(LAN, "Lan", language_code="vi"), "/sources").text
    failing = next(line for line in text.splitlines() if "baoloi" in line)
    assert "lỗi từ" in failing and "500" in failing


def test_stranger_asks_admin_approves(live: dict[str, Any]) -> None:
    srv = live["srv"]
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    stranger = srv.user(8008, "Trần Văn Khách", username="khach")
    mark = srv.mark()
    refusal = ask(srv, stranger, QUESTION)
    assert refusal.text.endswith("ID Telegram của bạn: 8008") and "chuyển đổi số" not in refusal.text
    request = srv.wait_for_message(admin, lambda c: "acc:a:8008" in c.callback_data, after_call=mark)
    srv.press_button(admin, request, "acc:a:8008")
    srv.wait_for_message(stranger, lambda c: "Bạn đã được cấp quyền" in c.text, after_call=mark)
    assert ask(srv, stranger, QUESTION).text.startswith("Tìm thấy 3 bài")
    assert query(live["db"], "SELECT status FROM users WHERE id = 8008") == [("approved",)]
    assert query(live["db"], "SELECT actor_id FROM audit WHERE target = '8008'") == [(ADMIN,)]


def test_admin_commands_are_audited(live: dict[str, Any]) -> None:
    srv = live["srv"]
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    assert "Cách dùng" in ask(srv, admin, "/pause").text
    assert "Đã tạm dừng" in ask(srv, admin, "/pause baocantho").text
    assert "Đã chạy lại" in ask(srv, admin, "/resume baocantho").text
    assert ask(srv, admin, "/stats").text.startswith("Thống kê")
    actions = [row[0] for row in query(live["db"], "SELECT action FROM audit WHERE actor_id = ?", ADMIN)]
    assert any("pause" in a for a in actions) and any("resume" in a for a in actions), actions
    lan = srv.user(LAN, "Lan", language_code="vi")
    assert ask(srv, lan, "/pause baodongthap").text == "Lệnh này chỉ dành cho quản trị viên."


def test_group_mentions_and_forum_topics(live: dict[str, Any]) -> None:
    srv = live["srv"]
    group = srv.group(TEAM_CHAT, "Tổ báo chí")
    member = srv.user(8101, "Thành viên tổ")
    chatter = srv.send_text(member, "trưa nay ăn gì?", chat=group)
    reply = ask(srv, member, f"@{BOT_USERNAME} {QUESTION}", chat=group)
    assert reply.text.startswith("Tìm thấy 3 bài")
    quoted = [(c.params.get("reply_parameters") or {}).get("message_id") for c in srv.sent if c.chat_id == group.id]
    assert chatter not in quoted
    assert "Bài mới nhất" in ask(srv, member, f"/latest@{BOT_USERNAME}", chat=group).text
    forum = srv.group(FORUM, "Diễn đàn báo chí", is_forum=True)
    lan = srv.user(LAN, "Lan", language_code="vi")
    topic = ask(srv, lan, f"@{BOT_USERNAME} chuyển đổi số", chat=forum, thread_id=42)
    assert topic.params.get("message_thread_id") == 42 and topic.message["message_thread_id"] == 42


def test_zz_sigterm_stops_within_5s_and_the_token_never_leaks(live: dict[str, Any]) -> None:
    proc: subprocess.Popen[bytes] = live["proc"]
    assert proc.poll() is None, "the bot died early"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 5
    output = (live["tmp"] / "stdout").read_text() + (live["tmp"] / "stderr").read_text()
    assert " DEBUG " in output  # it really logged at DEBUG
    assert BOT_TOKEN not in output and BOT_TOKEN.split(":", 1)[1] not in output
    assert "Traceback" not in output
    assert query(live["db"], "PRAGMA integrity_check") == [("ok",)]


# ---- start-up failures: one line, exit code 2


def test_missing_token_exits_2_with_one_line(write_config: Callable[..., Path], tmp_path: Path) -> None:
    proc = start_bot(write_config(), tmp_path / "db.sqlite", bot_env(), tmp_path)
    assert proc.wait(timeout=30) == 2
    lines = (tmp_path / "stderr").read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TELEGRAM_BOT_TOKEN is not set"), lines


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_rejected_token_exits_2_without_showing_it(
    level: str, fake_telegram: FakeTelegram, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    wrong = "7000001:AAH-wrong-secret-the-server-refuses"
    env = bot_env(TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=fake_telegram.url, MEDIABOT_LOG_LEVEL=level)
    proc = start_bot(write_config(), tmp_path / "db.sqlite", env, tmp_path)
    assert proc.wait(timeout=30) == 2
    output = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
    assert wrong not in output and wrong.split(":", 1)[1] not in output
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert lines[-1].startswith("error: Telegram rejected the bot token (401)"), lines
    if level == "INFO":
        assert len(lines) == 1, lines


def test_sigterm_during_a_slow_fetch_still_stops_within_5s(
    fake_telegram: FakeTelegram, feed_server: FeedServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = write_config(
        sources=[{"id": "cham", "name": "Báo Chậm", "url": feed_server.url("/slow/60")}], polling={"timeout": "50s"}
    )
    db = tmp_path / "db.sqlite"
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake_telegram.url)
    proc = start_bot(cfg, db, env, tmp_path)
    try:
        fake_telegram.wait_for_polling(timeout=30)
        assert feed_server.wait_for(lambda: feed_server.hits("/slow/60") >= 1, timeout=30)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    output = (tmp_path / "stderr").read_text()
    assert "Traceback" not in output, output
