"""Sources (outlets), their feeds, and per-feed health and schedule."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.config import Config, Source
from bot.store.db import iso_utc, transaction


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as the poller needs it."""

    id: int
    source_id: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    interval_s: float | None
    consecutive_failures: int
    source_interval_s: float | None


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One outlet with its aggregated health, for `mediabot sources` and /sources."""

    id: str
    name: str
    url: str
    active: bool
    paused: bool
    origin: str
    last_success_at: str | None
    last_error: str | None
    last_error_at: str | None
    failing_since: str | None
    consecutive_failures: int
    last_new_article_at: str | None
    deactivated_reason: str | None
    articles: int
    created_at: str
    removed_by: str | None = None  # 'config': no longer in feeds.yaml; 'chat': /removesource
    urls: tuple[str, ...] = ()  # every feed of the outlet (`url` is the first), dropped ones aside

    def state(self, now: datetime, silent_after_s: float = 86400) -> str:
        """ok | failing | silent | paused | deactivated | new | removed | inactive."""
        if self.removed_by:
            return "removed"
        if self.paused:
            return "paused"
        if not self.active:  # `active: false` in feeds.yaml
            return "inactive"
        if self.deactivated_reason:  # a feed hit polling.max_failures
            return "deactivated"
        if self.consecutive_failures:
            return "failing"
        if self.last_success_at is None:
            return "new"
        reference = self.last_new_article_at or self.created_at
        if (now - datetime.fromisoformat(reference)).total_seconds() > silent_after_s:
            return "silent"
        return "ok"


def now_iso(now: datetime | None = None) -> str:
    """`now` (default: the current time) in the *_at column format."""
    return iso_utc(now or datetime.now(UTC))


def upsert_source(conn: sqlite3.Connection, source: Source, origin: str, now: datetime) -> None:
    """Create or update one outlet and its feeds (keeps health and a redirected URL)."""
    conn.execute(
        """INSERT INTO sources (id, name, tags, origin, interval_s, active, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, tags = excluded.tags,
               origin = excluded.origin, interval_s = excluded.interval_s, active = excluded.active""",
        (
            source.id,
            source.name,
            json.dumps(list(source.tags), ensure_ascii=False),
            origin,
            source.interval,
            int(source.active),
            now_iso(now),
        ),
    )
    conn.execute("DELETE FROM source_removals WHERE source_id = ?", (source.id,))  # back in the file, or re-added
    for url in source.urls:
        conn.execute("INSERT OR IGNORE INTO feeds (source_id, config_url, url) VALUES (?, ?, ?)", (source.id, url, url))
    placeholders = ",".join("?" * len(source.urls))
    conn.execute(
        f"UPDATE feeds SET active = 0 WHERE source_id = ? AND config_url NOT IN ({placeholders})",
        (source.id, *source.urls),
    )
    conn.execute(
        f"""UPDATE feeds SET active = 1 WHERE source_id = ? AND config_url IN ({placeholders})
            AND deactivated_reason IS NULL""",
        (source.id, *source.urls),
    )


def sync_sources(conn: sqlite3.Connection, config: Config, now: datetime | None = None) -> None:
    """Make the sources table match feeds.yaml; sources added in chat are left alone."""
    now = now or datetime.now(UTC)
    with transaction(conn):
        for source in config.sources:
            upsert_source(conn, source, "config", now)
        ids = [s.id for s in config.sources]
        placeholders = ",".join("?" * len(ids)) or "''"
        # Removed from the file: stop polling but keep the articles (coverage history).
        removed = f"origin = 'config' AND id NOT IN ({placeholders})"
        conn.execute(f"UPDATE sources SET active = 0 WHERE {removed}", ids)
        conn.execute(
            f"""INSERT OR IGNORE INTO source_removals (source_id, removed_by)
                SELECT id, 'config' FROM sources WHERE {removed}""",
            ids,
        )


def due_feeds(conn: sqlite3.Connection, now_ts: float | None) -> list[FeedRow]:
    """Active feeds of active, unpaused sources whose next check is due (all of them if now_ts is None)."""
    sql = """SELECT f.id, f.source_id, f.url, f.etag, f.last_modified, f.body_hash, f.interval_s,
                    f.consecutive_failures, s.interval_s
             FROM feeds f JOIN sources s ON s.id = f.source_id
             WHERE f.active = 1 AND s.active = 1 AND s.paused = 0"""
    params: tuple[float, ...] = ()
    if now_ts is not None:
        sql += " AND f.next_check_ts <= ?"
        params = (now_ts,)
    return [FeedRow(*row) for row in conn.execute(sql + " ORDER BY f.next_check_ts, f.id", params)]


def next_due_ts(conn: sqlite3.Connection) -> float | None:
    """When the earliest active feed is due next."""
    row = conn.execute(
        """SELECT min(f.next_check_ts) FROM feeds f JOIN sources s ON s.id = f.source_id
           WHERE f.active = 1 AND s.active = 1 AND s.paused = 0"""
    ).fetchone()
    return row[0]


# A feed the outlet has (polled, or stopped by max_failures); one taken out of its `urls` is not.
_LISTED_FEED = "(active = 1 OR deactivated_reason IS NOT NULL)"


def source_statuses(conn: sqlite3.Connection, include_inactive: bool = False) -> list[SourceStatus]:
    """Every outlet with health aggregated over its feeds (worst feed wins)."""
    sql = f"""
        SELECT s.id, s.name,
               (SELECT url FROM feeds WHERE source_id = s.id ORDER BY {_LISTED_FEED} DESC, id LIMIT 1),
               s.active, s.paused, s.origin,
               max(f.last_success_at),
               (SELECT last_error FROM feeds WHERE source_id = s.id AND last_error IS NOT NULL
                  AND active = 1 ORDER BY last_error_at DESC LIMIT 1),
               max(f.last_error_at), min(f.failing_since),
               coalesce(max(f.consecutive_failures), 0), max(f.last_new_article_at),
               (SELECT deactivated_reason FROM feeds WHERE source_id = s.id
                  AND deactivated_reason IS NOT NULL LIMIT 1),
               (SELECT count(*) FROM articles a WHERE a.source_id = s.id), s.created_at,
               (SELECT removed_by FROM source_removals WHERE source_id = s.id),
               (SELECT json_group_array(url) FROM
                  (SELECT url FROM feeds WHERE source_id = s.id AND {_LISTED_FEED} ORDER BY id))
        FROM sources s LEFT JOIN feeds f ON f.source_id = s.id AND f.active = 1
    """
    if not include_inactive:
        sql += " WHERE s.active = 1 OR s.paused = 1"
    sql += " GROUP BY s.id ORDER BY s.name COLLATE NOCASE"
    out = []
    for row in conn.execute(sql):
        values = list(row)
        values[3], values[4] = bool(values[3]), bool(values[4])
        values[-1] = tuple(json.loads(values[-1]))
        out.append(SourceStatus(*values))
    return out


@dataclass(frozen=True, slots=True)
class PollingHealth:
    """How polling went lately, over the active feeds of active, unpaused outlets."""

    feeds: int
    last_check_at: str | None
    checked: int  # feeds checked since the window's start
    failing: int  # of those, feeds whose latest check failed


def polling_health(conn: sqlite3.Connection, since: datetime) -> PollingHealth:
    """Feed counts for `mediabot health`: how many were checked since `since`, how many of them failed."""
    stamp = now_iso(since)  # *_at columns share one format, so strings compare as instants
    row = conn.execute(
        """SELECT count(*), max(f.last_check_at),
                  count(*) FILTER (WHERE f.last_check_at >= ?),
                  count(*) FILTER (WHERE f.last_check_at >= ? AND f.consecutive_failures > 0)
           FROM feeds f JOIN sources s ON s.id = f.source_id
           WHERE f.active = 1 AND s.active = 1 AND s.paused = 0""",
        (stamp, stamp),
    ).fetchone()
    return PollingHealth(*row)


def record_success(
    conn: sqlite3.Connection,
    feed_id: int,
    *,
    now: datetime,
    next_check_ts: float,
    interval_s: float,
    new_articles: int,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    url: str | None = None,
    title: str | None = None,
) -> None:
    """A fetch that answered 200/304: reset failures, keep validators, schedule the next check."""
    stamp = now_iso(now)
    conn.execute(
        """UPDATE feeds SET last_check_at = ?, last_success_at = ?, consecutive_failures = 0,
               failing_since = NULL, last_error = NULL, next_check_ts = ?, interval_s = ?,
               etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),
               body_hash = coalesce(?, body_hash), url = coalesce(?, url), title = coalesce(?, title),
               last_new_article_at = CASE WHEN ? > 0 THEN ? ELSE last_new_article_at END
           WHERE id = ?""",
        (
            stamp,
            stamp,
            next_check_ts,
            interval_s,
            etag,
            last_modified,
            body_hash,
            url,
            title,
            new_articles,
            stamp,
            feed_id,
        ),
    )


def record_failure(
    conn: sqlite3.Connection,
    feed_id: int,
    *,
    now: datetime,
    error: str,
    next_check_ts: float,
    deactivate: bool,
) -> None:
    """A failed fetch or parse: count it, keep the reason, back off, maybe deactivate."""
    stamp = now_iso(now)
    conn.execute(
        """UPDATE feeds SET last_check_at = ?, last_error = ?, last_error_at = ?,
               consecutive_failures = consecutive_failures + 1,
               failing_since = coalesce(failing_since, ?), next_check_ts = ?,
               active = CASE WHEN ? THEN 0 ELSE active END,
               deactivated_reason = CASE WHEN ? THEN ? ELSE deactivated_reason END
           WHERE id = ?""",
        (
            stamp,
            error[:500],
            stamp,
            stamp,
            next_check_ts,
            int(deactivate),
            int(deactivate),
            f"{error[:300]} (after repeated failures)",
            feed_id,
        ),
    )


def set_paused(conn: sqlite3.Connection, source_id: str, paused: bool) -> bool:
    """Pause or resume an outlet; False if it does not exist."""
    cursor = conn.execute("UPDATE sources SET paused = ? WHERE id = ?", (int(paused), source_id))
    if paused is False and cursor.rowcount:
        # A resumed source is polled right away, and a deactivated feed gets another chance.
        conn.execute(
            """UPDATE feeds SET next_check_ts = 0, active = 1, deactivated_reason = NULL,
                   consecutive_failures = 0 WHERE source_id = ? AND deactivated_reason IS NOT NULL""",
            (source_id,),
        )
        conn.execute("UPDATE feeds SET next_check_ts = 0 WHERE source_id = ?", (source_id,))
    return cursor.rowcount > 0


def remove_source(conn: sqlite3.Connection, source_id: str) -> bool:
    """Stop monitoring an outlet; its articles stay (coverage history)."""
    cursor = conn.execute("UPDATE sources SET active = 0, paused = 0 WHERE id = ? AND active = 1", (source_id,))
    if cursor.rowcount:
        conn.execute("INSERT OR REPLACE INTO source_removals (source_id, removed_by) VALUES (?, 'chat')", (source_id,))
    return cursor.rowcount > 0
