"""Feeds that finish close together share one store transaction (and one run of the hooks)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.config import config_from_dict
from bot.ingest.normalize import canonical_url
from bot.ingest.poller import GroupCommit
from bot.models import Article
from bot.store.db import open_db
from bot.store.sources import sync_sources
from bot.store.writer import Writer

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG = {
    "organization": {"name": "Sở TT&TT Phú Thọ"},
    "sources": [{"id": "baophutho", "name": "Báo Phú Thọ", "url": "https://baophutho.vn/rss/home.rss"}],
}


def _article(n: int, title: str) -> Article:
    url = canonical_url(f"https://baophutho.vn/tin/bai-{n}.html")
    return Article("baophutho", url, url, title, "", NOW, NOW)


async def _transactions(tmp_path: Path, linger: float) -> list[list[int]]:
    db = open_db(tmp_path / f"linger-{linger}.db")
    sync_sources(db.conn, config_from_dict(CONFIG), NOW)
    writer = Writer(db.conn)
    runs: list[list[int]] = []

    def hook(_conn: sqlite3.Connection, ids: Sequence[int]) -> None:
        runs.append(list(ids))

    group = GroupCommit(writer, lambda: [hook], linger=linger)
    try:
        first = asyncio.create_task(group.store([_article(1, "Đền Hùng đón khách thập phương")], 1))
        await asyncio.sleep(0.05)  # the second feed finishes a moment later
        second = asyncio.create_task(group.store([_article(2, "Phú Thọ khai mạc lễ hội")], 2))
        assert await first == 1 and await second == 1
    finally:
        writer.close()
        db.conn.close()
    return runs


async def test_feeds_finishing_within_the_linger_share_one_transaction(tmp_path: Path) -> None:
    assert await _transactions(tmp_path, linger=2.0) == [[1, 2]]


async def test_without_a_linger_each_feed_is_its_own_transaction(tmp_path: Path) -> None:
    assert await _transactions(tmp_path, linger=0.0) == [[1], [2]]
