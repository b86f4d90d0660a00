"""Spikes: a campaign (or the organization) far above its usual daily coverage today.

Today's stored matches (local day, so far) are compared with the baseline, the mean of the
previous 14 local days: a spike when today > alerts.spike_factor × baseline and today ≥
alerts.spike_min. Checked by the digest task at every wake (≤ 60 s; two counts per campaign
from the stored matches, the baseline only when today already reaches spike_min). Who hears:
the admins' private chats and the campaign's subscribers (the organization's: `/subscribe news`),
once per local day each, under the dedup key `spike:<campaign id|org>:<YYYY-MM-DD>:<chat>`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.alerts.department_news import organization_matches
from bot.alerts.digest import MAX_SLEEP_S
from bot.alerts.outbox import enqueue_message
from bot.alerts.scheduled import key_taken
from bot.alerts.subscriptions import CAMPAIGN, NEWS, SubscriptionRow, live_subscriptions, may_receive
from bot.config import Config
from bot.reports import store
from bot.reports.numbers import TopStory, top_stories
from bot.reports.period import ReportPeriod
from bot.store.db import transaction

BASELINE_DAYS = 14
ORG = "org"  # the organization's key in dedup keys
SPIKE = "spike"


@dataclass(frozen=True)
class Spike:
    """Today's coverage of one campaign (or the organization) against its 14-day baseline."""

    key: str  # a campaign id, or ORG
    name: str
    organization: bool  # the organization's coverage (not a campaign's)
    day: date
    today: int
    baseline: float  # articles per day over the previous 14 local days
    top_stories: tuple[TopStory, ...]
    source_names: dict[str, str]


def _matches(conn: sqlite3.Connection, campaign_id: str | None, period: ReportPeriod) -> list[store.Match]:
    """A campaign's stored matches in the period, or (None) the organization's."""
    if campaign_id is not None:
        return store.matches(conn, campaign_id, period)
    found = organization_matches(conn, period.start.timestamp(), period.end.timestamp())
    return [store.Match(m.id, m.source_id, m.published_ts, m.story_id) for m in found]


def find_spikes(conn: sqlite3.Connection, config: Config, now: datetime) -> list[Spike]:
    """Every campaign, then the organization, whose coverage today is a spike."""
    today = ReportPeriod(now.date(), now.date(), config.organization.tz)
    before = ReportPeriod(now.date() - timedelta(days=BASELINE_DAYS), now.date() - timedelta(days=1), today.tz)
    alerts = config.alerts
    spikes = []
    watched: list[tuple[str | None, str]] = [(c.id, c.name) for c in config.campaigns]
    for campaign_id, name in [*watched, (None, config.organization.name)]:
        rows = _matches(conn, campaign_id, today)
        if len(rows) < alerts.spike_min:
            continue
        baseline = len(_matches(conn, campaign_id, before)) / BASELINE_DAYS
        if len(rows) > alerts.spike_factor * baseline:
            names = store.source_names(conn)
            spikes.append(
                Spike(campaign_id or ORG, name, campaign_id is None, now.date(), len(rows), baseline,
                      top_stories(conn, rows), names)
            )  # fmt: skip
    return spikes


def spike_key(spike: Spike, chat_id: int) -> str:
    """`spike:<campaign id|org>:<date>:<chat>` — once per day and chat."""
    return f"{SPIKE}:{spike.key}:{spike.day.isoformat()}:{chat_id}"


@dataclass(frozen=True)
class SpikeJob:
    """Enqueue each new spike for the admins and the subscribers it concerns."""

    render: Callable[[Spike, str], list[str]]

    def send_due(self, conn: sqlite3.Connection, config: Config, now: datetime) -> int:
        sent = 0
        for spike in find_spikes(conn, config, now):
            chats = _recipients(conn, config, spike)
            waiting = {c: t for c, t in chats.items() if not key_taken(conn, spike_key(spike, c[0]))}
            if not waiting:
                continue
            with transaction(conn):
                for (chat_id, lang), thread_id in waiting.items():
                    parts = self.render(spike, lang)
                    sent += enqueue_message(conn, chat_id, thread_id, SPIKE, parts, spike_key(spike, chat_id))
        return sent

    def seconds_until_next(self, config: Config, now: datetime) -> float:
        return MAX_SLEEP_S


def _recipients(conn: sqlite3.Connection, config: Config, spike: Spike) -> dict[tuple[int, str], int | None]:
    """(chat, language) → thread: the admins, then the campaign's (or the news) subscribers."""
    lang = config.organization.language
    chats: dict[tuple[int, str], int | None] = {(admin, lang): None for admin in config.access.admins}
    seen = set(config.access.admins)
    for row in live_subscriptions(conn):
        if _concerns(row, spike) and row.chat_id not in seen and may_receive(conn, config, row):
            chats[(row.chat_id, row.language or lang)] = row.thread_id
            seen.add(row.chat_id)
    return chats


def _concerns(row: SubscriptionRow, spike: Spike) -> bool:
    if spike.organization:
        return row.kind == NEWS
    return row.kind == CAMPAIGN and row.target == spike.key
