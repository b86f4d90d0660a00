"""Owns the long-lived resources: database connections, HTTP client, parser pool, poller.

Created once at start (`Runtime.start`), closed once at shutdown (`aclose`); the CLI and
the Telegram application both use it, so `mediabot poll` and `mediabot run` share one path.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bot.alerts.department_news import (
    OrganizationQuery,
    compile_organization,
    record_organization_matches,
    retag_organization,
)
from bot.alerts.subscriptions import SubscriptionSet, record_subscription_matches
from bot.config import Config
from bot.ingest.fetch import Fetcher
from bot.ingest.parse import Parser
from bot.ingest.poller import Poller
from bot.saved_queries.campaigns import compile_campaigns, record_campaign_matches
from bot.saved_queries.registry import Registry
from bot.saved_queries.retag import RetagReport, retag_changed
from bot.saved_queries.saved_query import CAMPAIGN, ORGANIZATION, SUBSCRIPTION, SavedQuery
from bot.search.abbreviations import abbreviations_for
from bot.search.engine import SearchEngine
from bot.search.facets import SourceMap
from bot.store.articles import AfterInsertHook
from bot.store.db import connect, open_db
from bot.store.sources import sync_sources
from bot.store.writer import Writer

T = TypeVar("T")
log = logging.getLogger(__name__)


class Runtime:
    """The process's resources; one per `mediabot` process."""

    def __init__(
        self, config: Config, db_path: str | Path, *, parser_workers: int | None = None, patient: bool = False
    ) -> None:
        self.config = config
        self.db_path = str(db_path)
        self._patient = patient  # `mediabot run`: wait out another process's write lock (bot.store.connection)
        self._parser_workers = parser_workers
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self.writer: Writer | None = None
        self.fetcher: Fetcher | None = None
        self.parser: Parser | None = None
        self.poller: Poller | None = None
        self.source_map = SourceMap()  # shared by every reader thread's engine
        # The active saved queries, read by the after-insert hook: campaigns first, so a
        # subscription to a campaign sees the campaign's rows of the same batch; the
        # organization's last, so an admin who follows the news keeps that alert (and its buttons).
        self.registry = Registry(
            {
                CAMPAIGN: record_campaign_matches,
                SUBSCRIPTION: record_subscription_matches,
                ORGANIZATION: record_organization_matches,
            }
        )
        self.subscriptions = SubscriptionSet(self.registry)  # compiled live subscriptions (writer thread)
        # Set after a store transaction (and by anyone who enqueues): the sender reads the outbox.
        self.outbox_wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> RetagReport:
        """Open the database (migrating it), sync sources and campaigns, start the pipeline.

        ConfigError (a campaign query that means nothing) before anything is opened.
        """
        campaigns = compile_campaigns(self.config)
        organization = compile_organization(self.config)
        self._loop = asyncio.get_running_loop()
        db = open_db(self.db_path, busy_timeout=self.config.busy_timeout, patient=self._patient)
        self.writer = Writer(db.conn)
        await self.writer.run(sync_sources, self.config)
        retagged = await self.writer.run(self._adopt_campaigns, campaigns)
        await self.writer.run(self._adopt_organization, organization)
        await self.writer.run(self.subscriptions.load, self.config)
        self.fetcher = Fetcher(self.config.polling)
        self.parser = Parser(self._parser_workers)
        self.poller = self._make_poller()
        return retagged

    def _make_poller(self) -> Poller:
        assert self.writer and self.fetcher and self.parser
        return Poller(self.config, self.writer, self.fetcher, self.parser, hooks=self._hooks())

    def _hooks(self) -> tuple[AfterInsertHook, ...]:
        """What happens inside the transaction that stores new articles: every saved query's matches
        (subscriptions' become outbox rows), then the sender is woken."""
        return (self.registry.record_matches, self._wake_sender_after_commit)

    def _wake_sender_after_commit(self, _conn: sqlite3.Connection, _new_ids: Sequence[int]) -> None:
        # Runs on the writer thread inside the transaction. The sender reads the outbox with a
        # job on that same single thread, which runs only after this transaction has committed
        # (or rolled back): waking it now can never make it read too early.
        self.notify_outbox()

    def notify_outbox(self) -> None:
        """Outbox rows were (or are about to be) committed: wake the sender. Safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.outbox_wake.set)

    def _adopt_campaigns(self, conn: sqlite3.Connection, campaigns: tuple[SavedQuery, ...]) -> RetagReport:
        """On the writer thread, so no batch is stored between re-tagging and the registry swap."""
        report = retag_changed(conn, campaigns)
        self.registry.replace(CAMPAIGN, campaigns)
        if report.summary():
            log.info("campaigns: %s", report.summary())
        return report

    def _adopt_organization(self, conn: sqlite3.Connection, queries: tuple[OrganizationQuery, ...]) -> None:
        """Department news and warnings: rebuilt when the names or terms changed, then matched as stored."""
        stored = retag_organization(conn, queries)
        self.registry.replace(ORGANIZATION, queries)
        if stored:  # a rebuild of an empty archive (a first start) is nothing to report
            log.info("department news re-tagged: %d articles name the organization", stored)

    async def reload(self, config: Config) -> RetagReport:
        """Adopt a new configuration: sync sources, campaigns (re-tagging changed ones), fetch limits.

        ConfigError (a campaign query that means nothing) before anything changes.
        """
        assert self.writer and self.poller and self.fetcher
        campaigns = compile_campaigns(config)
        organization = compile_organization(config)
        previous = self.config
        self.config = config
        await self.writer.run(sync_sources, config)
        retagged = await self.writer.run(self._adopt_campaigns, campaigns)
        await self.writer.run(self._adopt_organization, organization)
        # Campaign queries, the organization's names and access may have changed: recompile all.
        await self.writer.run(self.subscriptions.load, config)
        if config.polling != previous.polling:
            old = self.fetcher
            self.fetcher = Fetcher(config.polling)
            # Fetches in flight still hold the old client: close it once they are surely over.
            asyncio.get_running_loop().call_later(
                previous.polling.timeout + 5, lambda: asyncio.ensure_future(old.aclose())
            )
        # The running poll loop reads these attributes on its next cycle.
        self.poller.config = config
        self.poller.fetcher = self.fetcher
        return retagged

    def reader(self) -> sqlite3.Connection:
        """A read connection for the calling thread (SQLite connections are not shared across threads)."""
        return self._thread_connection("reader")

    def _thread_connection(self, name: str) -> sqlite3.Connection:
        conn = getattr(self._local, name, None)
        if conn is None:
            conn = connect(self.db_path, busy_timeout=self.config.busy_timeout)
            setattr(self._local, name, conn)
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def engine(self) -> SearchEngine:
        """A search engine on this thread's read connections."""
        engine = getattr(self._local, "engine", None)
        abbreviations = abbreviations_for(self.config.organization.abbreviations)  # cached per table
        if engine is None or engine.tz != self.config.organization.tz or engine.abbreviations is not abbreviations:
            engine = SearchEngine(
                self.reader(),
                self.config.organization.tz,
                source_map=self.source_map,
                side_conn=self._thread_connection("side"),
                abbreviations=abbreviations,
            )
            self._local.engine = engine
        return engine

    async def read(self, func: Callable[[Runtime], T]) -> T:
        """Run a read-only function off the event loop (SQLite releases the GIL while it works)."""
        return await asyncio.to_thread(func, self)

    async def write(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run `func(conn, *args)` on the single writer thread."""
        assert self.writer
        return await self.writer.run(func, *args, **kwargs)

    async def aclose(self) -> None:
        """Close everything this runtime opened; safe to call twice."""
        if self.fetcher:
            await self.fetcher.aclose()
            self.fetcher = None
        if self.parser:
            self.parser.close()
            self.parser = None
        if self.writer:
            self.writer.conn.patient = False  # type: ignore[attr-defined]  # a write waiting on a lock gives up
            self.writer.close()
            self.writer.conn.close()
            self.writer = None
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
