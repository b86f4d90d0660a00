"""The archive: one article per canonical URL and per (source, guid), story clusters, hooks in one transaction."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import config_from_dict
from bot.ingest.normalize import canonical_url
from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import (
    due_feeds,
    record_failure,
    record_success,
    set_paused,
    source_statuses,
    sync_sources,
)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CONFIG = {
    "organization": {"name": "Sở TT&TT Phú Thọ"},
    "sources": [
        {"id": "baophutho", "name": "Báo Phú Thọ", "url": "https://baophutho.vn/rss/home.rss"},
        {
            "id": "vnexpress",
            "name": "VnExpress",
            "urls": ["https://vnexpress.net/rss/tin-moi-nhat.rss", "https://vnexpress.net/rss/thoi-su.rss"],
        },
    ],
}


@pytest.fixture
def conn(tmp_path: Path):
    db = open_db(tmp_path / "archive.db")
    sync_sources(db.conn, config_from_dict(CONFIG), NOW)
    yield db.conn
    db.conn.close()


def article(
    source: str, url: str, title: str, *, guid: str | None = None, summary: str = "", hours_ago: float = 1
) -> Article:
    published = NOW - timedelta(hours=hours_ago)
    return Article(
        source_id=source,
        url=canonical_url(url),
        guid=guid or url,
        title=title,
        summary=summary,
        published_at=published,
        fetched_at=NOW,
    )


def count(conn, sql: str = "SELECT count(*) FROM articles") -> int:
    return conn.execute(sql).fetchone()[0]


def test_same_article_in_two_feeds_of_one_outlet_is_stored_once(conn) -> None:
    title = "Phú Thọ đẩy mạnh chuyển đổi số trong cơ quan nhà nước"
    first = article("vnexpress", "https://vnexpress.net/a-123.html?utm_source=rss", title, guid="vne-123")
    second = article("vnexpress", "http://VNEXPRESS.net/a-123.html#box", title, guid="vne-123-thoisu")
    result = store_articles(conn, [([first], 1), ([second], 2)])
    assert len(result.new_ids) == 1 and result.duplicates == 1
    assert count(conn) == 1 and count(conn, "SELECT count(*) FROM articles_fts") == 1


def test_same_guid_in_one_source_is_one_article(conn) -> None:
    a = article("baophutho", "https://baophutho.vn/a.html", "Đền Hùng đón khách", guid="g1")
    b = article("baophutho", "https://baophutho.vn/a-updated.html", "Đền Hùng đón khách", guid="g1")
    assert len(store_articles(conn, [([a, b], None)]).new_ids) == 1


def test_copy_in_another_outlet_is_separate_but_same_story(conn) -> None:
    a = article("baophutho", "https://baophutho.vn/x.html", "Phú Thọ: Khai mạc Giỗ Tổ Hùng Vương 2026")
    b = article("vnexpress", "https://vnexpress.net/y.html", "Phú Thọ khai mạc Giỗ Tổ Hùng Vương 2026!", hours_ago=30)
    c = article(
        "vnexpress", "https://vnexpress.net/z.html", "Phú Thọ khai mạc Giỗ Tổ Hùng Vương 2026", hours_ago=24 * 5
    )  # outside the 3-day window
    ids = store_articles(conn, [([a, b, c], None)]).new_ids
    stories = [conn.execute("SELECT story_id FROM articles WHERE id = ?", (i,)).fetchone()[0] for i in ids]
    assert len(ids) == 3 and stories[0] == stories[1] != stories[2]


def test_near_identical_text_joins_the_story(conn) -> None:
    body = (
        "Sáng 24/11, Sở Thông tin và Truyền thông tỉnh Phú Thọ tổ chức hội nghị triển khai nền tảng "
        "chuyển đổi số cấp xã, với sự tham gia của đại diện 225 xã, phường, thị trấn trên địa bàn tỉnh."
    )
    a = article("baophutho", "https://baophutho.vn/h.html", "Hội nghị chuyển đổi số cấp xã", summary=body)
    b = article("vnexpress", "https://vnexpress.net/h.html", "Phú Thọ triển khai nền tảng số", summary=body)
    ids = store_articles(conn, [([a, b], None)]).new_ids
    stories = {conn.execute("SELECT story_id FROM articles WHERE id = ?", (i,)).fetchone()[0] for i in ids}
    assert len(ids) == 2 and len(stories) == 1


def test_hooks_see_new_ids_and_a_failing_hook_rolls_everything_back(conn) -> None:
    seen: list[int] = []
    a = article("baophutho", "https://baophutho.vn/1.html", "Tiêm chủng mở rộng tại Việt Trì")
    store_articles(conn, [([a], None)], hooks=[lambda c, ids: seen.extend(ids)])
    assert seen == [1]

    def broken(c, ids):
        raise RuntimeError("matcher crashed")

    b = article("baophutho", "https://baophutho.vn/2.html", "Phủ sóng 5G toàn tỉnh")
    with pytest.raises(RuntimeError):
        store_articles(conn, [([b], None)], hooks=[broken])
    assert count(conn) == 1 and count(conn, "SELECT count(*) FROM articles_fts") == 1
    assert count(conn, "SELECT count(*) FROM stories") == 1


def test_fts_holds_exact_and_folded_forms(conn) -> None:
    a = article("baophutho", "https://baophutho.vn/3.html", "Thuỷ lợi và hoà bình ở Đoan Hùng")
    store_articles(conn, [([a], None)])
    title, title_fold = conn.execute("SELECT title, title_fold FROM articles_fts").fetchone()
    assert title == "Thủy lợi và hòa bình ở Đoan Hùng"
    assert title_fold == "Thuy loi va hoa binh o Doan Hung"


def test_sync_keeps_removed_sources_articles_and_stops_polling_them(conn) -> None:
    store_articles(conn, [([article("vnexpress", "https://vnexpress.net/k.html", "Kinh tế số")], None)])
    smaller = dict(CONFIG, sources=CONFIG["sources"][:1])
    sync_sources(conn, config_from_dict(smaller), NOW)
    assert {f.source_id for f in due_feeds(conn, None)} == {"baophutho"}
    assert count(conn) == 1


def test_health_failure_backoff_deactivation_and_reset(conn) -> None:
    feed = due_feeds(conn, None)[0]
    for _ in range(3):
        record_failure(conn, feed.id, now=NOW, error="HTTP 500", next_check_ts=NOW.timestamp() + 60, deactivate=False)
    status = {s.id: s for s in source_statuses(conn)}[feed.source_id]
    assert status.consecutive_failures == 3 and status.state(NOW) == "failing"
    assert status.last_error == "HTTP 500" and status.failing_since is not None
    record_failure(conn, feed.id, now=NOW, error="HTTP 500", next_check_ts=0, deactivate=True)
    assert feed.id not in {f.id for f in due_feeds(conn, None)}
    set_paused(conn, feed.source_id, False)  # resume gives a deactivated feed another chance
    assert feed.id in {f.id for f in due_feeds(conn, None)}


def test_silent_source_answers_but_publishes_nothing(conn) -> None:
    feed = due_feeds(conn, None)[0]
    record_success(
        conn,
        feed.id,
        now=NOW,
        next_check_ts=0,
        interval_s=600,
        new_articles=0,
        etag=None,
        last_modified=None,
        body_hash=None,
    )
    status = {s.id: s for s in source_statuses(conn)}[feed.source_id]
    assert status.state(NOW) == "ok"  # created just now: not silent yet
    assert status.state(NOW + timedelta(hours=25)) == "silent"
    record_success(
        conn,
        feed.id,
        now=NOW + timedelta(hours=25),
        next_check_ts=0,
        interval_s=600,
        new_articles=2,
        etag='"v2"',
        last_modified=None,
        body_hash="h",
    )
    status = {s.id: s for s in source_statuses(conn)}[feed.source_id]
    assert status.state(NOW + timedelta(hours=26)) == "ok"


def test_due_feeds_respects_schedule_and_pause(conn) -> None:
    feeds = due_feeds(conn, NOW.timestamp())
    assert len(feeds) == 3  # baophutho + two vnexpress feeds
    record_success(
        conn,
        feeds[0].id,
        now=NOW,
        next_check_ts=NOW.timestamp() + 300,
        interval_s=300,
        new_articles=0,
        etag=None,
        last_modified=None,
        body_hash=None,
    )
    assert feeds[0].id not in {f.id for f in due_feeds(conn, NOW.timestamp())}
    set_paused(conn, "vnexpress", True)
    assert {f.source_id for f in due_feeds(conn, None)} == {"baophutho"}


def test_ids_freed_at_the_top_are_not_reused_while_their_story_exists(conn) -> None:
    first = article("baophutho", "https://baophutho.vn/a1.html", "Khai trương trung tâm điều hành thông minh")
    (article_id,) = store_articles(conn, [([first], None)]).new_ids
    conn.execute("DELETE FROM articles_fts WHERE rowid = ?", (article_id,))
    conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))  # as retention would
    second = article("baophutho", "https://baophutho.vn/a2.html", "Nông thôn mới ở Tam Nông")
    (new_id,) = store_articles(conn, [([second], None)]).new_ids
    assert new_id > article_id
