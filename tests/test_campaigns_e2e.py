"""Campaigns end to end on a real Runtime: articles polled from a local feed server are tagged as
they are stored; /reload re-tags exactly the campaigns whose query changed; `/campaigns` and chat
questions naming a campaign read the stored matches."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.models import Article
from bot.runtime import Runtime
from bot.services.admin import AdminError, AdminService
from bot.services.archive import ArchiveService
from bot.store import access as access_store
from bot.store.articles import store_articles
from tests.fakes.feed_server import FeedServer
from tests.test_services import ADMIN, make_config, rss

TITLES = [
    "Đồng Tháp đẩy mạnh chuyển đổi số trong y tế",
    "Chuyển đổi số nông nghiệp: nông dân bán xoài qua mạng",
    "Cảnh báo lừa đảo chuyển đổi số qua điện thoại",
    "Bão số 9 đổ bộ, Đồng Tháp sơ tán dân",
    "Giá lúa tăng mạnh sau bão",
    "Sen Tháp Mười vào mùa, du khách đổ về",
]
CAMPAIGNS = [
    {"id": "cds", "name": "Chiến dịch số hóa", "query": '"chuyển đổi số"'},
    {"id": "bao", "name": "Phòng chống bão", "query": "bão"},
    {"id": "sen", "name": "Mùa sen", "query": "sen"},
]


def _stored(rt: Runtime, campaign_id: str) -> set[str]:
    rows = rt.reader().execute(
        "SELECT a.title FROM campaign_articles c JOIN articles a ON a.id = c.article_id WHERE c.campaign_id = ?",
        (campaign_id,),
    )
    return {row[0] for row in rows}


@pytest.fixture
async def polled(tmp_path: Path) -> AsyncIterator[Runtime]:
    with FeedServer() as server:
        url = server.add("/dong-thap.rss", rss("Báo Đồng Tháp", TITLES))
        sources = [{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": url}]
        config = make_config(tmp_path, allow_private=True, sources=sources, campaigns=CAMPAIGNS)
        rt = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
        await rt.start()
        assert rt.poller is not None
        report = await rt.poller.poll(only_due=False)
        assert report.new_articles == len(TITLES)
        yield rt
        await rt.aclose()


async def _ask_titles(archive: ArchiveService, text: str) -> set[str]:
    answer = await archive.ask(text, page_size=50)
    assert answer.page.total == len(answer.page.hits)
    return {hit.title for hit in answer.page.hits}


def _edit_campaigns(rt: Runtime, campaigns: list[dict[str, Any]]) -> None:
    path = rt.config.path
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["campaigns"] = campaigns
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


async def test_polled_articles_are_tagged_and_questions_read_the_tags(polled: Runtime) -> None:
    assert await polled.read(lambda rt: _stored(rt, "cds")) == set(TITLES[:3])
    assert await polled.read(lambda rt: _stored(rt, "bao")) == set(TITLES[3:5])
    archive = ArchiveService(polled)
    assert await _ask_titles(archive, "Chiến dịch số hóa") == set(TITLES[:3])
    assert await _ask_titles(archive, "Chiến dịch số hóa ở Đồng Tháp") == {TITLES[0]}
    # The question reads the stored matches, not the query: a match removed is not found again.
    await polled.write(lambda conn: conn.execute("DELETE FROM campaign_articles WHERE campaign_id = 'bao'"))
    assert await _ask_titles(archive, "Phòng chống bão") == set()


async def test_reload_retags_only_the_changed_campaign(polled: Runtime) -> None:
    # A marker: a match deleted by hand comes back only if "bao" is re-tagged, which it must not be.
    await polled.write(
        lambda conn: conn.execute(
            "DELETE FROM campaign_articles WHERE campaign_id = 'bao' AND article_id = "
            "(SELECT id FROM articles WHERE title = ?)",
            (TITLES[4],),
        )
    )
    changed = [
        {"id": "cds", "name": "Chiến dịch số hóa", "query": '"chuyển đổi số" -"lừa đảo" OR "sơ tán"'},
        CAMPAIGNS[1],
    ]
    _edit_campaigns(polled, changed)
    result = await AdminService(polled).reload(ADMIN)

    assert (result.retag.retagged, result.retag.dropped) == ({"cds": 3}, ("sen",))
    new_matches = {TITLES[0], TITLES[1], TITLES[3]}
    assert await polled.read(lambda rt: _stored(rt, "cds")) == new_matches
    assert await polled.read(lambda rt: _stored(rt, "bao")) == {TITLES[3]}  # untouched
    assert await polled.read(lambda rt: _stored(rt, "sen")) == set()
    archive = ArchiveService(polled)
    assert await _ask_titles(archive, "Chiến dịch số hóa") == new_matches
    audit = await polled.read(lambda rt: access_store.recent_audit(rt.reader()))
    assert audit[0].detail == "1 sources, 2 campaigns; re-tagged cds (3); dropped sen"

    again = await AdminService(polled).reload(ADMIN)  # nothing changed this time
    assert (again.retag.retagged, again.retag.dropped) == ({}, ())


async def test_reload_with_a_meaningless_campaign_query_keeps_everything(polled: Runtime) -> None:
    before = polled.config
    _edit_campaigns(polled, [{"id": "cds", "name": "Chiến dịch số hóa", "query": "!!!"}])
    with pytest.raises(AdminError) as info:
        await AdminService(polled).reload(ADMIN)
    assert info.value.code == "config_error"
    assert "campaigns[0].query" in str(info.value)
    assert polled.config is before
    assert await polled.read(lambda rt: _stored(rt, "sen")) == {TITLES[5]}
    assert [q.id for q in polled.registry.active("campaign")] == ["cds", "bao", "sen"]


# ---------------------------------------------------------------- /campaigns over a generated archive

NOW = datetime(2026, 11, 15, 9, 30, tzinfo=UTC)
SINCE = date(2026, 11, 1)
WORDS = ["chuyển đổi số", "chính quyền số", "giá lúa", "mùa nước nổi", "xoài cát Hòa Lộc", "bão số 9"]


def _generated(seed: int = 6, n: int = 400) -> list[tuple[str, float]]:
    """(title, hours ago) with a known mix of topics over 45 days."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = rng.choice(WORDS)
        hours = rng.randrange(0, 45 * 24) + 0.5  # never on a window's edge
        rows.append((f"Tin {i}: Đồng Tháp với {topic}", hours))
    return sorted(rows, key=lambda row: -row[1])  # stored in publication order, as polling does


def _hand_count(rows: list[tuple[str, float]], words: tuple[str, ...], days: int, since: date | None) -> int:
    start = NOW - timedelta(days=days)
    if since is not None:
        start = max(start, datetime(since.year, since.month, since.day, tzinfo=NOW.tzinfo) - timedelta(hours=7))
    return sum(1 for title, hours in rows if any(w in title for w in words) and NOW - timedelta(hours=hours) >= start)


async def test_campaign_counts_equal_a_hand_count(tmp_path: Path) -> None:
    campaigns = [
        {"id": "so", "name": "Số hóa", "query": '"chuyển đổi số" OR "chính quyền số"'},
        {"id": "lua", "name": "Lúa gạo", "query": '"giá lúa"', "since": SINCE.isoformat()},
    ]
    sources = [{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.vn/rss"}]
    rt = Runtime(make_config(tmp_path, allow_private=False, sources=sources, campaigns=campaigns), tmp_path / "db")
    await rt.start()
    try:
        rows = _generated()
        articles = []
        for i, (title, hours) in enumerate(rows):
            published = NOW - timedelta(hours=hours)
            url = f"https://baodongthap.vn/{i}.html"
            articles.append(Article("baodongthap", url, url, title, "", published, published + timedelta(minutes=5)))
        for start in range(0, len(articles), 50):  # batches, as the poller stores them
            await rt.write(store_articles, [(articles[start : start + 50], None)], [rt.registry.record_matches])
        counts = await ArchiveService(rt, clock=lambda: NOW).campaigns()
    finally:
        await rt.aclose()
    expected = [
        ("so", _hand_count(rows, ("chuyển đổi số", "chính quyền số"), 7, None)),
        ("lua", _hand_count(rows, ("giá lúa",), 7, SINCE)),
    ]
    assert [(c.id, c.last_7d) for c in counts] == expected
    assert [c.last_30d for c in counts] == [
        _hand_count(rows, ("chuyển đổi số", "chính quyền số"), 30, None),
        _hand_count(rows, ("giá lúa",), 30, SINCE),
    ]
    assert 0 < counts[1].last_30d < _hand_count(rows, ("giá lúa",), 30, None)  # the since bound bites
