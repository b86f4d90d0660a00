"""A campaign's coverage in numbers, made from its stored matches (bot.reports.store).

`campaign_report` gives the total, the previous equal period's total, articles per outlet
and per local day, the top stories (one story carried by several outlets counts once, with
its outlets) and the share of voice across every campaign; `comparison` gives every
campaign's daily counts side by side. Pure reads: the caller picks the connection.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.config import Campaign
from bot.reports import store
from bot.reports.period import ReportPeriod
from bot.saved_queries.campaigns import count_campaign_matches
from bot.search.periods import midnight

TOP_STORIES = 10


@dataclass(frozen=True, slots=True)
class TopStory:
    """One story: its first article's title and link, the outlets that carried it, how many articles."""

    title: str
    url: str
    sources: tuple[str, ...]  # outlet ids, in the order they published it
    articles: int


@dataclass(frozen=True)
class CampaignReport:
    """How the press covered one campaign in one period."""

    campaign_id: str
    campaign_name: str
    period: ReportPeriod
    total: int
    previous_total: int
    by_source: dict[str, int]  # largest first
    by_day: dict[date, int]  # every day of the period, zeros included
    daily_by_source: dict[str, tuple[int, ...]]  # per outlet, one count per day of the period
    top_stories: tuple[TopStory, ...]
    share_of_voice: dict[str, float]  # campaign id → its share of all campaigns' articles
    source_names: dict[str, str]
    campaign_names: dict[str, str]

    @property
    def change(self) -> float | None:
        """Change against the previous period in percent; None when that period had no article."""
        if not self.previous_total:
            return None
        return (self.total - self.previous_total) * 100 / self.previous_total

    def source_name(self, source_id: str) -> str:
        return self.source_names.get(source_id, source_id)

    def to_json(self) -> dict[str, Any]:
        """The `--json` object (a contract: these keys, ISO dates, local days)."""
        return {
            "campaign": self.campaign_id,
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "total": self.total,
            "previous_total": self.previous_total,
            "by_source": dict(self.by_source),
            "by_day": {day.isoformat(): n for day, n in self.by_day.items()},
            "top_stories": [
                {"title": story.title, "sources": list(story.sources), "articles": story.articles}
                for story in self.top_stories
            ],
            "share_of_voice": dict(self.share_of_voice),
        }


@dataclass(frozen=True, slots=True)
class CampaignSeries:
    """One campaign's daily counts in a comparison."""

    id: str
    name: str
    total: int
    previous_total: int
    daily: tuple[int, ...]


@dataclass(frozen=True)
class Comparison:
    """Every campaign's daily counts over one period, largest total first."""

    period: ReportPeriod
    campaigns: tuple[CampaignSeries, ...]


def campaign_report(
    conn: sqlite3.Connection, campaign: Campaign, campaigns: Sequence[Campaign], period: ReportPeriod
) -> CampaignReport:
    """The report of `campaign` over `period`; `campaigns` (all configured) for the share of voice."""
    rows = store.matches(conn, campaign.id, period)
    days = period.dates()
    index = _day_index(period)
    per_source: dict[str, list[int]] = {}
    for row in rows:
        per_source.setdefault(row.source_id, [0] * len(days))[index(row.published_ts)] += 1
    by_source = dict(sorted(((s, sum(c)) for s, c in per_source.items()), key=lambda item: (-item[1], item[0])))
    by_day = {day: sum(counts[i] for counts in per_source.values()) for i, day in enumerate(days)}
    names = store.source_names(conn)
    return CampaignReport(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        period=period,
        total=len(rows),
        previous_total=_count(conn, campaign.id, period.previous()),
        by_source=by_source,
        by_day=by_day,
        daily_by_source={s: tuple(per_source[s]) for s in by_source},
        top_stories=top_stories(conn, rows),
        share_of_voice=_share_of_voice(conn, campaign.id, len(rows), campaigns, period),
        source_names={s: names.get(s, s) for s in by_source},
        campaign_names={c.id: c.name for c in campaigns},
    )


def comparison(conn: sqlite3.Connection, campaigns: Sequence[Campaign], period: ReportPeriod) -> Comparison:
    """Every campaign's articles per day over `period`."""
    index = _day_index(period)
    series = []
    for campaign in campaigns:
        daily = [0] * period.days
        for published_ts in store.match_times(conn, campaign.id, period):
            daily[index(published_ts)] += 1
        previous = _count(conn, campaign.id, period.previous())
        series.append(CampaignSeries(campaign.id, campaign.name, sum(daily), previous, tuple(daily)))
    series.sort(key=lambda s: -s.total)  # stable: configuration order among equals
    return Comparison(period, tuple(series))


def _count(conn: sqlite3.Connection, campaign_id: str, period: ReportPeriod) -> int:
    return count_campaign_matches(conn, campaign_id, period.start, period.end)


def _day_index(period: ReportPeriod) -> Callable[[int], int]:
    """published_ts → index of its local day in the period (each midnight looked up: DST-safe)."""
    midnights = [midnight(day, period.tz).timestamp() for day in period.dates()]

    def index(published_ts: int) -> int:
        return min(max(bisect_right(midnights, published_ts) - 1, 0), len(midnights) - 1)

    return index


def top_stories(conn: sqlite3.Connection, rows: Sequence[store.Match]) -> tuple[TopStory, ...]:
    """Stories with the most articles (then the most outlets, then the newest), each counted once."""
    stories: dict[int, list[store.Match]] = {}
    for row in sorted(rows, key=lambda r: (r.published_ts, r.id)):
        stories.setdefault(row.story_id, []).append(row)

    def rank(members: list[store.Match]) -> tuple[int, int, int]:
        return (-len(members), -len({m.source_id for m in members}), -members[-1].published_ts)

    top = sorted(stories.values(), key=rank)[:TOP_STORIES]
    found = store.titles(conn, [members[0].id for members in top])
    return tuple(
        TopStory(
            title=found.get(members[0].id, ("", ""))[0],
            url=found.get(members[0].id, ("", ""))[1],
            sources=tuple(dict.fromkeys(m.source_id for m in members)),
            articles=len(members),
        )
        for members in top
    )


def _share_of_voice(
    conn: sqlite3.Connection, campaign_id: str, total: int, campaigns: Sequence[Campaign], period: ReportPeriod
) -> dict[str, float]:
    """Each campaign's articles over all campaigns' articles in the period (an article in two counts twice)."""
    counts = Counter({c.id: total if c.id == campaign_id else _count(conn, c.id, period) for c in campaigns})
    everything = sum(counts.values())
    return {c.id: round(counts[c.id] / everything, 4) if everything else 0.0 for c in campaigns}
