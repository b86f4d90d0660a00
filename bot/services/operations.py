"""Operations: the figures of `mediabot stats`, and retention (pruning old articles) on a schedule.

`stats_dict` is a contract (README "Operations"): keys are added, never renamed or removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts.outbox import STATES
from bot.alerts.outbox_rows import OutboxStats, outbox_stats
from bot.config import Config
from bot.errors import DatabaseUnavailable
from bot.store.maintenance import ArchiveCounts, archive_counts, database_size, prune_batch

log = logging.getLogger(__name__)
RETENTION_EVERY_S = 86400.0  # `mediabot run` prunes at start, then once a day


@dataclass(frozen=True, slots=True)
class Stats:
    days: int
    today: str  # local date the window ends with
    archive: ArchiveCounts
    db_bytes: int
    wal_bytes: int
    outbox: OutboxStats
    retention_days: float | None


def collect_stats(conn: sqlite3.Connection, config: Config, db_path: str | Path, days: int, now: datetime) -> Stats:
    """Every figure of `mediabot stats`, read on one read-only connection."""
    local = now.astimezone(config.organization.tz)
    start = (local - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    offset = int((local.utcoffset() or timedelta(0)).total_seconds())  # per-day buckets in local days
    counts = archive_counts(conn, int(start.timestamp()), offset)
    db_bytes, wal_bytes = database_size(db_path)
    retention = None if config.retention is None else round(config.retention / 86400, 2)
    return Stats(
        days, local.date().isoformat(), counts, db_bytes, wal_bytes, outbox_stats(conn, now.timestamp()), retention
    )


def stats_dict(stats: Stats) -> dict[str, Any]:
    """The `mediabot stats --json` object (documented in README: keep the keys)."""
    per_day = dict(stats.archive.per_day)
    last = datetime.fromisoformat(stats.today)
    dates = [(last - timedelta(days=n)).date().isoformat() for n in range(stats.days - 1, -1, -1)]
    return {
        "articles": {
            "total": stats.archive.total,
            "oldest_published_at": _iso(stats.archive.oldest_ts),
            "newest_published_at": _iso(stats.archive.newest_ts),
            "per_day": [{"date": day, "articles": per_day.get(day, 0)} for day in dates],
        },
        "sources": [
            {"id": sid, "name": name, "articles": total, "articles_in_window": recent}
            for sid, name, total, recent in stats.archive.per_source
        ],
        "database": {
            "file_bytes": stats.db_bytes,
            "wal_bytes": stats.wal_bytes,
            "total_bytes": stats.db_bytes + stats.wal_bytes,
        },
        "outbox": {state: stats.outbox.total(state) for state in STATES},
        "subscriptions": {"active": stats.outbox.subscriptions, "paused": stats.outbox.paused_subscriptions},
        "retention_days": stats.retention_days,
        "days": stats.days,
    }


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


Write = Callable[..., Awaitable[Any]]


async def prune_old_articles(write: Write, retention_s: float, now: float) -> int:
    """Delete every article older than the retention, one bounded transaction per writer call."""
    cutoff = int(now - retention_s)
    pruned = 0
    while True:
        deleted = await write(prune_batch, cutoff)
        pruned += deleted
        if not deleted:
            return pruned


async def run_retention(
    write: Write, config: Callable[[], Config], stop: asyncio.Event, clock: Callable[[], float] = time.time
) -> None:
    """`mediabot run`'s retention task: prune at start, then every day, until `stop` (a no-op without the key)."""
    while not stop.is_set():
        retention = config().retention
        if retention is not None:
            try:
                pruned = await prune_old_articles(write, retention, clock())
                if pruned:
                    log.info("retention: pruned %d articles older than %.0f days", pruned, retention / 86400)
            except (DatabaseUnavailable, sqlite3.Error) as err:  # tomorrow is soon enough; never die
                log.warning("retention: %s", err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETENTION_EVERY_S)
