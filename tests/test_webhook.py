"""Webhook mode: `mediabot run` with MEDIABOT_WEBHOOK_URL registers the webhook and answers
updates POSTed to its own listener (as Telegram would deliver them), checking the secret."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import BOT_TOKEN
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import ROOT, bot_env, query, start_bot, wait_until, write_config
from tests.test_handlers import ADMIN, LAN

pytestmark = pytest.mark.e2e
SECRET = "s3cret-webhook-token"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
STRANGER = 5005


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def take_update(fake: FakeTelegram) -> dict:
    """The update Telegram would push: taken from the fake's queue (nobody polls it in webhook mode)."""
    with fake.world.lock:
        return fake.world.updates.pending.popleft()


def test_webhook_mode_answers_pushed_updates(tmp_path: Path) -> None:
    port = free_port()
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as feeds:
        cfg = write_config(tmp_path, feeds)
        env = bot_env(
            TELEGRAM_BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_URL=fake.url,
            MEDIABOT_WEBHOOK_URL="https://bot.example.vn/hook",
            MEDIABOT_WEBHOOK_LISTEN="127.0.0.1",
            MEDIABOT_WEBHOOK_PORT=str(port),
            MEDIABOT_WEBHOOK_SECRET=SECRET,
        )
        proc = start_bot(cfg, tmp_path / "db.sqlite", env, tmp_path)
        try:
            fake.wait_for_call("setWebhook", timeout=30)
            assert fake.webhook["url"] == "https://bot.example.vn/hook"
            assert fake.webhook.get("secret_token") == SECRET

            def listening() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return True
                except OSError:
                    return False

            wait_until(listening, 30, "the webhook listener")
            user = fake.user(LAN, first_name="Lan", language_code="vi")
            fake.send_text(user, "/help")
            update = take_update(fake)
            url = f"http://127.0.0.1:{port}/hook"
            wrong = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
            assert wrong.status_code == 403
            ok = httpx.post(
                url,
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
            )
            assert ok.status_code == 200
            reply = fake.wait_for_message(user, timeout=15)
            assert "/search" in reply.text
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert code == 0
        out = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
        assert BOT_TOKEN not in out and "Traceback" not in out


def wait_listening(port: int) -> None:
    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_until(listening, 30, "the webhook listener")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_webhook_without_secret_generates_one_and_refuses_forged_updates(tmp_path: Path) -> None:
    """A forged admin's Approve press, POSTed without the registered secret, changes nothing."""
    port = free_port()
    db = tmp_path / "db.sqlite"
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as feeds:
        env = bot_env(
            TELEGRAM_BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_URL=fake.url,
            MEDIABOT_WEBHOOK_URL="https://bot.example.vn/hook",
            MEDIABOT_WEBHOOK_LISTEN="127.0.0.1",
            MEDIABOT_WEBHOOK_PORT=str(port),
            MEDIABOT_LOG_LEVEL="DEBUG",
        )
        proc = start_bot(write_config(tmp_path, feeds), db, env, tmp_path)
        try:
            fake.wait_for_call("setWebhook", timeout=30)
            secret = fake.webhook.get("secret_token") or ""
            assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret), "no strong secret registered with setWebhook"
            wait_listening(port)
            url = f"http://127.0.0.1:{port}/hook"
            admin = fake.user(ADMIN, first_name="Quản trị", language_code="vi")
            stranger = fake.user(STRANGER, first_name="Người Lạ", language_code="vi")
            fake.send_text(stranger, "cho tôi xem tin chuyển đổi số")
            assert httpx.post(url, json=take_update(fake), headers={HEADER: secret}).status_code == 200
            request = fake.wait_for_message(admin, lambda c: bool(c.callback_data), timeout=15)
            fake.press_button(admin, request, f"acc:a:{STRANGER}")
            forged = take_update(fake)  # what an attacker would send: a press "from" the admin
            for headers in ({}, {HEADER: "nope"}, {HEADER: secret[:-1]}):
                assert httpx.post(url, json=forged, headers=headers).status_code == 403
            assert query(db, "SELECT status FROM users WHERE id = ?", STRANGER) == [("pending",)]
            assert query(db, "SELECT count(*) FROM audit") == [(0,)]
            assert httpx.post(url, json=forged, headers={HEADER: secret}).status_code == 200
            wait_until(
                lambda: query(db, "SELECT status FROM users WHERE id = ?", STRANGER) == [("approved",)], 15, "approval"
            )
            assert query(db, "SELECT actor_id, action FROM audit") == [(ADMIN, "user.approved")]
        finally:
            code = stop(proc)
        assert code == 0
        out = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
        assert "`setWebhook` with parameters" in out  # PTB logged the call whose parameters hold the secret
        assert secret not in out
        assert BOT_TOKEN not in out
        # PTB logs each refused POST with a traceback at DEBUG; nothing is worse than DEBUG.
        assert not re.search(r" (ERROR|CRITICAL) ", out)


@pytest.mark.parametrize(
    "secret", ["short-secret", "has spaces in the secret", "ký-tự-có-dấu-không-được-phép", "x" * 257]
)
def test_a_malformed_webhook_secret_is_one_line_without_the_secret(tmp_path: Path, secret: str) -> None:
    env = bot_env(
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, MEDIABOT_WEBHOOK_URL="https://bot.example.vn/hook", MEDIABOT_WEBHOOK_SECRET=secret
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "db.sqlite"), "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: MEDIABOT_WEBHOOK_SECRET: must be 16-256 characters")
    assert len(done.stderr.strip().splitlines()) == 1 and secret not in done.stderr
