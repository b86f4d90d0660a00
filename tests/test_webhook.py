"""Webhook mode: `mediabot run` with MEDIABOT_WEBHOOK_URL registers the webhook and answers
updates POSTed to its own listener (as Telegram would deliver them), checking the secret."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import BOT_TOKEN
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot, wait_until, write_config
from tests.test_handlers import LAN

pytestmark = pytest.mark.e2e
SECRET = "s3cret-webhook-token"


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
