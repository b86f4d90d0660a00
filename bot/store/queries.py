"""Queries the services need beyond bot.store.sources: outlet lookup, chat-added sources, stats.

Writer functions (taking the writer connection) do their work and its audit row in one
transaction, so an admin action is either recorded with its effect or not at all.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.config import Source
from bot.ingest.normalize import url_key
from bot.store.access import insert_audit
from bot.store.db import transaction
from bot.store.sources import remove_source, set_paused, upsert_source


@dataclass(frozen=True, slots=True)
class OutletRow:
    """An outlet as a reader names it."""

    id: str
    name: str
    active: bool


def outlets(conn: sqlite3.Connection) -> list[OutletRow]:
    """Every outlet ever monitored, active ones first."""
    rows = conn.execute("SELECT id, name, active FROM sources ORDER BY active DESC, name COLLATE NOCASE")
    return [OutletRow(row[0], row[1], bool(row[2])) for row in rows]


def source_ids(conn: sqlite3.Connection) -> set[str]:
    """Ids in use, removed outlets included (their articles keep the id)."""
    return {row[0] for row in conn.execute("SELECT id FROM sources")}


def source_with_url(conn: sqlite3.Connection, url: str, *, active_only: bool = True) -> str | None:
    """The outlet already polling `url` (http/https and www. alike), if any."""
    key = url_key(url)
    sql = "SELECT f.source_id, f.config_url, f.url FROM feeds f JOIN sources s ON s.id = f.source_id"
    if active_only:
        sql += " WHERE s.active = 1"
    for source_id, config_url, current_url in conn.execute(sql + " ORDER BY s.active DESC, f.id"):
        if key in (url_key(config_url), url_key(current_url)):
            return source_id
    return None


def add_chat_source(conn: sqlite3.Connection, source: Source, actor_id: int, now: datetime) -> str:
    """Store an outlet added in chat, due for polling at once; returns added | exists | id_taken."""
    with transaction(conn):
        owner = source_with_url(conn, source.url)
        if owner is not None:
            return "exists"
        row = conn.execute("SELECT active FROM sources WHERE id = ?", (source.id,)).fetchone()
        # A removed outlet's id still labels its articles: only its own feed may revive it.
        if row is not None and (row[0] or source_with_url(conn, source.url, active_only=False) != source.id):
            return "id_taken"
        upsert_source(conn, source, "chat", now)
        conn.execute("UPDATE feeds SET next_check_ts = 0 WHERE source_id = ?", (source.id,))
        insert_audit(conn, actor_id, "source.add", source.id, source.url, now)
    return "added"


def pause_source(conn: sqlite3.Connection, source_id: str, paused: bool, actor_id: int, now: datetime) -> bool:
    """Pause or resume an active outlet (audited); False if no active outlet has that id."""
    action = "source.pause" if paused else "source.resume"
    with transaction(conn):
        row = conn.execute("SELECT active FROM sources WHERE id = ?", (source_id,)).fetchone()
        done = bool(row and row[0]) and set_paused(conn, source_id, paused)
        insert_audit(conn, actor_id, action, source_id, None if done else "unknown source", now)
    return done


def remove_chat_source(conn: sqlite3.Connection, source_id: str, actor_id: int, now: datetime) -> bool:
    """Stop monitoring an outlet, keeping its articles (audited); False if it was not active."""
    with transaction(conn):
        done = remove_source(conn, source_id)
        insert_audit(conn, actor_id, "source.remove", source_id, None if done else "unknown source", now)
    return done


def audit(
    conn: sqlite3.Connection,
    actor_id: int | None,
    action: str,
    target: str | None,
    detail: str | None,
    now: datetime,
) -> None:
    """Append one audit row (autocommit)."""
    insert_audit(conn, actor_id, action, target, detail, now)


def archive_stats(conn: sqlite3.Connection, now_ts: int) -> dict[str, int | str]:
    """Counts for /stats: articles (all, last 24 h), outlets by health, database size."""
    articles, last_day, newest = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE published_ts >= ?), max(published_at) FROM articles",
        (now_ts - 86400,),
    ).fetchone()
    active, paused = conn.execute(
        "SELECT count(*) FILTER (WHERE active = 1 AND paused = 0), count(*) FILTER (WHERE paused = 1) FROM sources"
    ).fetchone()
    failing = conn.execute(
        """SELECT count(DISTINCT f.source_id) FROM feeds f JOIN sources s ON s.id = f.source_id
           WHERE s.active = 1 AND s.paused = 0 AND f.active = 1 AND f.consecutive_failures > 0"""
    ).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return {
        "articles": articles,
        "articles_24h": last_day,
        "newest_article_at": newest or "",
        "sources_active": active,
        "sources_failing": failing,
        "sources_paused": paused,
        "db_bytes": page_size * pages,
    }
