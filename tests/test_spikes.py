"""Spikes, the scheduled press review and the weekly digest, over a generated archive with a known baseline.

The archive: a campaign with exactly one article on each of the 14 days before TODAY (baseline
1/day) and the organization's news with two a day (baseline 2/day); TODAY holds what each test
adds. Jobs run on a real Runtime's writer against a real SQLite file, as the digest task runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.alerts.scheduled import PressReviewJob, WeeklyDigestJob, last_weekly
from bot.alerts.spikes import SpikeJob, find_spikes
from bot.alerts.subscriptions import NewSubscription, insert_subscription
from bot.config import Config, load_config
from bot.reports.weekly import weekly_digest
from bot.runtime import Runtime
from bot.telegram.handlers.press_review import render_press_review, render_spike, render_weekly
from tests.conftest import config_dict
from tests.fakes.telegram import parse_html
from tests.reports_archive import Generated, build
from tests.test_bot_e2e import query

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = datetime(2026, 11, 16, 0, 0, tzinfo=TZ)  # a Monday
ADMIN, SUBSCRIBER, OTHER = 1001, 2002, 3003
ORG_TITLE = "Sở TT&TT Đồng Tháp họp giao ban ngày {k}"
CAMPAIGN_TITLE = "Đồng Tháp lắp trạm BTS mới số {k}"


def make_config(tmp: Path, **alerts: object) -> Config:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.example.vn/rss"}],
        campaigns=[{"id": "phu-song-5g", "name": "Phủ sóng 5G", "query": '"trạm BTS"'}],
        access={"admins": [ADMIN], "users": [SUBSCRIBER, OTHER]},
        alerts={"spike_factor": 3, "spike_min": 5, **alerts},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def rows_of(titles: list[str], day: datetime, start_hour: int = 8) -> list[Generated]:
    return [
        Generated(
            title, None, "baodongthap", day + timedelta(hours=start_hour, minutes=5 * i), i, f"https://x.vn/{title}"
        )
        for i, title in enumerate(titles)
    ]


def baseline_rows() -> list[Generated]:
    rows = []
    for back in range(1, 15):
        day = TODAY - timedelta(days=back)
        rows += rows_of([CAMPAIGN_TITLE.format(k=f"{back}")], day, 9)
        rows += rows_of([ORG_TITLE.format(k=f"{back}a"), ORG_TITLE.format(k=f"{back}b")], day, 10)
    return rows


def archive(tmp: Path, today_campaign: int, today_org: int, **alerts: object) -> tuple[Config, Path]:
    config = make_config(tmp, **alerts)
    rows = baseline_rows()
    rows += rows_of([CAMPAIGN_TITLE.format(k=f"hôm nay {i}") for i in range(today_campaign)], TODAY, 7)
    rows += rows_of([ORG_TITLE.format(k=f"hôm nay {i}") for i in range(today_org)], TODAY, 8)
    rows.sort(key=lambda g: g.published)
    build(config, tmp / "db.sqlite", rows)
    return config, tmp / "db.sqlite"


async def subscribe(runtime: Runtime, chat_id: int, kind: str, target: str | None = None) -> None:
    new = NewSubscription(chat_id, None, "private", chat_id, "vi", kind, target, "", kind, "instant", None)
    await runtime.write(insert_subscription, new, 50, TODAY)


@contextlib.asynccontextmanager
async def started(config: Config, db: Path) -> AsyncIterator[Runtime]:
    """A real Runtime on the archive; jobs run on its writer thread, as the digest task runs them."""
    runtime = Runtime(config, db)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()


@pytest.mark.parametrize(("campaign", "org", "expected"), [(4, 0, set()), (5, 0, {"phu-song-5g"}), (3, 7, {"org"})])
def test_spikes_against_the_known_baseline(tmp_path: Path, campaign: int, org: int, expected: set[str]) -> None:
    # Baselines 1/day (campaign) and 2/day (organization), factor 3, minimum 5: the campaign spikes
    # from 5 articles (5 > 3), not at 4 (below the minimum); the organization at 7 (> 6), not at 5.
    config, db = archive(tmp_path, campaign, org)
    conn = sqlite3.connect(db)
    spikes = find_spikes(conn, config, TODAY + timedelta(hours=20))
    assert {s.key for s in spikes} == expected
    for spike in spikes:
        assert spike.baseline == (1.0 if spike.key == "phu-song-5g" else 2.0)
        assert spike.today == (campaign if spike.key == "phu-song-5g" else org)
        assert spike.top_stories and all(s.sources == ("baodongthap",) for s in spike.top_stories)
        for part in render_spike(spike, "vi") + render_spike(spike, "en"):
            parse_html(part)
    conn.close()


async def test_a_spike_goes_once_a_day_to_admins_and_the_campaigns_subscribers(tmp_path: Path) -> None:
    config, db = await asyncio.to_thread(archive, tmp_path, 6, 0)
    async with started(config, db) as runtime:
        await subscribe(runtime, SUBSCRIBER, "campaign", "phu-song-5g")
        await subscribe(runtime, OTHER, "news")
        job = SpikeJob(render_spike)
        noon = TODAY + timedelta(hours=12)
        assert await runtime.write(job.send_due, config, noon) == 2
        assert await runtime.write(job.send_due, config, noon + timedelta(hours=3)) == 0
    rows = query(db, "SELECT chat_id, dedup_key, parts FROM outbox WHERE kind = 'spike' ORDER BY chat_id")
    assert [(r[0], r[1]) for r in rows] == [
        (ADMIN, f"spike:phu-song-5g:2026-11-16:{ADMIN}"),
        (SUBSCRIBER, f"spike:phu-song-5g:2026-11-16:{SUBSCRIBER}"),
    ]
    assert "Tăng đột biến" in rows[0][2] and "6 bài hôm nay" in rows[0][2]


async def test_the_press_review_is_sent_once_a_day_after_its_time(tmp_path: Path) -> None:
    config, db = await asyncio.to_thread(archive, tmp_path, 0, 0, press_review_time="07:30")
    job = PressReviewJob(render_press_review)
    async with started(config, db) as runtime:
        await subscribe(runtime, SUBSCRIBER, "diembao")
        assert await runtime.write(job.send_due, config, TODAY + timedelta(hours=7, minutes=29)) == 0
        assert await runtime.write(job.send_due, config, TODAY + timedelta(hours=7, minutes=30)) == 1
        assert await runtime.write(job.send_due, config, TODAY + timedelta(hours=9)) == 0
    async with started(config, db) as runtime:  # a restart the same day sends nothing again
        assert await runtime.write(job.send_due, config, TODAY + timedelta(hours=10)) == 0
        # 15 days later the archive holds nothing for the day before: nothing is sent.
        assert await runtime.write(job.send_due, config, TODAY + timedelta(days=15, hours=8)) == 0
    rows = query(db, "SELECT chat_id, dedup_key, parts FROM outbox WHERE kind = 'diembao'")
    assert [(r[0], r[1]) for r in rows] == [(SUBSCRIBER, f"diembao:{SUBSCRIBER}:2026-11-15")]
    sent = rows[0][2]
    assert escape(ORG_TITLE.format(k="1a")) in sent and escape(CAMPAIGN_TITLE.format(k="1")) in sent
    assert escape(ORG_TITLE.format(k="2a")) not in sent


async def test_the_weekly_digest_once_per_week_with_trends(tmp_path: Path) -> None:
    config, db = await asyncio.to_thread(archive, tmp_path, 0, 0, weekly_digest="mon 08:00")
    assert last_weekly(config, TODAY + timedelta(hours=7)).date().isoformat() == "2026-11-09"
    job = WeeklyDigestJob(render_weekly)
    async with started(config, db) as runtime:
        assert await runtime.write(job.send_due, config, TODAY + timedelta(hours=8, minutes=1)) == 1
        assert await runtime.write(job.send_due, config, TODAY + timedelta(days=3)) == 0
        # Four weeks on, the week before holds no article: nothing is sent.
        assert await runtime.write(job.send_due, config, TODAY + timedelta(days=28, hours=9)) == 0
    rows = query(db, "SELECT chat_id, dedup_key, parts FROM outbox WHERE kind = 'weekly'")
    assert [(r[0], r[1]) for r in rows] == [(ADMIN, f"weekly:{ADMIN}:2026-11-16")]
    text = rows[0][2]
    # 7 campaign articles this week and 7 the week before; 14 and 14 department news.
    assert "→ Phủ sóng 5G: 7 / 7" in text and "→ 14 bài (tuần trước 14)" in text, text
    conn = sqlite3.connect(db)
    try:
        digest = weekly_digest(conn, config, (TODAY - timedelta(days=1)).date())
    finally:
        conn.close()
    assert (digest.news.total, digest.news.previous, digest.warnings_total) == (14, 14, 0)
    for part in render_weekly(digest, "en"):
        parse_html(part)
