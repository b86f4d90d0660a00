"""`mediabot run` tells the operator when nobody could ever be let in."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

from tests.conftest import BOT_TOKEN, config_dict
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot, wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("access", "warned"),
    [
        ({"mode": "private", "admins": []}, True),
        ({"mode": "private", "admins": [42]}, False),
        ({"mode": "public"}, False),
    ],
)
def test_private_mode_without_admins_is_warned_about(tmp_path: Path, access: dict, warned: bool) -> None:
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as feeds:
        data = config_dict(sources=[{"id": "a", "name": "Báo A", "url": feeds.url("/html")}], access=access)
        cfg = tmp_path / "feeds.yaml"
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        proc = start_bot(
            cfg, tmp_path / "db.sqlite", bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake.url), tmp_path
        )
        try:
            fake.wait_for_polling(timeout=30)
            wait_until(lambda: "is running as" in (tmp_path / "stderr").read_text(), 10, "the start line")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    stderr = (tmp_path / "stderr").read_text()
    assert ("access.admins is empty" in stderr) is warned
    assert str(cfg) in stderr or not warned
