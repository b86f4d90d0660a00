"""The one place that knows the order of the pipeline: fetch → parse+normalize → store → health.

A failing feed is recorded on its own row and never harms the others. All database
writes go through one writer thread (SQLite allows one writer; keeping it off the event
loop keeps the bot responsive while a large batch is indexed).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from bot.config import Config
from bot.errors import DatabaseUnavailable, FetchError, ParseError
from bot.ingest import scheduler
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import Parser
from bot.models import Article
from bot.store import sources as source_store
from bot.store.articles import AfterInsertHook, store_articles
from bot.store.db import transaction
from bot.store.writer import Writer

log = logging.getLogger(__name__)
T = TypeVar("T")
STORAGE_RETRY_S = 30.0  # `run`: a feed whose articles the database could not take waits this long
Item = TypeVar("Item")
Progress = Callable[[int, int, "FeedOutcome"], None]


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    feed_id: int
    source_id: str
    url: str
    status: str  # new | unchanged | not_modified | failed
    new_articles: int = 0
    seen_articles: int = 0
    error: str | None = None
    storage_failed: bool = False  # the database refused the write (full disk): not the feed's fault


@dataclass(slots=True)
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def new_articles(self) -> int:
        return sum(o.new_articles for o in self.outcomes)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


class _Batched(Generic[Item]):
    """Items queued by many feeds and written by one drain task, a group per transaction.

    The writer thread does one thing at a time: what arrives while it works waits and goes
    into the next group together.
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._pending: list[Item] = []
        self._task: asyncio.Task[None] | None = None

    def _queue(self, item: Item) -> None:
        self._pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def idle(self) -> None:
        """Wait until every item queued so far is written (or has failed)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        raise NotImplementedError


class HealthWrites(_Batched[Callable[[sqlite3.Connection], None]]):
    """Feed health updates, applied in one transaction per group instead of one each.

    In steady state nearly every check is a 304 whose only write is its health row; a
    thousand of them were a thousand commits. Nothing waits for these writes except the end
    of a poll: if the process dies first, a feed is merely checked again.
    """

    def submit(self, write: Callable[[sqlite3.Connection], None]) -> None:
        """Queue `write(conn)`; it runs in the next group transaction."""
        self._queue(write)

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                await self.writer.run(_apply_in_one_transaction, group)
            except DatabaseUnavailable as err:
                log.error("could not record the health of %d feeds: %s", len(group), err)
            except Exception:  # health is bookkeeping: log it, never take the poller down
                log.exception("could not record the health of %d feeds", len(group))


def _apply_in_one_transaction(conn: sqlite3.Connection, writes: list[Callable[[sqlite3.Connection], None]]) -> None:
    with transaction(conn):
        for write in writes:
            write(conn)


class GroupCommit(_Batched[tuple[Sequence[Article], int, "asyncio.Future[int]"]]):
    """Stores the batches of many feeds in as few transactions as the writer allows.

    While one transaction runs, batches from feeds that finish meanwhile wait and go into the
    next one together: fewer commits, and the after-insert hooks (campaign and subscription
    matching, one FTS query each) run once per group instead of once per feed.
    """

    MAX_ARTICLES = 2000  # bounds how long one transaction holds the write lock
    # A transaction has a fixed cost (commit, an FTS5 segment, the hooks' set-up): ~1.3 ms CPU
    # measured, as much as storing 20 articles. Waiting a little before one starts lets the
    # feeds finishing meanwhile share it (bench/poll.py: 2.8 → 18 feeds per transaction,
    # 1.4 ms less CPU per feed), for 0.1 s more between a fetch and its alerts.
    LINGER_S = 0.1

    def __init__(
        self, writer: Writer, hooks: Callable[[], Sequence[AfterInsertHook]], *, linger: float = LINGER_S
    ) -> None:
        super().__init__(writer)
        self.hooks = hooks
        self.linger = linger

    async def store(self, articles: Sequence[Article], feed_id: int) -> int:
        """Store one feed's articles; returns how many were new."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue((articles, feed_id, future))
        return await future

    def _take_group(self) -> list[tuple[Sequence[Article], int, asyncio.Future[int]]]:
        size, count = 0, 0
        for articles, _feed, _future in self._pending:
            if count and size + len(articles) > self.MAX_ARTICLES:
                break
            size, count = size + len(articles), count + 1
        group, self._pending = self._pending[:count], self._pending[count:]
        return group

    async def _drain(self) -> None:
        while self._pending:
            if sum(len(articles) for articles, *_ in self._pending) < self.MAX_ARTICLES:
                await asyncio.sleep(self.linger)
            group = self._take_group()
            try:
                result = await self.writer.run(store_articles, [(a, f) for a, f, _ in group], self.hooks())
            except Exception as err:  # every feed of the group failed; each records it
                for *_, future in group:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (*_, future), new in zip(group, result.new_per_batch, strict=True):
                if not future.done():  # the feed's poll may have been cancelled (shutdown)
                    future.set_result(new)


def _collect_finished(in_flight: dict[int, asyncio.Task[FeedOutcome]], started: float) -> PollReport:
    """Take the finished tasks out of `in_flight`; their outcomes make a report."""
    report = PollReport()
    for feed_id, task in list(in_flight.items()):
        if task.done():
            del in_flight[feed_id]
            if not task.cancelled() and task.exception() is None:
                report.outcomes.append(task.result())
    report.elapsed = time.monotonic() - started
    return report


class Poller:
    """Polls feeds and stores what is new."""

    def __init__(
        self,
        config: Config,
        writer: Writer,
        fetcher: Fetcher,
        parser: Parser,
        *,
        hooks: Sequence[AfterInsertHook] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.writer = writer
        self.fetcher = fetcher
        self.parser = parser
        self.hooks = tuple(hooks)
        self.clock = clock
        self._wake = asyncio.Event()
        self._store = GroupCommit(writer, lambda: self.hooks)
        self._health = HealthWrites(writer)

    def wake(self) -> None:
        """Check due feeds now instead of at the next scheduled time (a source was added or resumed)."""
        self._wake.set()

    async def poll(self, *, only_due: bool = True, progress: Progress | None = None) -> PollReport:
        """Poll due feeds (or every active feed) concurrently; the fetcher bounds concurrency."""
        started = time.monotonic()
        now_ts = self.clock() if only_due else None
        feeds = await self.writer.run(source_store.due_feeds, now_ts)
        report = PollReport()
        tasks = [asyncio.create_task(self._poll_feed(feed)) for feed in feeds]
        try:
            for done, future in enumerate(asyncio.as_completed(tasks), start=1):
                outcome = await future
                report.outcomes.append(outcome)
                if progress:
                    progress(done, len(tasks), outcome)
        finally:
            # Cancelled (shutdown): stop the other feeds' fetches too, and wait for them, so
            # no task outlives the poll and no write is left half-done.
            await self._cancel_and_settle(tasks)
        report.elapsed = time.monotonic() - started
        return report

    async def run(self, stop: asyncio.Event, *, on_report: Callable[[PollReport], None] | None = None) -> None:
        """Poll each feed when it is due until `stop` is set.

        Every feed runs as its own task, started when due: a slow feed (a stalled server, a
        parse near its time budget) never holds back the next check of the others. On stop,
        feeds in flight are cancelled and every write already begun completes.
        """
        in_flight: dict[int, asyncio.Task[FeedOutcome]] = {}
        try:
            while not stop.is_set():
                started = time.monotonic()
                for feed in await self.writer.run(source_store.due_feeds, self.clock()):
                    if feed.id not in in_flight:
                        in_flight[feed.id] = asyncio.create_task(self._poll_tracked(feed))
                report = _collect_finished(in_flight, started)
                if on_report and report.outcomes:
                    on_report(report)
                await self._sleep(stop, await self._next_delay(bool(in_flight)))
        finally:
            await self._cancel_and_settle(list(in_flight.values()))

    async def _poll_tracked(self, feed: source_store.FeedRow) -> FeedOutcome:
        """Poll one feed; done only once its health is written, so it is not seen as due again."""
        outcome = await self._poll_feed(feed)
        if outcome.storage_failed:  # nothing recorded, so it is due at once: do not re-fetch it every second
            await asyncio.sleep(STORAGE_RETRY_S)
        await self._health.idle()
        self._wake.set()  # its next check may come before the loop's current wake-up time
        return outcome

    async def _next_delay(self, busy: bool) -> float:
        next_ts = await self.writer.run(lambda conn: source_store.next_due_ts(conn))
        if next_ts is None:
            return 60.0
        # Overdue means in flight (everything due was just started): a finishing feed wakes us.
        floor = 1.0 if busy else 0.5
        return max(floor, min(next_ts - self.clock(), 60.0))

    async def _cancel_and_settle(self, tasks: Sequence[asyncio.Task[FeedOutcome]]) -> None:
        """Cancel `tasks` and wait for them and for every write they queued."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._store.idle()
        await self._health.idle()

    async def _sleep(self, stop: asyncio.Event, delay: float) -> None:
        """Wait `delay` seconds, or less if stopped or woken."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    async def _poll_feed(self, feed: source_store.FeedRow) -> FeedOutcome:
        try:
            return await self._poll_feed_unguarded(feed)
        except (FetchError, ParseError) as err:
            return await self._failed(feed, str(err), getattr(err, "retry_after", None))
        except DatabaseUnavailable as err:  # a full disk, a lock held too long: one line, the feed is not at fault
            log.error("%s", err)
            return FeedOutcome(feed.id, feed.source_id, feed.url, "failed", error=str(err), storage_failed=True)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug must not stop the other feeds; keep it visible
            log.exception("internal error while polling %s", feed.url)
            return await self._failed(feed, f"internal error: {type(err).__name__}", None)

    async def _poll_feed_unguarded(self, feed: source_store.FeedRow) -> FeedOutcome:
        result = await self.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        now = datetime.fromtimestamp(self.clock(), UTC)
        if result.status == 304:
            return await self._succeeded(feed, now, "not_modified", result, None, [])
        body_hash = hashlib.blake2b(result.body, digest_size=16).hexdigest()
        if body_hash == feed.body_hash:  # same bytes: skip the CPU-heavy parse
            return await self._succeeded(feed, now, "unchanged", result, body_hash, [])
        articles = await self.parser.parse_articles(
            result.body,
            feed_url=result.url,
            source_id=feed.source_id,
            fetched_at=now,
            tz_name=self.config.organization.timezone,
            budget=self.config.polling.parse_timeout,
            content_type=result.content_type,
            max_items=self.config.polling.max_items,
        )
        if len(articles) >= self.config.polling.max_items:
            log.warning("%s: kept %d items, polling.max_items (the feed may list more)", feed.source_id, len(articles))
        return await self._succeeded(feed, now, "new", result, body_hash, articles)

    async def _succeeded(
        self,
        feed: source_store.FeedRow,
        now: datetime,
        status: str,
        result: Any,
        body_hash: str | None,
        articles: list[Article],
    ) -> FeedOutcome:
        new = await self._store.store(articles, feed.id) if articles else 0
        if articles:
            gap = scheduler.publish_gap([a.published_at for a in articles], now)
            interval = scheduler.success_interval(self.config.polling, feed.source_interval_s, gap)
        else:  # nothing to learn from: slow down gently towards the upper bound
            upper = feed.source_interval_s or self.config.polling.max_interval
            previous = feed.interval_s or feed.source_interval_s or self.config.polling.interval
            interval = min(upper, previous * 1.2)
        self._health.submit(
            functools.partial(
                source_store.record_success,
                feed_id=feed.id,
                now=now,
                next_check_ts=now.timestamp() + scheduler.jittered(interval),
                interval_s=interval,
                new_articles=new,
                etag=result.etag,
                last_modified=result.last_modified,
                body_hash=body_hash,
                url=result.permanent_url,
            )
        )
        if status == "new" and not new:
            status = "unchanged"  # parsed, but every article was already stored
        return FeedOutcome(feed.id, feed.source_id, feed.url, status, new, len(articles))

    async def _failed(self, feed: source_store.FeedRow, error: str, retry_after: float | None) -> FeedOutcome:
        now = datetime.fromtimestamp(self.clock(), UTC)
        failures = feed.consecutive_failures + 1
        delay = scheduler.failure_interval(self.config.polling, feed.source_interval_s, failures, retry_after)
        deactivate = failures >= self.config.polling.max_failures
        self._health.submit(
            functools.partial(
                source_store.record_failure,
                feed_id=feed.id,
                now=now,
                error=error,
                next_check_ts=now.timestamp() + delay,
                deactivate=deactivate,
            )
        )
        if deactivate:
            log.warning("feed %s deactivated after %d failures: %s", feed.url, failures, error)
        return FeedOutcome(feed.id, feed.source_id, feed.url, "failed", error=error)
