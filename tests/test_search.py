"""SearchEngine on a real SQLite file filled by store_articles with real Vietnamese headlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Source
from bot.errors import QueryError
from bot.ingest.normalize import normalize_entries
from bot.ingest.parse import parse_feed
from bot.models import Article
from bot.search.engine import SearchEngine
from bot.search.types import MARK_END, MARK_START
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)

SOURCES = {"vtv": "Đài Truyền hình Việt Nam", "baophutho": "Báo Phú Thọ", "vnexpress": "VnExpress"}

# (key, source, days ago, title, summary)
ARTICLES = [
    ("old", "vnexpress", 40, "Phú Thọ tổng kết năm học", "Ngành giáo dục tỉnh Phú Thọ tổng kết năm học cũ."),
    (
        "cds",
        "vtv",
        1,
        "Phú Thọ đẩy mạnh chuyển đổi số trong cơ quan nhà nước",
        "Tỉnh triển khai chính quyền số và dịch vụ công trực tuyến cho người dân.",
    ),
    (
        "words",
        "vnexpress",
        2,
        "Chuyển giao công nghệ cho nông dân",
        "Đổi mới sáng tạo giúp nông sản có mã số vùng trồng.",
    ),
    (
        "hung",
        "baophutho",
        3,
        "Lễ hội Đền Hùng năm 2026 thu hút hàng vạn du khách",
        "Giỗ Tổ Hùng Vương được tổ chức trang trọng tại Khu di tích lịch sử Đền Hùng, Phú Thọ.",
    ),
    (
        "dangbo",
        "vnexpress",
        4,
        "Đảng bộ tỉnh tổ chức hội nghị tổng kết công tác",
        "Ban Thường vụ Tỉnh ủy đánh giá kết quả lãnh đạo của Đảng bộ.",
    ),
    (
        "dangky",
        "vtv",
        5,
        "Hướng dẫn đăng ký xe máy qua cổng dịch vụ công",
        "Người dân có thể đăng ký trực tuyến từ ngày 1/12.",
    ),
    ("hoa1", "vtv", 6, "Hòa Bình: thủy điện mở cửa xả đáy", "Thủy điện Hòa Bình điều tiết hồ chứa sau mưa lớn."),
    ("hoa2", "baophutho", 7.5, "Khánh Hoà khắc phục hậu quả bão", "Công trình thuỷ lợi ở Khánh Hoà bị hư hỏng."),
    ("covid", "vnexpress", 8, "COVID-19: số ca mắc mới giảm mạnh", "Bộ Y tế ghi nhận số ca COVID-19 giảm."),
    ("halong_en", "vnexpress", 9, "Ha Long Bay tourism rebounds", "Foreign visitors return to the bay."),
    (
        "halong_vi",
        "baophutho",
        2.5,
        "Vịnh Hạ Long đón khách trở lại",
        "Du khách quay lại Hạ Long, tàu du lịch Hạ Long kín chỗ.",
    ),
    ("storm_lu", "vtv", 3, "Bão số 5 gây lũ lớn ở miền Trung", "Mưa lũ khiến nhiều tuyến đường bị chia cắt."),
    ("storm", "vtv", 4, "Bão số 5 suy yếu thành áp thấp", "Người dân ven biển được sơ tán an toàn."),
]


def _article(
    key: str, source: str, days: float, title: str, summary: str, fetched_delay: timedelta = timedelta(minutes=5)
) -> Article:
    published = NOW - timedelta(days=days)
    return Article(
        source_id=source,
        url=f"https://{source}.vn/{key}",
        guid=key,
        title=title,
        summary=summary,
        published_at=published,
        fetched_at=published + fetched_delay,
    )


@pytest.fixture
def conn(tmp_path):
    connection = open_db(tmp_path / "search.sqlite").conn
    connection.execute("BEGIN")
    for source_id, name in SOURCES.items():
        upsert_source(connection, Source(id=source_id, name=name, urls=(f"https://{source_id}.vn/rss",)), "config", NOW)
    connection.execute("COMMIT")
    # Oldest first: ids grow with fetch time, as in production.
    rows = sorted(ARTICLES, key=lambda row: -row[2])
    store_articles(connection, [([_article(*row) for row in rows], None)])
    yield connection
    connection.close()


@pytest.fixture
def engine(conn) -> SearchEngine:
    return SearchEngine(conn, TZ, clock=lambda: NOW)


def ids_of(conn, *keys: str) -> list[int]:
    return [conn.execute("SELECT id FROM articles WHERE guid = ?", (k,)).fetchone()[0] for k in keys]


def keys(conn, page) -> list[str]:
    return [conn.execute("SELECT guid FROM articles WHERE id = ?", (h.id,)).fetchone()[0] for h in page.hits]


def found(engine: SearchEngine, query: str, **kwargs) -> set[str]:
    page = engine.search(query, limit=100, **kwargs)
    return set(keys(engine.conn, page))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("chuyen doi so", {"cds", "words"}),  # accent-free words find every accented form
        ('"chuyen doi so"', {"cds"}),  # the phrase needs the syllables in a row
        ("chuyển đổi số", {"cds", "words"}),
        ('"chuyển đổi số"', {"cds"}),
        ("den hung", {"hung"}),
        ("DEN HUNG", {"hung"}),
        ("Đền Hùng", {"hung"}),
        ("đảng", {"dangbo"}),  # accents typed: that spelling only, not đăng ký
        ("ĐẢNG", {"dangbo"}),
        ("dang", {"dangbo", "dangky"}),
        ("đăng ký", {"dangky"}),
        ("hòa", {"hoa1", "hoa2"}),  # tone placement does not matter
        ("hoà", {"hoa1", "hoa2"}),
        ("thủy", {"hoa1", "hoa2"}),
        ("thuỷ", {"hoa1", "hoa2"}),
        ("Khánh Hòa", {"hoa2"}),
        ("covid-19", {"covid"}),
        ("COVID 19", {"covid"}),
        ("bão", {"hoa2", "storm", "storm_lu"}),
        ("bão -lũ", {"hoa2", "storm"}),
        ('bão -"miền Trung"', {"hoa2", "storm"}),
        ('"Đền Hùng" OR đảng', {"hung", "dangbo"}),
        ("Đền Hùng OR đảng", {"hung"}),  # Đền AND (Hùng OR đảng)
        ("phú thọ đền OR đảng", {"hung"}),  # OR binds tighter: phú thọ AND (đền OR đảng)
        ("dịch vụ công", {"cds", "dangky"}),
        ("bão source:vtv", {"storm", "storm_lu"}),
        ("bão source:vtv source:baophutho", {"hoa2", "storm", "storm_lu"}),
        ("bão source:nobody", set()),
        ("Phú Thọ since:7d", {"cds", "hung"}),
        ("Phú Thọ", {"cds", "hung", "old"}),
        ("bão since:2026-11-11", {"storm", "storm_lu"}),  # local midnight of 11 Nov
        ("Hà Nội: tin mới!", set()),
    ],
)
def test_query_language(engine: SearchEngine, query: str, expected: set[str]) -> None:
    assert found(engine, query) == expected


def test_keyword_filters_are_anded_with_the_query(engine: SearchEngine) -> None:
    assert found(engine, "bão", sources=["baophutho"]) == {"hoa2"}
    assert found(engine, "bão source:vtv", sources=["baophutho"]) == set()  # disjoint: nothing
    assert found(engine, "bão source:vtv", sources=["vtv", "vnexpress"]) == {"storm", "storm_lu"}
    assert found(engine, "bão", since=NOW - timedelta(days=3, hours=12)) == {"storm_lu"}
    assert found(engine, "bão", until=NOW - timedelta(days=3, hours=12)) == {"hoa2", "storm"}
    assert found(engine, "bão since:5d", since=NOW - timedelta(days=3, hours=12)) == {"storm_lu"}


def test_since_uses_published_time_not_fetch_time(conn, engine: SearchEngine) -> None:
    # Published 10 days ago but discovered today: inside the recent id range, yet too old.
    late = _article("late", "vtv", 10, "Bão cũ được đăng lại", "Bài về bão.", fetched_delay=timedelta(days=10))
    store_articles(conn, [([late], None)])
    assert "late" in found(engine, "bão")
    assert "late" not in found(engine, "bão since:7d")
    assert engine.count("bão since:7d") == 2


def test_accent_exact_match_ranks_above_folded_only(conn, engine: SearchEngine) -> None:
    # The Vietnamese article is newer and repeats "Hạ Long" three times, yet the literal
    # "Ha Long" matches the exact columns and must come first.
    page = engine.search("ha long")
    assert keys(conn, page) == ["halong_en", "halong_vi"]


def test_recency_breaks_ties(conn, engine: SearchEngine) -> None:
    # Same text, so the same bm25 score; the newer one is stored first (lower id).
    newer = _article("twin_new", "vtv", 0.5, "Sơn La phát triển cây mắc ca", "Mắc ca Sơn La.")
    older = _article("twin_old", "vnexpress", 1.5, "Sơn La phát triển cây mắc ca", "Mắc ca Sơn La.")
    store_articles(conn, [([newer, older], None)])
    query = '"mắc ca" Sơn La'
    assert keys(conn, engine.search(query)) == ["twin_new", "twin_old"]
    # Equal scores across a page edge, and with an outlet filter (the joined path).
    assert keys(conn, engine.search(query, limit=1)) == ["twin_new"]
    assert keys(conn, engine.search(query, limit=1, offset=1)) == ["twin_old"]
    assert keys(conn, engine.search(query, sources=["vtv", "vnexpress"])) == ["twin_new", "twin_old"]


def test_snippet_marks_the_accented_text_an_accent_free_query_matched(engine: SearchEngine) -> None:
    hit = engine.search("den hung").hits[0]
    assert hit.snippet.endswith(f"{MARK_START}Đền Hùng{MARK_END}, Phú Thọ.")
    assert hit.snippet.startswith("Giỗ Tổ")  # from the summary, which matched too


def test_snippet_marks_exact_matches_and_keeps_outlet_spelling(engine: SearchEngine) -> None:
    hit = engine.search("hòa").hits[0]
    assert f"{MARK_START}Khánh Hoà{MARK_END}" not in hit.snippet  # each word is its own term
    page = engine.search("thuỷ lợi")
    assert page.hits[0].snippet == f"Công trình {MARK_START}thuỷ lợi{MARK_END} ở Khánh Hoà bị hư hỏng."


def test_a_match_in_the_title_alone_gives_the_summary_not_the_title_again(engine: SearchEngine) -> None:
    hit = engine.search("xả đáy").hits[0]
    assert hit.title == "Hòa Bình: thủy điện mở cửa xả đáy"
    assert hit.snippet == "Thủy điện Hòa Bình điều tiết hồ chứa sau mưa lớn."


def test_long_summary_snippet_is_a_window_around_the_match(conn, engine: SearchEngine) -> None:
    filler = "Người dân địa phương tham gia lao động sản xuất. " * 12
    summary = filler + "Cuối cùng là tin về cây sâm Ngọc Linh quý hiếm. " + filler
    store_articles(conn, [([_article("long", "vtv", 1, "Tin tổng hợp", summary)], None)])
    snippet = engine.search("sam ngoc linh").hits[0].snippet
    assert f"cây {MARK_START}sâm Ngọc Linh{MARK_END} quý" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) < 260


def test_hit_fields(conn, engine: SearchEngine) -> None:
    hit = engine.search("Đền Hùng").hits[0]
    assert hit.title == "Lễ hội Đền Hùng năm 2026 thu hút hàng vạn du khách"
    assert hit.url == "https://baophutho.vn/hung"
    assert (hit.source, hit.source_name) == ("baophutho", "Báo Phú Thọ")
    assert hit.published_at.tzinfo == TZ
    assert hit.published_at == NOW - timedelta(days=3)
    assert hit.story_id == conn.execute("SELECT story_id FROM articles WHERE guid = 'hung'").fetchone()[0]


def test_total_is_exact_and_pages_cover_every_match(conn, engine: SearchEngine) -> None:
    query = "phu OR bao OR dang"
    first = engine.search(query, limit=2)
    expected = {
        row[0]
        for row in conn.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH '{title_fold body_fold} : (phu OR bao OR dang)'"
        )
    }
    assert first.total == engine.count(query) == len(expected) == 8
    seen: list[int] = []
    for offset in range(0, first.total + 2, 2):
        seen += [h.id for h in engine.search(query, limit=2, offset=offset).hits]
    assert len(seen) == len(set(seen)) == first.total
    assert set(seen) == expected


def test_only_the_newest_matches_are_ranked_beyond_the_window(conn) -> None:
    engine = SearchEngine(conn, TZ, clock=lambda: NOW, rank_window=2)
    everything = SearchEngine(conn, TZ, clock=lambda: NOW)
    page = engine.search("bão OR phú", limit=10)
    assert page.total == everything.search("bão OR phú").total == 6
    matching = [h.id for h in everything.search("bão OR phú", limit=10).hits]
    window = set(sorted(matching, reverse=True)[:2])
    assert {h.id for h in page.hits[:2]} == window
    assert [h.id for h in page.hits[2:]] == sorted(set(matching) - window, reverse=True)
    paged = [h.id for o in range(0, 6, 4) for h in engine.search("bão OR phú", limit=4, offset=o).hits]
    assert paged == [h.id for h in page.hits]


def test_rank_window_with_an_outlet_filter(conn) -> None:
    engine = SearchEngine(conn, TZ, clock=lambda: NOW, rank_window=2)
    everything = SearchEngine(conn, TZ, clock=lambda: NOW)
    query, outlets = "bão OR phú OR dang", ["vtv", "vnexpress"]
    matching = [h.id for h in everything.search(query, sources=outlets, limit=10).hits]
    assert len(matching) == 6
    page = engine.search(query, sources=outlets, limit=10)
    assert page.total == 6
    window = set(sorted(matching, reverse=True)[:2])
    assert {h.id for h in page.hits[:2]} == window
    assert [h.id for h in page.hits[2:]] == sorted(set(matching) - window, reverse=True)
    paged = [h.id for o in range(0, 6, 3) for h in engine.search(query, sources=outlets, limit=3, offset=o).hits]
    assert paged == [h.id for h in page.hits]


def test_facets_count_outlets(engine: SearchEngine) -> None:
    page = engine.search("bão OR thủy OR phú", with_facets=True)
    assert page.top_sources[0] == ("vtv", "Đài Truyền hình Việt Nam", 4)
    assert [s[0] for s in page.top_sources] == ["vtv", "baophutho", "vnexpress"]
    assert engine.search("bão").top_sources == ()


def test_latest_is_newest_first(conn, engine: SearchEngine) -> None:
    page = engine.latest(limit=3)
    assert keys(conn, page) == ["cds", "words", "halong_vi"]
    assert page.total == len(ARTICLES)
    assert keys(conn, engine.latest(limit=2, offset=1)) == ["words", "halong_vi"]
    assert keys(conn, engine.latest(sources=["baophutho"])) == ["halong_vi", "hung", "hoa2"]
    assert set(keys(conn, engine.latest(since=NOW - timedelta(days=2, hours=13)))) == {"cds", "words", "halong_vi"}
    assert engine.latest().hits[0].snippet.startswith("Tỉnh triển khai")


def test_filters_only_query_lists_newest(conn, engine: SearchEngine) -> None:
    page = engine.search("source:baophutho since:5d")
    assert keys(conn, page) == ["halong_vi", "hung"]
    assert page.total == 2


def test_count(engine: SearchEngine) -> None:
    assert engine.count(None) == len(ARTICLES)
    assert engine.count(None, sources=["vtv"]) == 5
    assert engine.count(None, since=NOW - timedelta(days=2, hours=13)) == 3
    assert engine.count("dang") == 2
    assert engine.count("bão", sources=["vtv"], until=NOW - timedelta(days=3, hours=12)) == 1


def test_match_ids(conn, engine: SearchEngine) -> None:
    all_ids = [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id DESC")]
    assert engine.match_ids("den hung", all_ids) == ids_of(conn, "hung")
    assert engine.match_ids("bão", all_ids) == sorted(ids_of(conn, "hoa2", "storm", "storm_lu"), reverse=True)
    assert engine.match_ids("bão", ids_of(conn, "storm", "cds")) == ids_of(conn, "storm")
    assert engine.match_ids("source:vtv", ids_of(conn, "storm", "hung")) == ids_of(conn, "storm")
    assert engine.match_ids("bão", []) == []


def test_meaningless_query_is_a_query_error(engine: SearchEngine) -> None:
    for text in ("", "-lũ", "???"):
        with pytest.raises(QueryError):
            engine.search(text)


FEEDS_DIR = Path(__file__).resolve().parent / "data" / "feeds"


def test_a_summary_repeating_the_title_is_not_shown_twice(conn, engine: SearchEngine) -> None:
    """Real items (vietnamnet.rss), as published and as feeds that start the description with the title."""
    feed = parse_feed((FEEDS_DIR / "vietnamnet.rss").read_bytes(), "https://vietnamnet.vn/rss/kinh-doanh.rss")
    real = normalize_entries(feed, source_id="vtv", feed_url="https://vtv.vn/rss", fetched_at=NOW, tz=TZ)
    repeated = [
        replace(a, url=f"{a.url}?lap", guid=f"{a.guid}-lap", summary=f"{a.title}. {a.summary}", source_id="vnexpress")
        for a in real
    ]
    only_title = replace(real[0], url=f"{real[0].url}?tieu-de", guid="tieu-de", summary=real[0].title)
    store_articles(conn, [([*real, *repeated, only_title], None)])
    page = engine.search("Thận trọng với lời chào", limit=50)
    snippets = {hit.url: hit.snippet.replace(MARK_START, "").replace(MARK_END, "") for hit in page.hits}
    first = real[0]
    # As published: the description only begins like the title ("…hôm nay, 24/9/2026, …"): kept whole.
    assert snippets[first.url] == first.summary[: len(snippets[first.url])]
    assert snippets[f"{first.url}?lap"] == snippets[first.url]  # the repeated title is left out
    assert snippets[f"{first.url}?tieu-de"] == ""  # nothing but the title: no snippet
    # A match in the text after the repeated title is marked there, the title still left out.
    marked = {hit.url: hit.snippet for hit in engine.search("ngân hàng ngoại", limit=50).hits}
    assert marked[f"{first.url}?lap"] == marked[first.url]
    assert f"{MARK_START}ngân hàng ngoại{MARK_END}" in marked[first.url]
