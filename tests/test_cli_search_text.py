"""`mediabot search` as text marks an article whose feed gave no date, as chat does: its time is
when it was first seen, which must not read as a publication time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Source
from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source
from tests.cli import mediabot
from tests.conftest import ConfigWriter

SEEN = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội


def test_an_undated_article_says_no_date(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config(organization={"timezone": "Asia/Ho_Chi_Minh"})
    db = tmp_path / "mediabot.db"
    conn = open_db(db).conn
    conn.execute("BEGIN")
    upsert_source(conn, Source(id="baophutho", name="Báo Phú Thọ", urls=("https://baophutho.vn/rss",)), "config", SEEN)
    conn.execute("COMMIT")
    published = SEEN - timedelta(days=1)
    articles = [
        Article("baophutho", "https://baophutho.vn/a", "a", "Đền Hùng đón khách", "Lễ hội.", published, SEEN),
        Article("baophutho", "https://baophutho.vn/b", "b", "Tư liệu Đền Hùng", "Ảnh cũ.", SEEN, SEEN, dated=False),
    ]
    store_articles(conn, [(articles, None)])
    conn.close()
    proc = mediabot(config, db, "search", "Đền Hùng")
    assert proc.returncode == 0, proc.stderr
    meta = [line for line in proc.stdout.splitlines() if line.startswith("  Báo Phú Thọ · ")]
    assert sorted(meta) == sorted(
        [
            "  Báo Phú Thọ · 19/11/2026 08:30 · https://baophutho.vn/a",
            "  Báo Phú Thọ · no date (first seen 20/11/2026 08:30) · https://baophutho.vn/b",
        ]
    )
