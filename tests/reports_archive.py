"""A generated archive with known answers for the shipped campaigns (feeds.yaml), and hand counts over it.

Every story is one title about one topic; a topic belongs to one shipped campaign (or none).
Copies of a story appear in several outlets within hours (one story, several outlets).
Times fall on both sides of local midnights, over 75 days before NOW.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config, Source, load_config
from bot.models import Article
from bot.runtime import Runtime
from bot.store.articles import store_articles

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=TZ)
OUTLETS = [
    ("baophutho", "Báo Phú Thọ"),
    ("vnexpress", "VnExpress"),
    ("tuoitre", "Tuổi Trẻ"),
    ("thanhnien", "Thanh Niên"),
    ("nhandan", "Báo Nhân Dân"),
    ("vietnamplus", "VietnamPlus"),
    ("vietnamnet", "VietNamNet"),
    ("baochinhphu", "Báo Điện tử Chính phủ"),
]
# topic → the shipped campaign whose query matches it (None: no campaign)
TOPICS = {
    "chuyển đổi số": "chuyen-doi-so",
    "chính quyền số": "chuyen-doi-so",
    "kinh tế số": "chuyen-doi-so",
    "sốt xuất huyết": "phong-chong-dich",
    "tiêm chủng": "phong-chong-dich",
    "Trường Sa": "bien-dao",
    "biển đảo": "bien-dao",
    "trạm BTS": "phu-song-5g",
    "mạng 5G": "phu-song-5g",
    "dịch vụ công trực tuyến": "dich-vu-cong",
    "giá lúa": None,
    "mùa nước nổi": None,
}
LEADS = ["Phú Thọ đẩy mạnh", "Huyện Thanh Sơn triển khai", "Việt Trì họp bàn về", "Đoàn Hùng tổng kết"]
TAILS = ["cho người dân", "tại các xã vùng cao", "trong tháng cuối năm", "ở khu dân cư Đồng Tâm"]


@dataclass(frozen=True)
class Generated:
    title: str
    campaign: str | None
    source: str
    published: datetime
    story: int  # index of the story (one title)
    url: str


def shipped_config(tmp: Path) -> Config:
    """The shipped feeds.yaml's organization and campaigns, with the outlets above (never fetched)."""
    config = load_config(ROOT / "feeds.yaml")
    sources = tuple(Source(id=i, name=n, urls=(f"https://{i}.example.vn/rss",)) for i, n in OUTLETS)
    return replace(config, sources=sources, path=tmp / "feeds.yaml")


def generate(seed: int = 8, stories: int = 260) -> list[Generated]:
    """Stories over 75 days; each in 1–4 outlets, copies within 6 hours; sorted by publication."""
    rng = random.Random(seed)
    out = []
    topics = list(TOPICS)
    for k in range(stories):
        topic = rng.choice(topics)
        title = f"{rng.choice(LEADS)} {topic} {rng.choice(TAILS)} (kỳ {k})"
        first = NOW - timedelta(minutes=rng.randrange(10, 75 * 24 * 60))
        if k % 9 == 0:  # a minute before a local midnight, its copies just after
            first = first.replace(hour=23, minute=59, second=0)
            first = first if first < NOW else first - timedelta(days=1)
        outlets = rng.sample(OUTLETS, rng.choice((1, 1, 1, 2, 2, 3, 4)))
        for copy, (source, _name) in enumerate(outlets):
            published = first + timedelta(minutes=2 * copy + rng.randrange(0, 6 * 60) * (copy > 0))
            if published >= NOW:
                continue
            url = f"https://{source}.example.vn/{k}-{copy}.html"
            out.append(Generated(title, TOPICS[topic], source, published.replace(microsecond=0), k, url))
    return sorted(out, key=lambda g: (g.published, g.url))


def build(config: Config, db: Path, rows: list[Generated], *, summaries: dict[str, str] | None = None) -> None:
    """Store the rows through the real store path with the campaign hook, in publication order."""

    async def store() -> None:
        runtime = Runtime(config, db)
        await runtime.start()
        try:
            articles = [
                Article(
                    g.source,
                    g.url,
                    g.url,
                    g.title,
                    (summaries or {}).get(g.title, ""),
                    g.published,
                    g.published + timedelta(minutes=5),
                )
                for g in rows
            ]
            for start in range(0, len(articles), 50):
                batch = [(articles[start : start + 50], None)]
                await runtime.write(store_articles, batch, [runtime.registry.record_matches])
        finally:
            await runtime.aclose()

    asyncio.run(store())


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def hand_count(rows: list[Generated], campaign: str, first: date, last: date) -> dict[str, object]:
    """The report's numbers counted by hand from the generated rows (local days first..last)."""
    mine = [g for g in rows if g.campaign == campaign and first <= g.published.astimezone(TZ).date() <= last]
    span = (last - first).days + 1
    before = (first - timedelta(days=span), first - timedelta(days=1))
    previous = [g for g in rows if g.campaign == campaign and before[0] <= g.published.date() <= before[1]]
    by_day = Counter(g.published.astimezone(TZ).date().isoformat() for g in mine)
    by_source = Counter(g.source for g in mine)
    per_campaign = Counter(g.campaign for g in rows if g.campaign and first <= g.published.date() <= last)
    total_all = sum(per_campaign.values())
    campaigns = ["chuyen-doi-so", "phong-chong-dich", "bien-dao", "phu-song-5g", "dich-vu-cong"]
    stories: defaultdict[int, list[Generated]] = defaultdict(list)
    for g in mine:
        stories[g.story].append(g)
    ranked = sorted(
        stories.values(),
        key=lambda m: (-len(m), -len({g.source for g in m}), -max(g.published for g in m).timestamp()),
    )
    return {
        "campaign": campaign,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total": len(mine),
        "previous_total": len(previous),
        "by_source": dict(by_source),
        "by_day": {d.isoformat(): by_day.get(d.isoformat(), 0) for d in days(first, last)},
        "top_stories": [
            {"title": m[0].title, "sources": list(dict.fromkeys(g.source for g in m)), "articles": len(m)}
            for m in ranked[:10]
        ],
        "share_of_voice": {c: round(per_campaign[c] / total_all, 4) if total_all else 0.0 for c in campaigns},
    }
