"""Shared fixtures: a fake Telegram, a feed server, a feeds.yaml writer and a fresh database path."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import yaml

from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram

BOT_TOKEN = "7000001:AAH-fake-secret-token-for-tests_xyz"
BOT_USERNAME = "mediabot_test"
ConfigWriter = Callable[..., Path]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server on 127.0.0.1 (its token is BOT_TOKEN)."""
    with FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        yield srv


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1."""
    with FeedServer() as srv:
        yield srv


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database goes (not created yet)."""
    return tmp_path / "data" / "mediabot.db"


@pytest.fixture
def write_config(tmp_path: Path) -> ConfigWriter:
    """`write_config(sources=[...], access={...}, ...)` → path of a feeds.yaml for 127.0.0.1 feeds."""

    def write(name: str = "feeds.yaml", **sections: Any) -> Path:
        data = config_dict(**sections)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


def config_dict(**sections: Any) -> dict[str, Any]:
    """A feeds.yaml document: a Vietnamese office, private feeds allowed, fast polling; override any section."""
    data: dict[str, Any] = {
        "organization": {
            "name": "Sở Thông tin và Truyền thông Đồng Tháp",
            "aliases": ["Sở TT&TT Đồng Tháp"],
            "timezone": "Asia/Ho_Chi_Minh",
            "language": "vi",
        },
        "polling": {"interval": "1m", "min_interval": "1s", "timeout": "5s", "allow_private_networks": True},
        "sources": [],
        "campaigns": [],
        "access": {"mode": "private", "admins": [], "users": [], "chats": []},
    }
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
    return data


def rss(title: str, items: list[tuple[str, str, datetime]], *, site: str = "https://bao.example.vn") -> bytes:
    """RSS 2.0 with (title, summary, published) items; links are unique per title."""
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>{site}/</link><description>{escape(title)}</description>"
    ]
    for number, (item_title, summary, published) in enumerate(items):
        link = f"{site}/bai-{number}-{zlib.crc32(item_title.encode())}.html"
        out.append(
            f"<item><title>{escape(item_title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(summary)}</description></item>"
        )
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")
