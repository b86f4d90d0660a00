"""Campaign tags written inside the store transaction, and rebuilt by retag_campaigns."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Campaign, Source
from bot.errors import ConfigError
from bot.models import Article
from bot.saved_queries.campaigns import campaign_tagger, retag_campaigns
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)

CAMPAIGNS = (
    Campaign(id="cds", name="Chuyển đổi số", query="chuyen doi so"),
    Campaign(id="bao", name="Bão (không lũ)", query="bão -lũ", since=date(2026, 11, 10)),
    Campaign(id="vtv-hung", name="VTV về Đền Hùng", query='"Đền Hùng" source:vtv'),
)


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


@pytest.fixture
def conn(tmp_path):
    connection = open_db(tmp_path / "match.sqlite").conn
    connection.execute("BEGIN")
    for source_id in ("vtv", "baophutho"):
        upsert_source(
            connection,
            Source(id=source_id, name=source_id.upper(), urls=(f"https://{source_id}.vn/rss",)),
            "config",
            NOW,
        )
    connection.execute("COMMIT")
    yield connection
    connection.close()


def tags(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    return set(
        conn.execute(
            "SELECT c.campaign_id, a.guid FROM campaign_articles c JOIN articles a ON a.id = c.article_id"
        ).fetchall()
    )


EXPECTED = {("cds", "cds"), ("bao", "bao_new"), ("vtv-hung", "hung_vtv")}


def test_tagger_tags_new_articles_in_the_store_transaction(conn) -> None:
    result = store_articles(conn, [(BATCH, None)], hooks=[campaign_tagger(CAMPAIGNS, TZ)])
    assert len(result.new_ids) == len(BATCH)
    assert tags(conn) == EXPECTED


def test_tagger_sees_only_the_new_ids(conn) -> None:
    tagger = campaign_tagger(CAMPAIGNS, TZ)
    store_articles(conn, [(BATCH[:3], None)], hooks=[tagger])
    conn.execute("DELETE FROM campaign_articles")  # tags of the first batch must not come back
    store_articles(conn, [(BATCH, None)], hooks=[tagger])  # first three are duplicates now
    assert tags(conn) == {("vtv-hung", "hung_vtv")}


def test_a_failing_hook_rolls_back_articles_and_tags(conn) -> None:
    seen: list[set[tuple[str, str]]] = []

    def failing(connection: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        seen.append(tags(connection))  # the tagger's rows are visible inside the transaction
        raise RuntimeError("outbox is broken")

    with pytest.raises(RuntimeError):
        store_articles(conn, [(BATCH, None)], hooks=[campaign_tagger(CAMPAIGNS, TZ), failing])
    assert seen == [EXPECTED]
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 0
    assert tags(conn) == set()


def test_meaningless_campaign_query_is_a_config_error(conn) -> None:
    bad = (*CAMPAIGNS, Campaign(id="empty", name="Trống", query="-lũ"))
    with pytest.raises(ConfigError, match="empty: query: Exclusions"):
        campaign_tagger(bad, TZ)


def test_retag_rebuilds_from_scratch(conn) -> None:
    store_articles(conn, [(BATCH, None)])  # stored before the campaigns existed
    assert tags(conn) == set()
    assert retag_campaigns(conn, CAMPAIGNS, TZ) == {"cds": 1, "bao": 1, "vtv-hung": 1}
    assert tags(conn) == EXPECTED
    changed = (
        Campaign(id="bao", name="Bão", query="bão"),  # no exclusion, no start date any more
        Campaign(id="hung", name="Đền Hùng", query="den hung"),
    )
    assert retag_campaigns(conn, changed, TZ) == {"bao": 3, "hung": 2}
    assert tags(conn) == {
        ("bao", "bao_new"),
        ("bao", "bao_lu"),
        ("bao", "bao_old"),
        ("hung", "hung_vtv"),
        ("hung", "hung_other"),
    }


def test_retag_with_a_bad_query_changes_nothing(conn) -> None:
    store_articles(conn, [(BATCH, None)], hooks=[campaign_tagger(CAMPAIGNS, TZ)])
    with pytest.raises(ConfigError):
        retag_campaigns(conn, (Campaign(id="x", name="x", query="   "),), TZ)
    assert tags(conn) == EXPECTED
    assert not conn.in_transaction


def test_retag_inside_a_callers_transaction(conn) -> None:
    store_articles(conn, [(BATCH, None)])
    conn.execute("BEGIN IMMEDIATE")
    retag_campaigns(conn, CAMPAIGNS, TZ)
    assert conn.in_transaction  # the caller commits
    conn.execute("ROLLBACK")
    assert tags(conn) == set()


def test_filter_only_campaign(conn) -> None:
    campaigns = (Campaign(id="all-vtv", name="VTV", query="source:vtv", since=date(2026, 11, 12)),)
    store_articles(conn, [(BATCH, None)], hooks=[campaign_tagger(campaigns, TZ)])
    assert tags(conn) == {("all-vtv", "cds"), ("all-vtv", "hung_vtv"), ("all-vtv", "other")}
    assert retag_campaigns(conn, campaigns, TZ) == {"all-vtv": 3}
