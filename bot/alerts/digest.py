"""Daily digests: at a subscription's local HH:MM, the matches recorded since its last digest.

The recorder (bot.alerts.subscriptions) keeps a daily subscription's matches as
`digest_items`. A digest is due when the local date is past the subscription's
`last_digest_date` and the local time has reached its `digest_time`; sending it is one
transaction: the rendered parts go to the outbox under the dedup key
`digest:<subscription id>:<local date>`, the items listed are removed and the date is
recorded. So a digest is enqueued once per subscription and local date whatever happens:
a restart (the task catches up on start), a crash between two steps (nothing was
committed), or a clock set back (the date recorded is not passed again). Nothing is
sent when there is nothing to say, but the day still counts as done, so a match recorded
after 07:30 waits for tomorrow's digest instead of leaking out at the next wake.

The same task runs the other scheduled messages (`ScheduledJob`: the press review, the
weekly digest, spikes; bot.alerts.scheduled): each enqueues what is due under a dedup key
naming its chat and local date, so it too is sent once whatever the restarts and clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.alerts.outbox import MAX_PARTS, enqueue_message
from bot.alerts.subscriptions import DAILY, SubscriptionRow, live_subscriptions, may_receive
from bot.config import Config
from bot.runtime import Runtime
from bot.store.db import transaction

log = logging.getLogger(__name__)
MAX_ITEMS = 100  # per digest; the rest are counted ("and 40 more"), never lost silently
MAX_SLEEP_S = 60.0  # wake at least this often: new subscriptions and wall-clock changes are seen within it
DIGEST = "digest"  # the outbox kind


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One article of a digest."""

    article_id: int
    title: str
    url: str
    source_id: str
    source_name: str
    published_at: datetime
    dated: bool


# (subscription, its items grouped by outlet in order, items left out, local date) → message parts
DigestRenderer = Callable[[SubscriptionRow, Sequence[DigestItem], int, date], list[str]]


class ScheduledJob(Protocol):
    """Another message the digest task sends when due (its own dedup keys make it once only)."""

    def send_due(self, conn: sqlite3.Connection, config: Config, now: datetime) -> int:
        """On the writer: enqueue what is due at `now` (local); how many messages were enqueued."""
        ...

    def seconds_until_next(self, config: Config, now: datetime) -> float:
        """How long the task may sleep before this job may be due again."""
        ...


def seconds_until(clock: str, now: datetime) -> float:
    """Seconds from `now` to the next local HH:MM (0 within that minute), at most MAX_SLEEP_S."""
    hour, minute = map(int, clock.split(":"))
    moment = datetime.combine(now.date(), time(hour, minute), tzinfo=now.tzinfo)
    if moment < now.replace(second=0, microsecond=0):
        moment += timedelta(days=1)
    return min(MAX_SLEEP_S, max(0.0, (moment - now).total_seconds()))


def is_due(row: SubscriptionRow, now: datetime) -> bool:
    """Its local time has come today and today's digest was not made yet (`now` in the organization's tz)."""
    if row.mode != DAILY or row.paused or not row.digest_time:
        return False
    today = now.date().isoformat()
    return (row.last_digest_date or "") < today and now.strftime("%H:%M") >= row.digest_time


def seconds_until_next(rows: Sequence[SubscriptionRow], now: datetime) -> float:
    """How long the digest task may sleep: until the next digest time, at most MAX_SLEEP_S."""
    waits = [MAX_SLEEP_S]
    for row in rows:
        if row.mode != DAILY or row.paused or not row.digest_time:
            continue
        if is_due(row, now):
            return 0.0
        hour, minute = map(int, row.digest_time.split(":"))
        moment = datetime.combine(now.date(), time(hour, minute), tzinfo=now.tzinfo)
        if moment <= now:
            moment += timedelta(days=1)
        waits.append((moment - now).total_seconds())
    return max(0.0, min(waits))


def send_due_digests(conn: sqlite3.Connection, config: Config, now: datetime, render: DigestRenderer) -> int:
    """Enqueue every due digest, one transaction each (on the writer); how many messages were enqueued."""
    sent = 0
    for row in live_subscriptions(conn):
        if not is_due(row, now):
            continue
        try:
            sent += _send_one(conn, config, row, now.date(), render)
        except Exception:  # one subscription's failure (rolled back, retried next wake) must not stop the others'
            log.exception("daily digest of subscription %d failed", row.id)
    return sent


def _send_one(conn: sqlite3.Connection, config: Config, row: SubscriptionRow, day: date, render: DigestRenderer) -> int:
    with transaction(conn):
        fresh = conn.execute("SELECT last_digest_date FROM subscriptions WHERE id = ?", (row.id,)).fetchone()
        if fresh is None or (fresh[0] or "") >= day.isoformat():
            return 0  # done meanwhile (another process, or a clock set back)
        items, left_out = digest_items(conn, row.id, config.organization.tz)
        enqueued = 0
        if items and may_receive(conn, config, row):
            parts = _fit(row, items, left_out, day, render)
            key = f"{DIGEST}:{row.id}:{day.isoformat()}"
            enqueued = int(
                enqueue_message(conn, row.chat_id, row.thread_id, DIGEST, parts, key, subscription_id=row.id)
            )
        conn.execute("DELETE FROM digest_items WHERE subscription_id = ?", (row.id,))
        conn.execute("UPDATE subscriptions SET last_digest_date = ? WHERE id = ?", (day.isoformat(), row.id))
    return enqueued


def _fit(row: SubscriptionRow, items: list[DigestItem], left_out: int, day: date, render: DigestRenderer) -> list[str]:
    """Render with as many items as fit in MAX_PARTS messages; the rest are counted as left out.

    Why: a feed controls its URLs and titles (no length cap on URLs), so 100 items of ~1 KB
    links render to 30+ parts, which enqueue_message refuses with ValueError: the digest was
    never sent, and the exception ended the digest task for every chat.
    """
    parts = render(row, items, left_out, day)
    while len(parts) > MAX_PARTS and len(items) > 1:
        keep = min(len(items) - 1, max(1, len(items) * MAX_PARTS // len(parts)))
        left_out += len(items) - keep
        items = items[:keep]
        parts = render(row, items, left_out, day)
    return parts[:MAX_PARTS]


def digest_items(conn: sqlite3.Connection, subscription_id: int, tz: ZoneInfo) -> tuple[list[DigestItem], int]:
    """Up to MAX_ITEMS of its pending items, grouped by outlet (the busiest first), newest first within."""
    rows = conn.execute(
        """SELECT a.id, a.title, a.url, a.source_id, coalesce(s.name, a.source_id), a.published_ts, a.undated,
                  count(*) OVER (PARTITION BY a.source_id) AS per_source
           FROM digest_items d JOIN articles a ON a.id = d.article_id LEFT JOIN sources s ON s.id = a.source_id
           WHERE d.subscription_id = ?
           ORDER BY per_source DESC, a.source_id, a.published_ts DESC, a.id DESC""",
        (subscription_id,),
    ).fetchall()
    items = [
        DigestItem(r[0], r[1], r[2], r[3], r[4], datetime.fromtimestamp(r[5], tz), r[6] == 0) for r in rows[:MAX_ITEMS]
    ]
    return items, max(0, len(rows) - MAX_ITEMS)


async def run_digests(
    runtime: Runtime,
    render: DigestRenderer,
    stop: asyncio.Event,
    clock: Callable[[], datetime] | None = None,
    jobs: Sequence[ScheduledJob] = (),
) -> None:
    """The digest task of `mediabot run`: send what is due (missed ones first), sleep until the next, repeat."""
    now_of = clock or (lambda: datetime.now(runtime.config.organization.tz))
    while not stop.is_set():
        now = now_of()
        try:
            count = await runtime.write(send_due_digests, runtime.config, now, render)
            for job in jobs:
                count += await runtime.write(job.send_due, runtime.config, now)
            if count:
                log.info("enqueued %d scheduled message(s)", count)
                runtime.outbox_wake.set()  # the sender sleeps until something is enqueued
            rows = await runtime.read(lambda rt: live_subscriptions(rt.reader()))
            now = now_of()
            delay = min([seconds_until_next(rows, now), *(job.seconds_until_next(runtime.config, now) for job in jobs)])
        except sqlite3.Error as err:  # a busy or failing database: try again later, never die
            log.warning("daily digests: %s", err)
            delay = MAX_SLEEP_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.2))
