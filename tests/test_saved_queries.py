"""Saved queries: compiled once, matches recorded inside the store transaction, history re-tagged
only for campaigns whose query changed, and the campaign filter honoured by every engine path."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Campaign, Config, Organization, Source
from bot.errors import ConfigError
from bot.models import Article
from bot.saved_queries.campaigns import compile_campaigns, count_campaign_matches, record_campaign_matches
from bot.saved_queries.registry import Registry
from bot.saved_queries.retag import retag_changed
from bot.saved_queries.saved_query import CAMPAIGN, SUBSCRIPTION, SavedQuery
from bot.search.engine import SearchEngine
from bot.search.facets import SourceMap
from bot.search.plan import count_matches, matching_ids, plan_query
from bot.store.articles import store_articles
from bot.store.db import MIGRATIONS, open_db
from bot.store.sources import upsert_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)

CAMPAIGNS = (
    Campaign(id="cds", name="Chuyển đổi số", query="chuyen doi so"),
    Campaign(id="bao", name="Bão (không lũ)", query="bão -lũ", since=date(2026, 11, 10)),
    Campaign(id="vtv-hung", name="VTV về Đền Hùng", query='"Đền Hùng" source:vtv'),
)


def _config(*campaigns: Campaign, path: str = "feeds.yaml") -> Config:
    return Config(organization=Organization(name="Sở TT&TT Phú Thọ"), campaigns=campaigns, path=Path(path))


def _compiled(*campaigns: Campaign) -> tuple[SavedQuery, ...]:
    return compile_campaigns(_config(*campaigns), now=NOW)


def _registry(*campaigns: Campaign) -> Registry:
    registry = Registry()
    registry.replace(CAMPAIGN, _compiled(*campaigns))
    return registry


def _article(key: str, source: str, days: float, title: str, summary: str = "") -> Article:
    published = NOW - timedelta(days=days)
    return Article(
        source_id=source,
        url=f"https://{source}.vn/{key}",
        guid=key,
        title=title,
        summary=summary,
        published_at=published,
        fetched_at=published + timedelta(minutes=3),
    )


BATCH = [
    _article("cds", "vtv", 1, "Phú Thọ đẩy mạnh chuyển đổi số", "Chính quyền số phục vụ người dân."),
    _article("bao_new", "baophutho", 2, "Bão số 5 suy yếu", "Người dân ven biển an toàn."),
    _article("bao_lu", "baophutho", 2, "Bão số 5 gây lũ lớn", "Mưa lũ chia cắt đường."),
    _article("bao_old", "vtv", 9, "Bão số 4 đổ bộ", "Trước ngày bắt đầu chiến dịch."),  # 6 Nov < since
    _article("hung_vtv", "vtv", 3, "Lễ hội Đền Hùng 2026", "Giỗ Tổ Hùng Vương."),
    _article("hung_other", "baophutho", 3, "Đền Hùng đón khách", "Du khách về Phú Thọ."),
    _article("other", "vtv", 1, "Giá xăng giảm nhẹ", "Liên Bộ điều chỉnh giá."),
]
EXPECTED = {("cds", "cds"), ("bao", "bao_new"), ("vtv-hung", "hung_vtv")}


def _add_sources(connection: sqlite3.Connection) -> None:
    connection.execute("BEGIN")
    for source_id in ("vtv", "baophutho"):
        source = Source(id=source_id, name=source_id.upper(), urls=(f"https://{source_id}.vn/rss",))
        upsert_source(connection, source, "config", NOW)
    connection.execute("COMMIT")


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    connection = open_db(tmp_path / "saved.sqlite").conn
    _add_sources(connection)
    yield connection
    connection.close()


def tags(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return set(
        conn.execute(
            "SELECT c.campaign_id, a.guid FROM campaign_articles c JOIN articles a ON a.id = c.article_id"
        ).fetchall()
    )


def ids_of(conn: sqlite3.Connection, *guids: str) -> list[int]:
    return [conn.execute("SELECT id FROM articles WHERE guid = ?", (g,)).fetchone()[0] for g in guids]


# ---------------------------------------------------------------- compiling


def test_a_meaningless_campaign_query_is_a_config_error_naming_its_key() -> None:
    bad = (*CAMPAIGNS, Campaign(id="empty", name="Trống", query="-lũ"))
    with pytest.raises(ConfigError) as info:
        compile_campaigns(_config(*bad, path="/etc/mediabot/feeds.yaml"))
    assert str(info.value).startswith("/etc/mediabot/feeds.yaml: campaigns[3].query: Exclusions")


def test_since_becomes_local_midnight_once() -> None:
    [bao] = _compiled(CAMPAIGNS[1])
    assert bao.since == date(2026, 11, 10)
    assert bao.plan.since_ts == datetime(2026, 11, 10, tzinfo=TZ).timestamp()


def test_fingerprint_changes_with_query_and_since_only() -> None:
    base = Campaign(id="cds", name="Chuyển đổi số", query="chuyển đổi số")
    [a] = _compiled(base)
    [renamed] = _compiled(Campaign(id="cds", name="Số hóa", query="chuyển đổi số"))
    [later] = compile_campaigns(_config(base), now=NOW + timedelta(days=3))
    [requery] = _compiled(Campaign(id="cds", name="Chuyển đổi số", query="chuyển đổi số -lừa"))
    [dated] = _compiled(Campaign(id="cds", name="Chuyển đổi số", query="chuyển đổi số", since=date(2026, 1, 1)))
    assert a.fingerprint == renamed.fingerprint == later.fingerprint
    assert len({a.fingerprint, requery.fingerprint, dated.fingerprint}) == 3


def test_registry_refuses_kinds_nothing_records() -> None:
    registry = Registry()
    with pytest.raises(ValueError, match="no recorder"):
        registry.replace("report", ())
    with pytest.raises(ValueError, match="another kind"):
        registry.replace(CAMPAIGN, [*_compiled(CAMPAIGNS[0])[:1], _subscription_like()])


def _subscription_like() -> SavedQuery:
    [cds] = _compiled(CAMPAIGNS[0])
    return SavedQuery(cds.id, SUBSCRIPTION, cds.name, cds.query, None, cds.plan, cds.fingerprint)


# ---------------------------------------------------------------- the after-insert hook


def test_hook_records_matches_in_the_store_transaction(conn: sqlite3.Connection) -> None:
    result = store_articles(conn, [(BATCH, None)], hooks=[_registry(*CAMPAIGNS).record_matches])
    assert len(result.new_ids) == len(BATCH)
    assert tags(conn) == EXPECTED


def test_hook_sees_only_the_new_ids(conn: sqlite3.Connection) -> None:
    hook = _registry(*CAMPAIGNS).record_matches
    store_articles(conn, [(BATCH[:3], None)], hooks=[hook])
    conn.execute("DELETE FROM campaign_articles")  # matches of the first batch must not come back
    store_articles(conn, [(BATCH, None)], hooks=[hook])  # first three are duplicates now
    assert tags(conn) == {("vtv-hung", "hung_vtv")}


def test_a_failing_hook_rolls_back_articles_and_matches(conn: sqlite3.Connection) -> None:
    seen: list[set[tuple[str, str]]] = []

    def failing(connection: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        seen.append(tags(connection))  # the matches are visible inside the transaction
        raise RuntimeError("outbox is broken")

    with pytest.raises(RuntimeError):
        store_articles(conn, [(BATCH, None)], hooks=[_registry(*CAMPAIGNS).record_matches, failing])
    assert seen == [EXPECTED]
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0
    assert tags(conn) == set()


def test_hook_follows_the_registry_when_it_is_replaced(conn: sqlite3.Connection) -> None:
    registry = _registry(*CAMPAIGNS)
    hook = registry.record_matches  # the poller holds this one hook for its whole life
    store_articles(conn, [(BATCH[:1], None)], hooks=[hook])
    registry.replace(CAMPAIGN, _compiled(Campaign(id="xang", name="Giá xăng", query="giá xăng")))
    store_articles(conn, [(BATCH, None)], hooks=[hook])
    assert tags(conn) == {("cds", "cds"), ("xang", "other")}


def test_filter_only_campaign(conn: sqlite3.Connection) -> None:
    campaign = Campaign(id="all-vtv", name="VTV", query="source:vtv", since=date(2026, 11, 12))
    store_articles(conn, [(BATCH, None)], hooks=[_registry(campaign).record_matches])
    expected = {("all-vtv", "cds"), ("all-vtv", "hung_vtv"), ("all-vtv", "other")}
    assert tags(conn) == expected
    conn.execute("DELETE FROM campaign_articles")
    assert retag_changed(conn, _compiled(campaign)).retagged == {"all-vtv": 3}
    assert tags(conn) == expected


# ---------------------------------------------------------------- re-tagging


def test_retag_only_what_changed_and_drop_what_was_removed(conn: sqlite3.Connection) -> None:
    store_articles(conn, [(BATCH, None)])  # stored before any campaign existed
    first = retag_changed(conn, _compiled(*CAMPAIGNS))
    assert (first.retagged, first.dropped) == ({"cds": 1, "bao": 1, "vtv-hung": 1}, ())
    assert tags(conn) == EXPECTED

    again = retag_changed(conn, _compiled(*CAMPAIGNS))  # nothing changed: nothing re-tagged
    assert (again.retagged, again.dropped, again.summary()) == ({}, (), "")

    conn.execute("DELETE FROM campaign_articles WHERE campaign_id = 'cds'")  # a marker: cds is left alone
    changed = (
        CAMPAIGNS[0],
        Campaign(id="bao", name="Bão", query="bão"),  # no exclusion, no start date any more
        Campaign(id="hung", name="Đền Hùng", query="den hung"),  # vtv-hung removed, hung new
    )
    report = retag_changed(conn, _compiled(*changed))
    assert (report.retagged, report.dropped) == ({"bao": 3, "hung": 2}, ("vtv-hung",))
    assert report.summary() == "re-tagged bao (3), hung (2); dropped vtv-hung"
    assert tags(conn) == {
        ("bao", "bao_new"),
        ("bao", "bao_lu"),
        ("bao", "bao_old"),
        ("hung", "hung_vtv"),
        ("hung", "hung_other"),
    }
    fingerprints = dict(conn.execute("SELECT id, fingerprint FROM saved_query_fingerprints"))
    assert fingerprints == {c.id: c.fingerprint for c in _compiled(*changed)}


def test_a_database_from_before_fingerprints_is_retagged_at_first_start(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = open_db(path).conn
    _add_sources(conn)
    store_articles(conn, [(BATCH, None)])
    # Make it look like a database of the previous schema, with tags written by old code.
    conn.execute("DROP TABLE saved_query_fingerprints")
    conn.execute("DROP INDEX articles_newest")  # and without the later migrations' column
    conn.execute("ALTER TABLE articles DROP COLUMN undated")
    conn.execute("PRAGMA user_version = 1")
    [cds_id, other_id] = ids_of(conn, "cds", "other")
    conn.executemany(
        "INSERT INTO campaign_articles VALUES (?, ?)", [("cds", other_id), ("gone", cds_id), ("cds", cds_id)]
    )
    conn.close()

    conn = open_db(path).conn
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    report = retag_changed(conn, _compiled(CAMPAIGNS[0]))
    assert (report.retagged, report.dropped) == ({"cds": 1}, ("gone",))
    assert tags(conn) == {("cds", "cds")}  # the stale ("cds", "other") row is gone
    conn.close()


def test_retag_is_all_or_nothing(conn: sqlite3.Connection) -> None:
    store_articles(conn, [(BATCH, None)], hooks=[_registry(*CAMPAIGNS).record_matches])
    retag_changed(conn, _compiled(*CAMPAIGNS))
    conn.execute("DROP TABLE articles_fts")  # the second campaign's re-select fails midway
    with pytest.raises(sqlite3.OperationalError):
        retag_changed(conn, _compiled(Campaign(id="cds", name="x", query="chuyển đổi"), CAMPAIGNS[1]))
    assert not conn.in_transaction
    assert tags(conn) == EXPECTED


# ---------------------------------------------------------------- reading the stored matches


def test_counts_read_the_stored_matches(conn: sqlite3.Connection) -> None:
    store_articles(conn, [(BATCH, None)], hooks=[_registry(*CAMPAIGNS).record_matches])
    cds_id, bao_new = ids_of(conn, "cds", "bao_new")
    conn.execute("INSERT INTO campaign_articles VALUES ('cds', ?)", (bao_new,))  # stored, so counted
    assert count_campaign_matches(conn, "cds", NOW - timedelta(days=7)) == 2
    assert count_campaign_matches(conn, "cds", NOW - timedelta(days=1.5)) == 1
    assert count_campaign_matches(conn, "cds", NOW - timedelta(days=7), NOW - timedelta(days=1.5)) == 1
    assert count_campaign_matches(conn, "bao", NOW - timedelta(days=30)) == 1
    assert count_campaign_matches(conn, "khong-co", NOW - timedelta(days=30)) == 0
    assert cds_id != bao_new


def test_every_engine_path_honours_the_campaign_filter(conn: sqlite3.Connection) -> None:
    store_articles(conn, [(BATCH, None)], hooks=[_registry(Campaign("pt", "Phú Thọ", "bão OR hùng")).record_matches])
    by_id = dict(conn.execute("SELECT id, guid FROM articles"))
    inside = {"bao_new", "bao_lu", "bao_old", "hung_vtv", "hung_other"}
    for engine in (
        SearchEngine(conn, TZ, clock=lambda: NOW),
        SearchEngine(conn, TZ, clock=lambda: NOW, source_map=SourceMap()),
    ):

        def guids(plan, newest_first: bool = False, engine=engine) -> list[str]:
            page = engine.search_plan(plan, limit=20, newest_first=newest_first, with_facets=True)
            return [by_id[hit.id] for hit in page.hits]

        alone = plan_query(None, campaign="pt")
        assert guids(alone) == ["bao_lu", "bao_new", "hung_other", "hung_vtv", "bao_old"]  # newest, then id
        assert count_matches(conn, alone) == 5
        words = plan_query(engine.parse("bão"), campaign="pt")
        assert set(guids(words)) == {"bao_new", "bao_lu", "bao_old"}
        assert set(guids(words, newest_first=True)) == {"bao_new", "bao_lu", "bao_old"}
        # "Phú Thọ" is in articles outside the campaign too: the filter keeps them out.
        assert guids(plan_query(engine.parse("Phú Thọ"), campaign="pt")) == ["hung_other"]
        outlet = plan_query(engine.parse("bão OR giá OR hùng"), sources=["vtv"], campaign="pt")
        assert set(guids(outlet)) == {"bao_old", "hung_vtv"}  # "other" (giá xăng, vtv) is not in it
        page = engine.search_plan(outlet, limit=1, with_facets=True)
        assert page.total == 2 and page.top_sources == (("vtv", "VTV", 2),)
        dated = plan_query(None, since=NOW - timedelta(days=2.5), campaign="pt")
        assert set(guids(dated)) == {"bao_new", "bao_lu"}
        assert set(guids(plan_query(None, campaign="khong-co"))) == set()
        every = sorted(by_id)
        assert {
            by_id[i] for i in matching_ids(conn, plan_query(engine.parse('"Phú Thọ" OR bão'), campaign="pt"), every)
        } == (inside - {"hung_vtv"})


def test_campaigns_use_the_organizations_own_abbreviations(conn: sqlite3.Connection) -> None:
    """`organization.abbreviations` reaches the campaign compiler, as it reaches /search."""
    config = Config(
        organization=Organization(name="Sở TT&TT Phú Thọ", abbreviations=(("SGDĐT", ("Sở Giáo dục và Đào tạo",)),)),
        campaigns=(Campaign(id="sgd", name="Giáo dục", query="SGDĐT"),),
        path=Path("feeds.yaml"),
    )
    registry = Registry()
    registry.replace(CAMPAIGN, compile_campaigns(config, now=NOW))
    batch = [
        _article("long", "vtv", 1, "Sở Giáo dục và Đào tạo Phú Thọ khai giảng"),
        _article("short", "vtv", 1, "SGDĐT công bố lịch thi"),
        _article("none", "vtv", 1, "Sở Y tế Phú Thọ tiêm chủng"),
    ]
    store_articles(conn, [(batch, None)], hooks=[registry.record_matches])
    assert tags(conn) == {("sgd", "long"), ("sgd", "short")}
    # Without the organization's table the expansion is unknown: only the literal form matches.
    assert compile_campaigns(_config(Campaign(id="sgd", name="x", query="SGDĐT")), now=NOW)[0].plan.match != (
        registry.active(CAMPAIGN)[0].plan.match
    )


def test_every_kind_shares_one_read_back_of_the_batch_and_it_ends_with_the_hook(conn: sqlite3.Connection) -> None:
    """Campaigns and a second kind match the same new articles: their text is read back once."""
    from bot.saved_queries import percolator

    second = tuple(
        SavedQuery(q.id, "second", q.name, q.query, q.since, q.plan, q.fingerprint) for q in _compiled(*CAMPAIGNS)
    )
    found: list[dict[str, list[int]]] = []

    def record_second(c: sqlite3.Connection, queries: Sequence[SavedQuery], new_ids: Sequence[int]) -> None:
        found.append(percolator.match_new_articles(c, percolator.percolator_for(c, queries), new_ids))

    registry = Registry({CAMPAIGN: record_campaign_matches, "second": record_second})
    registry.replace(CAMPAIGN, _compiled(*CAMPAIGNS))
    registry.replace("second", second)
    reads: list[str] = []
    conn.set_trace_callback(lambda sql: reads.append(sql) if "FROM articles_fts f JOIN" in sql else None)
    store_articles(conn, [(BATCH, None)], hooks=[registry.record_matches])
    conn.set_trace_callback(None)
    assert len(reads) == 1
    assert not percolator._last_text  # nothing kept past the transaction
    by_guid = dict(zip(ids_of(conn, *(a.guid for a in BATCH)), (a.guid for a in BATCH), strict=True))
    assert {(q, by_guid[i]) for q, ids in found[0].items() for i in ids} == EXPECTED
