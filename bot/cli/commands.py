"""The CLI's commands, each a short function over the shared services."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.department_news import compile_organization
from bot.cli.opml import SkippedOutline, read_opml, write_opml
from bot.cli.progress import ProgressReporter
from bot.config import Config
from bot.errors import DatabaseUnavailable
from bot.ingest.poller import PollReport
from bot.logsetup import redact_url
from bot.runtime import Runtime
from bot.saved_queries.campaigns import compile_campaigns
from bot.search.abbreviations import abbreviations_for
from bot.search.engine import SearchEngine
from bot.search.types import MARK_END, MARK_START, SearchHit
from bot.services.archive import check_sources
from bot.services.sources import FeedResult, add_feeds
from bot.store.db import open_db, open_readonly
from bot.store.queries import active_feed_urls, outlets
from bot.store.sources import SourceStatus, due_feeds, polling_health, source_statuses
from bot.textnorm import terminal_safe

log = logging.getLogger("mediabot")


def check_config(config: Config) -> int:
    compile_campaigns(config)  # the validation start and /reload run (ConfigError → exit 2)
    compile_organization(config)
    feeds = sum(len(s.urls) for s in config.sources)
    print(
        f"{config.path}: ok — {count(len(config.sources), 'source')} ({count(feeds, 'feed')}), "
        f"{count(len(config.campaigns), 'campaign')}, access {config.access.mode}"
    )
    return 0


def count(number: int, noun: str, plural: str = "") -> str:
    """`1 article`, `2 articles`: every count the CLI prints goes through here."""
    return f"{number} {noun}" if number == 1 else f"{number} {plural or noun + 's'}"


def _print_report(report: PollReport) -> int:
    """The summary of one round; exit 1 when there was nothing to poll or no feed answered."""
    if not report.outcomes:
        print("error: no active feeds to poll (add sources to feeds.yaml or run import-opml)", file=sys.stderr)
        return 1
    by_status: dict[str, int] = {}
    for outcome in report.outcomes:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    print(
        f"polled {count(len(report.outcomes), 'feed')} in {report.elapsed:.1f}s: "
        f"{count(report.new_articles, 'new article')}; "
        f"{by_status.get('new', 0)} with news, {by_status.get('unchanged', 0) + by_status.get('not_modified', 0)} "
        f"unchanged, {len(report.failed)} failed"
    )
    for outcome in sorted(report.failed, key=lambda o: (o.source_id, o.url)):
        print(terminal_safe(redact_url(f"  FAILED {outcome.source_id} {outcome.url}: {outcome.error}")))
    if len(report.failed) == len(report.outcomes):
        print(f"error: every feed failed ({len(report.failed)} of {len(report.outcomes)})", file=sys.stderr)
        return 1
    return 0


async def poll(config: Config, db_path: str, *, once: bool, progress: ProgressReporter | None = None) -> int:
    """Poll once (every active feed) or forever (due feeds), storing what is new."""
    runtime = Runtime(config, db_path, patient=not once)  # a service waits out another process's lock
    await runtime.start()
    assert runtime.poller
    try:
        if once:
            return _print_report(await runtime.poller.poll(only_due=False, progress=progress))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        polled = await runtime.read(lambda rt: due_feeds(rt.reader(), None))  # feeds.yaml's, /addsource's, OPML's
        outlets = count(len({feed.source_id for feed in polled}), "source")
        log.info("polling %s (%s); Ctrl-C to stop", outlets, count(len(polled), "feed"))
        await runtime.poller.run(stop, on_report=_log_report)
        return 0
    finally:
        await runtime.aclose()


def _log_report(report: PollReport) -> None:
    log.info(
        "polled %d feeds: %d new articles, %d failed", len(report.outcomes), report.new_articles, len(report.failed)
    )


def _hit_json(hit: SearchHit) -> str:
    snippet = hit.snippet.replace(MARK_START, "«").replace(MARK_END, "»")
    return json.dumps(
        {
            "id": hit.id,
            "title": hit.title,
            "url": hit.url,
            "source": hit.source,
            "source_name": hit.source_name,
            "published_at": hit.published_at.isoformat(),
            "dated": hit.dated,
            "snippet": snippet,
        },
        ensure_ascii=False,
    )


def _hit_text(hit: SearchHit, tty: bool) -> str:
    start, end = ("\033[1m", "\033[0m") if tty else ("«", "»")
    # Stored text is printed through terminal_safe: rows stored before ingest dropped ESC/BEL.
    snippet = terminal_safe(hit.snippet).replace(MARK_START, start).replace(MARK_END, end)
    when = hit.published_at.strftime("%d/%m/%Y %H:%M")
    if not hit.dated:  # the time is when it was first seen, not when it was published (as chat says)
        when = f"no date (first seen {when})"
    title, source, url = terminal_safe(hit.title), terminal_safe(hit.source_name), terminal_safe(hit.url)
    return f"{title}\n  {source} · {when} · {url}\n  {snippet}"


def search(config: Config, db_path: str, query: str, *, limit: int, as_json: bool) -> int:
    """Print the best matches of `query`."""
    engine = _read_only_engine(config, db_path)
    try:
        check_sources(outlets(engine.conn), engine.parse(query).sources)  # source:typo → closest ids
        page = engine.search(query, limit=limit)
    finally:
        engine.close()
    if as_json:
        for hit in page.hits:
            print(_hit_json(hit))
        return 0
    tty = sys.stdout.isatty()
    print(f"{count(page.total, 'article')} {'matches' if page.total == 1 else 'match'}; showing {len(page.hits)}")
    for hit in page.hits:
        print(_hit_text(hit, tty))
    return 0


def _read_only_engine(config: Config, db_path: str) -> SearchEngine:
    # No outlet map: it loads a row per article, worth it for the bot, not for one query.
    return SearchEngine(
        open_readonly(db_path),
        config.organization.tz,
        side_conn=open_readonly(db_path),
        abbreviations=abbreviations_for(config.organization.abbreviations),
    )


def sources(config: Config, db_path: str, *, as_json: bool) -> int:
    """Print every source the database knows with its health (feeds.yaml edits show after the next poll)."""
    conn = open_readonly(db_path)
    try:
        rows = source_statuses(conn, include_inactive=True)
    finally:
        conn.close()
    now = datetime.now(UTC)
    for row in rows:
        state = row.state(now)
        print(_source_json(row, state) if as_json else _source_text(row, state))
    return 0


def _source_json(row: SourceStatus, state: str) -> str:
    return json.dumps(
        {
            "id": row.id,
            "name": row.name,
            "url": redact_url(row.url),
            "urls": [redact_url(url) for url in row.urls],
            "active": row.active and not row.paused,
            "last_success_at": row.last_success_at,
            "last_error": redact_url(row.last_error) if row.last_error else row.last_error,
            "consecutive_failures": row.consecutive_failures,
            "articles": row.articles,
            "state": state,
            "paused": row.paused,
            "failing_since": row.failing_since,
            "last_new_article_at": row.last_new_article_at,
            "origin": row.origin,
        },
        ensure_ascii=False,
    )


# Why a source that is not polled is not: never a stale fetch error of the time it was.
_NOT_POLLED = {"inactive": "active: false in feeds.yaml"}
_REMOVED_BY = {"config": "no longer in feeds.yaml", "chat": "removed with /removesource"}


def _source_text(row: SourceStatus, state: str) -> str:
    if state == "removed":
        reason: str | None = _REMOVED_BY.get(row.removed_by or "", row.removed_by)
    elif state == "deactivated":
        reason = row.deactivated_reason
    else:
        reason = _NOT_POLLED.get(state, row.last_error)
    detail = f" — {reason}" if reason else ""
    feeds = "".join(f"\n    {url}" for url in row.urls)  # indented: `grep -v '^ '` keeps one line per outlet
    text = f"{row.id:<20} {state:<11} {count(row.articles, 'article'):>16}  {row.name}{detail}{feeds}"
    return terminal_safe(redact_url(text))  # a feed URL may carry a password: never on a terminal or in a log


def import_opml(config: Config, db_path: str, file: Path) -> int:
    """Add an OPML file's feeds as sources, exactly as /addsource adds one; report every entry."""
    try:
        data = file.read_bytes()
    except OSError as err:
        print(f"error: {file}: cannot read: {err.strerror}", file=sys.stderr)
        return 2
    document = read_opml(data, str(file))
    db = open_db(db_path)
    try:
        results = add_feeds(
            db.conn, document.feeds, config, origin="opml", actor_id=None, detail=f"opml:{file}", now=datetime.now(UTC)
        )
    finally:
        db.conn.close()
    _print_import(file, results, document.skipped)
    return 0


def _print_import(file: Path, results: list[FeedResult], outlines: list[SkippedOutline]) -> None:
    added = [r for r in results if r.added]
    skipped = [(r.feed.title, r.feed.url, r.reason) for r in results if not r.added]
    skipped += [(o.title, o.url, o.reason) for o in outlines]
    entries = len(results) + len(outlines)
    print(f"{file}: {count(entries, 'entry', 'entries')}: {len(added)} added, {len(skipped)} skipped")
    for result in added:
        print(redact_url(f"  + {result.source_id}  {result.feed.title or result.feed.url}  {result.feed.url}"))
    for title, url, reason in skipped:
        print(redact_url(f"  - skipped {' '.join(filter(None, [title or '(untitled)', url]))}: {reason}"))


def export_opml(config: Config, db_path: str, output: Path | None) -> int:
    """Write every active source as OPML (to a file, or to stdout)."""
    conn = open_readonly(db_path)
    try:
        rows = active_feed_urls(conn)
    finally:
        conn.close()
    text = write_opml(rows, config.organization.name)
    if output is None:
        # Line by line through the buffer: one large write that a closing reader cuts short
        # is dropped silently (CPython ignores the partial count), small ones raise EPIPE.
        sys.stdout.writelines(text.splitlines(keepends=True))
        return 0
    return write_file(output, text)


def write_file(path: Path, content: str | bytes) -> int:
    """Write text (UTF-8) or bytes to `path`; a missing folder or a folder as `path` is one line, exit 1."""
    try:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except FileNotFoundError:
        print(f"error: {path}: no such folder: {path.parent}", file=sys.stderr)
        return 1
    except IsADirectoryError:
        print(f"error: {path}: is a folder", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {path}: cannot write: {err.strerror}", file=sys.stderr)
        return 1
    return 0


def health(config: Config, db_path: str) -> int:
    """Container health: the database answers and the feeds checked lately did not all fail."""
    window = max(3 * config.polling.interval, 1800)
    now = datetime.now(UTC)
    try:
        conn = open_readonly(db_path)
        try:
            state = polling_health(conn, now - timedelta(seconds=window))
        finally:
            conn.close()
    except DatabaseUnavailable as err:
        print(f"unhealthy: {err}")
        return 1
    except sqlite3.Error as err:  # a writer holding the database longer than the busy timeout
        print(f"unhealthy: {db_path}: database does not answer: {err}")
        return 1
    if not state.feeds:
        print("healthy: no active feeds")
        return 0
    if not state.checked or state.last_check_at is None:
        print(f"unhealthy: no feed checked in the last {int(window)}s")
        return 1
    if state.failing == state.checked:
        print(f"unhealthy: all {count(state.checked, 'feed')} checked in the last {int(window)}s failed")
        return 1
    age = (now - datetime.fromisoformat(state.last_check_at)).total_seconds()
    print(f"healthy: {count(state.feeds, 'feed')}, last check {int(age)}s ago, {state.failing} failing")
    return 0
