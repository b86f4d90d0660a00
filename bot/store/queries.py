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


@dataclass(frozen=True, slots=True)
class FeedOwner:
    """The outlet a feed URL belongs to."""

    source_id: str
    active: bool


def feed_owners(conn: sqlite3.Connection) -> dict[str, FeedOwner]:
    """Each known feed URL's outlet, by url_key of its configured and current URL; active outlets win."""
    owners: dict[str, FeedOwner] = {}
    rows = conn.execute(
        """SELECT f.source_id, s.active, f.config_url, f.url FROM feeds f JOIN sources s ON s.id = f.source_id
           ORDER BY s.active DESC, f.id"""
    )
    for source_id, active, config_url, current_url in rows:
        owner = FeedOwner(source_id, bool(active))
        owners.setdefault(url_key(config_url), owner)
        owners.setdefault(url_key(current_url), owner)
    return owners


def source_with_url(conn: sqlite3.Connection, url: str, *, active_only: bool = True) -> str | None:
    """The outlet already polling `url` (http/https, www. and tracking parameters alike), if any."""
    owner = feed_owners(conn).get(url_key(url))
    if owner is None or (active_only and not owner.active):
        return None
    return owner.source_id


class SourceAdder:
    """Adds outlets inside the caller's transaction: one duplicate key (url_key) and one id rule for all.

    `/addsource` and OPML import both go through `add`, so a feed is a duplicate, and an id is
    free, by the same test whichever way it arrives. The URL index is built once, so adding
    n feeds costs O(n + known feeds), not O(n × known feeds).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.owners = feed_owners(conn)
        self.taken = source_ids(conn)

    def know(self, source: Source) -> None:
        """Count a feeds.yaml outlet as known even before the next sync stores it."""
        self.taken.add(source.id)
        for url in source.urls:
            # Active even when the file pauses it: its id and feeds belong to the file, not to an import.
            self.owners.setdefault(url_key(url), FeedOwner(source.id, True))

    def owner(self, url: str) -> FeedOwner | None:
        """Who already has `url` (active or removed), if anyone."""
        return self.owners.get(url_key(url))

    def add(self, source: Source, origin: str, actor_id: int | None, detail: str | None, now: datetime) -> str:
        """Store an outlet due for polling at once, with its audit row; returns added | exists | id_taken."""
        owner = self.owner(source.url)
        if owner is not None and owner.active:
            return "exists"
        # A removed outlet's id still labels its articles: only its own feed may revive it.
        if source.id in self.taken and (owner is None or owner.source_id != source.id):
            return "id_taken"
        upsert_source(self.conn, source, origin, now)
        self.conn.execute("UPDATE feeds SET next_check_ts = 0 WHERE source_id = ?", (source.id,))
        insert_audit(self.conn, actor_id, "source.add", source.id, detail, now)
        self.taken.add(source.id)
        for url in source.urls:
            self.owners[url_key(url)] = FeedOwner(source.id, True)
        return "added"


def add_chat_source(conn: sqlite3.Connection, source: Source, actor_id: int, now: datetime) -> str:
    """Store an outlet added in chat, due for polling at once; returns added | exists | id_taken."""
    with transaction(conn):
        return SourceAdder(conn).add(source, "chat", actor_id, source.url, now)


def active_feed_urls(conn: sqlite3.Connection) -> list[tuple[str, str, list[str]]]:
    """(id, name, active feed URLs) of every active outlet, by id: what an OPML export lists."""
    rows = conn.execute(
        """SELECT s.id, s.name, f.url FROM sources s JOIN feeds f ON f.source_id = s.id AND f.active = 1
           WHERE s.active = 1 ORDER BY s.id, f.id"""
    )
    out: list[tuple[str, str, list[str]]] = []
    for source_id, name, url in rows:
        if not out or out[-1][0] != source_id:
            out.append((source_id, name, []))
        out[-1][2].append(url)
    return out


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
