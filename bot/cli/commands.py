"""The CLI's commands, each a short function over the shared services."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.opml import feeds_to_sources, read_opml, write_opml
from bot.cli.progress import ProgressReporter
from bot.config import Config
from bot.ingest.poller import PollReport
from bot.runtime import Runtime
from bot.search.engine import open_engine
from bot.search.types import MARK_END, MARK_START, SearchHit
from bot.services.archive import check_sources
from bot.store.db import open_db, transaction
from bot.store.queries import outlets
from bot.store.sources import source_statuses, sync_sources, upsert_source

log = logging.getLogger("mediabot")


def check_config(config: Config) -> int:
    print(
        f"{config.path}: ok — {len(config.sources)} sources "
        f"({sum(len(s.urls) for s in config.sources)} feeds), {len(config.campaigns)} campaigns, "
        f"access {config.access.mode}"
    )
    return 0


def _print_report(report: PollReport) -> None:
    by_status: dict[str, int] = {}
    for outcome in report.outcomes:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    print(
        f"polled {len(report.outcomes)} feeds in {report.elapsed:.1f}s: {report.new_articles} new articles; "
        f"{by_status.get('new', 0)} with news, {by_status.get('unchanged', 0) + by_status.get('not_modified', 0)} "
        f"unchanged, {len(report.failed)} failed"
    )
    for outcome in sorted(report.failed, key=lambda o: (o.source_id, o.url)):
        print(f"  FAILED {outcome.source_id} {outcome.url}: {outcome.error}")


async def poll(config: Config, db_path: str, *, once: bool, progress: ProgressReporter | None = None) -> int:
    """Poll once (every active feed) or forever (due feeds), storing what is new."""
    runtime = Runtime(config, db_path)
    await runtime.start()
    assert runtime.poller
    try:
        if once:
            _print_report(await runtime.poller.poll(only_due=False, progress=progress))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("polling %d sources; Ctrl-C to stop", len(config.sources))
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
            "snippet": snippet,
        },
        ensure_ascii=False,
    )


def _hit_text(hit: SearchHit, tty: bool) -> str:
    start, end = ("\033[1m", "\033[0m") if tty else ("«", "»")
    snippet = hit.snippet.replace(MARK_START, start).replace(MARK_END, end)
    when = hit.published_at.strftime("%d/%m/%Y %H:%M")
    return f"{hit.title}\n  {hit.source_name} · {when} · {hit.url}\n  {snippet}"


def search(config: Config, db_path: str, query: str, *, limit: int, as_json: bool) -> int:
    """Print the best matches of `query`."""
    open_db(db_path).conn.close()  # creates or migrates the schema
    engine = open_engine(db_path, config.organization.tz, outlet_map=False)
    try:
        check_sources(outlets(engine.conn), engine.parse(query).sources)  # source:typo → closest ids
        page = engine.search(query, limit=max(1, limit))
    finally:
        engine.close()
    if as_json:
        for hit in page.hits:
            print(_hit_json(hit))
        return 0
    tty = sys.stdout.isatty()
    print(f"{page.total} articles match; showing {len(page.hits)}")
    for hit in page.hits:
        print(_hit_text(hit, tty))
    return 0


def sources(config: Config, db_path: str, *, as_json: bool) -> int:
    """Print every monitored source with its health."""
    db = open_db(db_path)
    try:
        sync_sources(db.conn, config)
        rows = source_statuses(db.conn, include_inactive=True)
    finally:
        db.conn.close()
    now = datetime.now(UTC)
    for row in rows:
        state = row.state(now)
        if as_json:
            print(
                json.dumps(
                    {
                        "id": row.id,
                        "name": row.name,
                        "url": row.url,
                        "active": row.active and not row.paused,
                        "last_success_at": row.last_success_at,
                        "last_error": row.last_error,
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
            )
        else:
            detail = f" — {row.last_error}" if row.last_error else ""
            print(f"{row.id:<20} {state:<11} {row.articles:>7} articles  {row.name}{detail}")
    return 0


def import_opml(config: Config, db_path: str, file: Path) -> int:
    """Add an OPML file's feeds as sources (stored in the database, like sources added in chat)."""
    try:
        data = file.read_bytes()
    except OSError as err:
        print(f"error: {file}: cannot read: {err.strerror}", file=sys.stderr)
        return 2
    feeds = read_opml(data, str(file))
    db = open_db(db_path)
    try:
        sync_sources(db.conn, config)
        known_urls = {row[0] for row in db.conn.execute("SELECT config_url FROM feeds")}
        taken = {row[0] for row in db.conn.execute("SELECT id FROM sources")}
        fresh = [f for f in feeds if f.url not in known_urls]
        new_sources = feeds_to_sources(fresh, taken)
        now = datetime.now(UTC)
        with transaction(db.conn):
            for source in new_sources:
                upsert_source(db.conn, source, "opml", now)
    finally:
        db.conn.close()
    print(f"{file}: {len(feeds)} feeds, {len(new_sources)} added, {len(feeds) - len(new_sources)} already known")
    for source in new_sources:
        print(f"  + {source.id}  {source.name}  {source.url}")
    return 0


def export_opml(config: Config, db_path: str, output: Path | None) -> int:
    """Write every active source as OPML."""
    db = open_db(db_path)
    try:
        sync_sources(db.conn, config)
        rows = db.conn.execute(
            """SELECT s.id, s.name, group_concat(f.url, char(10)) FROM sources s
               JOIN feeds f ON f.source_id = s.id AND f.active = 1
               WHERE s.active = 1 GROUP BY s.id ORDER BY s.id"""
        ).fetchall()
    finally:
        db.conn.close()
    text = write_opml([(r[0], r[1], r[2].split("\n")) for r in rows], config.organization.name)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def health(config: Config, db_path: str) -> int:
    """Container health: the database opens and some feed was checked within 3 poll intervals."""
    if not Path(db_path).exists():
        print(f"unhealthy: no database at {db_path} yet")
        return 1
    db = open_db(db_path)
    try:
        row = db.conn.execute("SELECT max(last_check_at), count(*) FROM feeds WHERE active = 1").fetchone()
    finally:
        db.conn.close()
    last_check, feeds = row
    if not feeds:
        print("healthy: no active feeds")
        return 0
    limit = max(3 * config.polling.interval, 1800)
    age = (datetime.now(UTC) - datetime.fromisoformat(last_check)).total_seconds() if last_check else None
    if age is None or age > limit:
        print(f"unhealthy: no feed checked in the last {int(limit)}s")
        return 1
    print(f"healthy: {feeds} feeds, last check {int(age)}s ago")
    return 0
