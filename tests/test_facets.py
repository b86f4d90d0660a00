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
    later = [_article(f"pt{i}", "vnexpress", 0.1, f"Phú Thọ: tin nhanh số {i}", "Bản tin tỉnh Phú Thọ.",
                      timedelta(minutes=1)) for i in range(4)]
    store_articles(conn, [(later, None)])
    after = dict((s, n) for s, _name, n in engine.search("Phú Thọ", with_facets=True).top_sources)
    assert after["vnexpress"] == before.get("vnexpress", 0) + 4


def test_count_of_unknown_or_no_ids() -> None:
    mapping = SourceMap()
    assert mapping.count([]) == {} and mapping.count([10**6]) == {}
