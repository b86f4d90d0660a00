"""A bot token revoked while `mediabot run` runs: one clear line, exit 2, no traceback, nothing lost.

Before, PTB's polling task died with a traceback, the process went on without Telegram until a
signal, and stopping then left "Task was destroyed but it is pending!" and "Event loop is
closed" tracebacks; an alert refused with 401 counted as rejected (failed after a few tries).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.telegram.startup import REVOKED
from tests.conftest import BOT_TOKEN, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, query, start_bot
from tests.test_handlers import LAN

pytestmark = pytest.mark.e2e
EVERY_METHOD = ("getUpdates", "sendMessage", "editMessageText", "getMe", "setMyCommands", "answerCallbackQuery")


def revoke(fake: FakeTelegram) -> None:
    """From now on the Bot API answers every call 401, as after /revoke in @BotFather."""
    for method in EVERY_METHOD:
        fake.fail_next(method, 401, times=1_000_000)


def exited(proc: subprocess.Popen[bytes], tmp: Path) -> tuple[int, str]:
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("mediabot kept running with a revoked token") from None
    return code, (tmp / "stdout").read_text() + (tmp / "stderr").read_text()


def assert_one_clear_line(code: int, output: str) -> None:
    assert code == 2, output[-3000:]
    assert output.rstrip().splitlines()[-1] == REVOKED
    for bad in ("Traceback", "Task was destroyed", "Event loop is closed", "Exception ignored", " ERROR "):
        assert bad not in output, output[-3000:]


def write_config(tmp: Path, server: FeedServer) -> Path:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dt.rss"), "interval": "1s"}],
        polling={"interval": "1s", "min_interval": "1s", "max_interval": "1s"},
        access={"users": [LAN]},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_token_revoked_while_polling_ends_in_one_line(tmp_path: Path) -> None:
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as server:
        server.add("/dt.rss", rss("Báo Đồng Tháp", []))
        proc = start_bot(
            write_config(tmp_path, server),
            tmp_path / "db.sqlite",
            bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake.url),
            tmp_path,
        )
        fake.wait_for_polling(timeout=30)
        revoke(fake)  # the long poll waiting now ends in its time; the next one gets 401
        code, output = exited(proc, tmp_path)
    assert_one_clear_line(code, output)


def test_an_alert_refused_401_stays_pending_and_the_bot_stops(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as server:
        server.add("/dt.rss", rss("Báo Đồng Tháp", []))
        proc = start_bot(
            write_config(tmp_path, server),
            db,
            bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake.url),
            tmp_path,
        )
        lan = fake.user(LAN, "Lan", language_code="vi")
        fake.wait_for_polling(timeout=30)
        asked = fake.send_text(lan, "/subscribe lũ lụt")
        assert fake.wait_for_message(lan, after=asked, timeout=15).text.startswith("🔔")
        mark = fake.mark()
        fake.fail_next("sendMessage", 401, times=1_000_000)  # alerts are refused first, polling still works
        published = datetime.now(UTC) - timedelta(minutes=1)
        server.add("/dt.rss", rss("Báo Đồng Tháp", [("Lũ lụt ở Tháp Mười: đê bao được gia cố", "Tin lũ.", published)]))
        fake.wait_for_call("sendMessage", lambda c: c.error_code == 401, timeout=30, after_call=mark)
        revoke(fake)
        code, output = exited(proc, tmp_path)
    assert_one_clear_line(code, output)
    assert query(db, "SELECT kind, status, sent_ts FROM outbox WHERE chat_id = ?", LAN) == [("alert", "pending", None)]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
