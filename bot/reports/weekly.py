"""The admins' weekly digest: per campaign the week's articles against the week before, department
news, and the week's warnings, all from the stored matches."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from bot.alerts.department_news import count_organization_matches, organization_matches
from bot.config import Config
from bot.reports.period import ReportPeriod
from bot.reports.press_review import ReviewItem, press_review_items
from bot.saved_queries.campaigns import count_campaign_matches

MAX_WARNINGS = 30  # listed; more are counted


@dataclass(frozen=True, slots=True)
class WeekCount:
    """One line of the digest: this week's articles and the week before's."""

    id: str
    name: str
    total: int
    previous: int

    @property
    def arrow(self) -> str:
        """↑ more, ↓ fewer, → as many as the week before."""
        return "↑" if self.total > self.previous else "↓" if self.total < self.previous else "→"


@dataclass(frozen=True)
class WeeklyDigest:
    """Seven local days ending the day before the digest is sent."""

    first: date
    last: date
    campaigns: tuple[WeekCount, ...]
    news: WeekCount  # every article naming the organization
    warnings: tuple[ReviewItem, ...]  # newest first, at most MAX_WARNINGS
    warnings_total: int

    @property
    def empty(self) -> bool:
        """Nothing was stored for the week: no campaign article, no department news."""
        return not self.news.total and not any(c.total for c in self.campaigns)


def weekly_digest(conn: sqlite3.Connection, config: Config, last: date) -> WeeklyDigest:
    """The week of seven local days ending on `last`, compared with the seven before."""
    tz = config.organization.tz
    week = ReportPeriod(last - timedelta(days=6), last, tz)
    before = week.previous()
    campaigns = tuple(
        WeekCount(
            c.id,
            c.name,
            count_campaign_matches(conn, c.id, week.start, week.end),
            count_campaign_matches(conn, c.id, before.start, before.end),
        )
        for c in config.campaigns
    )
    start, end = week.start.timestamp(), week.end.timestamp()
    news = WeekCount(
        "news",
        config.organization.name,
        count_organization_matches(conn, start, end),
        count_organization_matches(conn, before.start.timestamp(), before.end.timestamp()),
    )
    warned = organization_matches(conn, start, end, warnings_only=True)
    newest = sorted(warned, key=lambda m: (-m.published_ts, -m.id))[:MAX_WARNINGS]
    items = press_review_items(conn, [m.id for m in newest], {m.id: m.warning_term for m in newest}, tz)
    listed = tuple(items[m.id] for m in newest if m.id in items)
    return WeeklyDigest(week.first, week.last, campaigns, news, listed, len(warned))
