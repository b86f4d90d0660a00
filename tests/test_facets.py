"""Top outlets from the in-memory id→outlet map equal the SQL join they replace."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.search.engine import SearchEngine
from bot.search.facets import SourceMap
from bot.store.articles import store_articles
from tests.test_search import NOW, TZ, _article, conn  # noqa: F401  (the archive fixture)

QUERIES = ["phu tho", "Phú Thọ", "dịch vụ công", "bão OR lũ", "thuy", "ha long source:baophutho", "bão since:5d"]


@pytest.mark.parametrize("query", QUERIES)
def test_map_facets_equal_sql_facets(conn, query: str) -> None:  # noqa: F811
    with_map = SearchEngine(conn, TZ, clock=lambda: NOW, source_map=SourceMap())
    without = SearchEngine(conn, TZ, clock=lambda: NOW)
    fast = with_map.search(query, limit=3, with_facets=True)
    slow = without.search(query, limit=3, with_facets=True)
    assert fast.total == slow.total and fast.total > 0
    assert fast.top_sources == slow.top_sources
    assert [h.id for h in fast.hits] == [h.id for h in slow.hits]


def test_map_learns_articles_stored_after_it_was_loaded(conn) -> None:  # noqa: F811
    engine = SearchEngine(conn, TZ, clock=lambda: NOW, source_map=SourceMap())
    before = dict((s, n) for s, _name, n in engine.search("Phú Thọ", with_facets=True).top_sources)
    later = [
        _article(
            f"pt{i}", "vnexpress", 0.1, f"Phú Thọ: tin nhanh số {i}", "Bản tin tỉnh Phú Thọ.", timedelta(minutes=1)
        )
        for i in range(4)
    ]
    store_articles(conn, [(later, None)])
    after = dict((s, n) for s, _name, n in engine.search("Phú Thọ", with_facets=True).top_sources)
    assert after["vnexpress"] == before.get("vnexpress", 0) + 4


def test_count_of_unknown_or_no_ids() -> None:
    mapping = SourceMap()
    assert mapping.count([]) == {} and mapping.count([10**6]) == {}


@pytest.mark.parametrize("rank_window", [2, 50])
@pytest.mark.parametrize(
    ("query", "kwargs"),
    [
        ("bão OR lũ OR thủy OR tỉnh", {"sources": ["vtv"]}),
        ("bao OR thuy OR tinh OR du source:vtv source:baophutho", {}),
        ("bão OR thủy OR tỉnh OR du", {"sources": ["vtv", "baophutho"], "since": NOW - timedelta(days=7)}),
        ("tỉnh OR bão OR hòa OR năm OR số", {"sources": ["vnexpress", "vtv"], "until": NOW - timedelta(days=3)}),
        ("Đền Hùng", {"sources": ["nobody"]}),
    ],
)
def test_outlet_path_pages_equal_the_sql_path(conn, query: str, kwargs: dict, rank_window: int) -> None:  # noqa: F811
    fast = SearchEngine(conn, TZ, clock=lambda: NOW, source_map=SourceMap(), rank_window=rank_window)
    slow = SearchEngine(conn, TZ, clock=lambda: NOW, rank_window=rank_window)
    first = slow.search(query, limit=2, **kwargs)
    assert first.total >= (0 if kwargs.get("sources") == ["nobody"] else 3)  # several pages are compared
    for offset in range(0, first.total + 2, 2):
        a = fast.search(query, limit=2, offset=offset, with_facets=True, **kwargs)
        b = slow.search(query, limit=2, offset=offset, with_facets=True, **kwargs)
        assert (a.total, a.top_sources) == (b.total, b.top_sources)
        assert [h.id for h in a.hits] == [h.id for h in b.hits], offset
