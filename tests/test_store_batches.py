"""The batched insert stores exactly what inserting one article at a time stored.

The reference below is the per-article algorithm the store used before batching (one
INSERT OR IGNORE, one story lookup and one FTS row per article), kept here as the oracle.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import config_from_dict
from bot.ingest.normalize import canonical_url, story_text_key, story_title_key, url_key
from bot.models import Article
from bot.store.articles import STORY_WINDOW_S, store_articles
from bot.store.db import iso_utc, open_db, transaction
from bot.store.sources import sync_sources
from bot.textnorm import canonical_tones, fold_vietnamese

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG = {
    "organization": {"name": "Sở TT&TT Phú Thọ"},
    "sources": [
        {"id": "baophutho", "name": "Báo Phú Thọ", "url": "https://baophutho.vn/rss/home.rss"},
        {"id": "vnexpress", "name": "VnExpress", "url": "https://vnexpress.net/rss/tin-moi-nhat.rss"},
    ],
}
TITLES = [
    "Phú Thọ: Khai mạc Giỗ Tổ Hùng Vương 2026",
    "Phú Thọ khai mạc Giỗ Tổ Hùng Vương 2026!",
    "Thuỷ lợi Hoà Bình mùa khô",
    "Thủy lợi Hòa Bình mùa khô",
    "Đền Hùng đón khách",
]
SUMMARIES = [
    "",
    "Ngắn gọn.",
    "Sáng 24/11, Sở Thông tin và Truyền thông tỉnh Phú Thọ tổ chức hội nghị triển khai nền tảng "
    "chuyển đổi số cấp xã, với sự tham gia của đại diện 225 xã, phường, thị trấn trên địa bàn tỉnh.",
    "Chiều 23/11, UBND tỉnh Đồng Tháp kiểm tra tiến độ dự án đường cao tốc và yêu cầu các nhà thầu "
    "đẩy nhanh thi công, bảo đảm chất lượng công trình trước mùa mưa lũ năm sau trên địa bàn tỉnh.",
]


def _article(source: int, url: int, guid: int, title: int, summary: int, hours: int) -> Article:
    return Article(
        source_id=("baophutho", "vnexpress")[source],
        url=canonical_url(f"https://bao.example.vn/bai-{url}.html"),
        guid=f"g{guid}",
        title=TITLES[title],
        summary=SUMMARIES[summary],
        published_at=NOW - timedelta(hours=hours),
        fetched_at=NOW,
        dated=hours % 5 != 0,
    )


ARTICLES = st.builds(
    _article,
    st.integers(0, 1),
    st.integers(0, 12),
    st.integers(0, 12),
    st.integers(0, len(TITLES) - 1),
    st.integers(0, len(SUMMARIES) - 1),
    st.integers(0, 24 * 8),  # beyond the 3-day story window both ways
)
BATCHES = st.lists(st.tuples(st.lists(ARTICLES, max_size=8), st.sampled_from([None, 1, 2])), max_size=4)


def _reference_store(conn: sqlite3.Connection, batches: Sequence[tuple[Sequence[Article], int | None]]) -> list[int]:
    new_ids: list[int] = []
    with transaction(conn):
        next_id = conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM articles), 0), coalesce((SELECT max(id) FROM stories), 0)) + 1"
        ).fetchone()[0]
        for articles, feed_id in batches:
            backlog = any(not a.dated for a in articles) and (
                conn.execute(
                    "SELECT 1 FROM articles WHERE source_id = ? AND (? IS NULL OR feed_id = ?) LIMIT 1",
                    (articles[0].source_id, feed_id, feed_id),
                ).fetchone()
                is None
            )
            for a in articles:
                ts = int(a.published_at.timestamp())
                title = canonical_tones(a.title)
                body = canonical_tones(a.summary)
                title_fold, body_fold = fold_vietnamese(title), fold_vietnamese(body)
                title_key = story_title_key(title_fold, folded=True)
                text_key = story_text_key(body_fold, folded=True)
                row = conn.execute(
                    "SELECT id FROM stories WHERE title_key = ? AND first_ts BETWEEN ? AND ? ORDER BY first_ts LIMIT 1",
                    (title_key, ts - STORY_WINDOW_S, ts + STORY_WINDOW_S),
                ).fetchone()
                if row is None and text_key is not None:
                    row = conn.execute("SELECT id FROM stories WHERE text_key = ? LIMIT 1", (text_key,)).fetchone()
                story_id = row[0] if row else None
                cursor = conn.execute(
                    """INSERT OR IGNORE INTO articles (id, source_id, feed_id, url, url_key, guid, title, summary,
                           image_url, author, published_at, published_ts, fetched_ts, story_id, undated)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        next_id, a.source_id, feed_id, a.url, url_key(a.url, canonical=True), a.guid, a.title,
                        a.summary, a.image_url, a.author, iso_utc(a.published_at), ts,
                        int(a.fetched_at.timestamp()), story_id or next_id, 0 if a.dated else 2 if backlog else 1,
                    ),
                )  # fmt: skip
                if cursor.rowcount == 0:
                    continue
                if story_id is None:
                    conn.execute(
                        "INSERT INTO stories (id, title_key, text_key, first_ts) VALUES (?, ?, ?, ?)",
                        (next_id, title_key, text_key, ts),
                    )
                conn.execute(
                    "INSERT INTO articles_fts (rowid, title, body, title_fold, body_fold) VALUES (?, ?, ?, ?, ?)",
                    (next_id, title, body, title_fold, body_fold),
                )
                new_ids.append(next_id)
                next_id += 1
    return new_ids


def _fresh_db() -> sqlite3.Connection:
    db = open_db(":memory:")
    sync_sources(db.conn, config_from_dict(CONFIG), NOW)
    return db.conn


def _dump(conn: sqlite3.Connection) -> tuple[list[tuple[object, ...]], ...]:
    return tuple(
        conn.execute(sql).fetchall()
        for sql in (
            "SELECT * FROM articles ORDER BY id",
            "SELECT * FROM stories ORDER BY id",
            "SELECT rowid, * FROM articles_fts ORDER BY rowid",
        )
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(BATCHES, min_size=1, max_size=3))
def test_batched_store_equals_the_per_article_store(transactions: list[list[tuple[list[Article], int | None]]]) -> None:
    batched, reference = _fresh_db(), _fresh_db()
    for batches in transactions:  # later transactions meet the stories and duplicates of earlier ones
        result = store_articles(batched, batches)
        expected = _reference_store(reference, batches)
        assert list(result.new_ids) == expected
        assert result.duplicates == sum(len(a) for a, _ in batches) - len(expected)
    assert _dump(batched) == _dump(reference)


def test_a_feed_seen_again_costs_one_lookup_and_stores_nothing() -> None:
    conn = _fresh_db()
    feed = [_article(0, i, i, i % len(TITLES), 2, i) for i in range(10)]
    assert len(store_articles(conn, [(feed, 1)]).new_ids) == 10
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    again = store_articles(conn, [([*feed, _article(0, 11, 11, 0, 3, 1)], 1)])
    conn.set_trace_callback(None)
    assert len(again.new_ids) == 1 and again.duplicates == 10
    assert sum(" INTO articles " in s for s in statements) == 1  # only the new article is written
    assert sum("FROM stories" in s for s in statements) <= 3  # the next id, then one lookup per key kind
