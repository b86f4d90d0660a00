"""Reading and marking outbox rows: what delivery needs from the database, one short query each.

Every mark is its own committed transaction, made right after Telegram answered: that is
what bounds the duplicates a crash can cause (see bot.alerts.delivery).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from bot.alerts.outbox import ALERT, EDIT, FAILED, PENDING, REASON_BLOCKED, SENT, STATES, enqueue_message, queue_edit
from bot.search.snippets import marked_snippet, plain_snippet
from bot.search.types import MARK_END, MARK_START
from bot.store.db import transaction


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A pending row, as the scheduler sees it."""

    id: int
    kind: str
    chat_id: int
    thread_id: int | None
    attempts: int
    next_attempt_ts: float


@dataclass(frozen=True, slots=True)
class AlertView:
    """Everything an alert is rendered from, read at send time."""

    row_id: int
    subscription_id: int | None  # None: a warning pushed to an admin (no subscription to mute)
    subscription_label: str
    article_id: int
    title: str
    url: str
    snippet: str  # marks from bot.search.types (MARK_START … MARK_END) around the match
    source_name: str
    published_ts: int
    undated: bool
    also: tuple[str, ...]  # other outlets of the story that matched this chat, in order
    message_id: int | None  # the sent message (edits)
    live: bool  # its subscription still exists, active and not paused (muted)
    language: str | None  # the subscription's, else the chat's stored choice (None: the organization's)
    warning_term: str | None = None  # the article names the organization with this warning term


def pending_rows(conn: sqlite3.Connection, after_id: int = 0, limit: int = 5000) -> list[OutboxRow]:
    """Pending rows with id > after_id, oldest first."""
    cursor = conn.execute(
        """SELECT id, kind, chat_id, thread_id, attempts, next_attempt_ts FROM outbox
           WHERE status = ? AND id > ? ORDER BY id LIMIT ?""",
        (PENDING, after_id, limit),
    )
    return [OutboxRow(*row) for row in cursor]


def pending_in_chat(conn: sqlite3.Connection, chat_id: int) -> set[int]:
    """The ids of a chat's pending rows."""
    cursor = conn.execute("SELECT id FROM outbox WHERE status = ? AND chat_id = ?", (PENDING, chat_id))
    return {row_id for (row_id,) in cursor}


def message_parts(conn: sqlite3.Connection, row_id: int) -> tuple[list[str], int]:
    """A prepared message's HTML parts and how many of them were sent already."""
    parts, sent = conn.execute("SELECT parts, parts_sent FROM outbox WHERE id = ?", (row_id,)).fetchone()
    return json.loads(parts), sent


def mark_sent(
    conn: sqlite3.Connection, row_id: int, now: float, *, message_id: int | None = None, also: int = 0
) -> None:
    """Telegram accepted the row; for an alert (or its edit) rendered with `also` outlets, queue an
    edit if more outlets joined the story while it was on its way."""
    with transaction(conn):
        kind, alert_id, chat_id, thread_id = conn.execute(
            "SELECT kind, alert_id, chat_id, thread_id FROM outbox WHERE id = ?", (row_id,)
        ).fetchone()
        conn.execute(
            "UPDATE outbox SET status = ?, sent_ts = ?, message_id = coalesce(?, message_id), last_error = NULL "
            "WHERE id = ?",
            (SENT, now, message_id, row_id),
        )
        if kind == ALERT:
            alert_id = row_id
        if kind in (ALERT, EDIT):
            conn.execute("UPDATE outbox SET rendered_also = ? WHERE id = ?", (also, alert_id))
            if also_outlets(conn, alert_id) > also:
                queue_edit(conn, chat_id, thread_id, alert_id, now)


def mark_part_sent(conn: sqlite3.Connection, row_id: int, parts_sent: int) -> None:
    """One more part of a multi-part message went out (a crash resends at most that one part)."""
    with transaction(conn):
        conn.execute("UPDATE outbox SET parts_sent = ? WHERE id = ?", (parts_sent, row_id))


def also_outlets(conn: sqlite3.Connection, alert_id: int) -> int:
    """How many other outlets joined the alert's story (what "also in" lists)."""
    return conn.execute(
        """SELECT count(DISTINCT x.source_id) FROM outbox_also x JOIN outbox o ON o.id = x.alert_id
           JOIN articles a ON a.id = o.article_id WHERE x.alert_id = ? AND x.source_id != a.source_id""",
        (alert_id,),
    ).fetchone()[0]


def mark_retry(conn: sqlite3.Connection, row_id: int, next_ts: float, error: str, *, attempt: bool = True) -> int:
    """Try the row again at `next_ts`; returns its attempts so far (`attempt`: this one counts)."""
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET attempts = attempts + ?, next_attempt_ts = ?, last_error = ? WHERE id = ?",
            (int(attempt), next_ts, error[:500], row_id),
        )
        return conn.execute("SELECT attempts FROM outbox WHERE id = ?", (row_id,)).fetchone()[0]


def mark_failed(conn: sqlite3.Connection, row_id: int, error: str, *, status: str = FAILED) -> None:
    """Give the row up (FAILED, or SKIPPED); it stays for `mediabot outbox` and never blocks the queue."""
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            (status, error[:500], row_id),
        )


def block_chat(conn: sqlite3.Connection, chat_id: int, error: str, now: float) -> int:
    """403: nothing more goes to this chat; its pending rows fail and its subscriptions pause.

    Returns how many subscriptions were paused (bot.alerts.subscriptions.welcome_back undoes
    both when the chat subscribes or resumes again).
    """
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO outbox_blocked_chats (chat_id, reason, blocked_ts) VALUES (?, ?, ?)",
            (chat_id, REASON_BLOCKED, now),
        )
        conn.execute(
            "UPDATE outbox SET status = ?, last_error = ? WHERE chat_id = ? AND status = ?",
            (FAILED, f"{REASON_BLOCKED}: {error}"[:500], chat_id, PENDING),
        )
        return conn.execute(
            "UPDATE subscriptions SET paused = 1, paused_reason = ? WHERE chat_id = ? AND paused = 0",
            (REASON_BLOCKED, chat_id),
        ).rowcount


def alert_view(conn: sqlite3.Connection, alert_id: int, match: str | None = None) -> AlertView | None:
    """What the alert `alert_id` shows now (None when its article is gone); `match` marks the snippet.

    `match` is the subscription's compiled FTS MATCH string (bot.saved_queries), None for none.
    """
    sub_columns = {row[1] for row in conn.execute("PRAGMA table_info(subscriptions)")}
    label = "coalesce(nullif(s.label, ''), s.query)" if "label" in sub_columns else "s.query"
    live = "o.subscription_id IS NULL OR (s.active = 1" + (" AND s.paused = 0)" if "paused" in sub_columns else ")")
    language = "coalesce(s.language, p.language)" if "language" in sub_columns else "p.language"
    row = conn.execute(
        f"""SELECT o.subscription_id, coalesce({label}, ''), a.id, a.title, a.url, a.summary,
                   coalesce(src.name, a.source_id), a.published_ts, a.undated, o.message_id,
                   coalesce({live}, 0), {language}, {_warning_column(conn)}
            FROM outbox o JOIN articles a ON a.id = o.article_id
            LEFT JOIN subscriptions s ON s.id = o.subscription_id LEFT JOIN sources src ON src.id = a.source_id
            LEFT JOIN user_prefs p ON p.user_id = o.chat_id
            WHERE o.id = ? AND o.kind = ?""",
        (alert_id, ALERT),
    ).fetchone()
    if row is None:
        return None
    sub_id, label_text, article_id, title, url, summary, source, published_ts, undated, message_id, is_live = row[:11]
    lang, term = row[11:]
    return AlertView(
        row_id=alert_id,
        subscription_id=sub_id,
        subscription_label=label_text,
        article_id=article_id,
        title=title,
        url=url,
        snippet=_snippet(conn, article_id, title, summary, match),
        source_name=source,
        published_ts=published_ts,
        undated=bool(undated),
        also=_also_names(conn, alert_id),
        message_id=message_id,
        live=bool(is_live),
        language=lang,
        warning_term=term,
    )


def _warning_column(conn: sqlite3.Connection) -> str:
    """The article's warning term (bot.alerts.department_news), if the table exists yet."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'organization_articles'").fetchone()
    return "(SELECT warning_term FROM organization_articles WHERE article_id = a.id)" if has else "NULL"


def _also_names(conn: sqlite3.Connection, alert_id: int) -> tuple[str, ...]:
    rows = conn.execute(
        """SELECT coalesce(src.name, x.source_id) FROM outbox_also x JOIN outbox o ON o.id = x.alert_id
           JOIN articles a ON a.id = o.article_id LEFT JOIN sources src ON src.id = x.source_id
           WHERE x.alert_id = ? AND x.source_id != a.source_id GROUP BY x.source_id ORDER BY min(x.article_id)""",
        (alert_id,),
    )
    return tuple(name for (name,) in rows)


def _snippet(conn: sqlite3.Connection, article_id: int, title: str, summary: str, match: str | None) -> str:
    """The article's text around the match, marked (bot.search.snippets), or its opening."""
    if match:
        marked = conn.execute(
            """SELECT highlight(articles_fts, 1, ?, ?), highlight(articles_fts, 3, ?, ?) FROM articles_fts
               WHERE articles_fts MATCH ? AND rowid = ?""",
            (MARK_START, MARK_END, MARK_START, MARK_END, match, article_id),
        ).fetchone()
        if marked:
            found = marked_snippet(summary, marked[0], marked[1], title=title)
            if found:
                return found
    return plain_snippet(summary, title)


def edit_target(conn: sqlite3.Connection, edit_id: int) -> int | None:
    """The alert an edit row re-renders."""
    row = conn.execute("SELECT alert_id FROM outbox WHERE id = ?", (edit_id,)).fetchone()
    return row[0] if row else None


def row_subscription(conn: sqlite3.Connection, row_id: int) -> int | None:
    """The subscription a row serves: an alert's or digest's own, an edit's alert's; None for a notice."""
    row = conn.execute(
        """SELECT coalesce(o.subscription_id, a.subscription_id) FROM outbox o
           LEFT JOIN outbox a ON a.id = o.alert_id WHERE o.id = ?""",
        (row_id,),
    ).fetchone()
    return row[0] if row else None


def enqueue_notice(conn: sqlite3.Connection, chat_id: int, html: str, dedup_key: str) -> bool:
    """A one-part notice (e.g. to an admin), in its own transaction; exactly once per key."""
    with transaction(conn):
        return enqueue_message(conn, chat_id, None, "notice", [html], dedup_key)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """`mediabot outbox` and /stats: rows per state and kind, the oldest wait, blocked chats."""

    states: dict[str, dict[str, int]]  # state → kind (alert, edit, digest, …) → rows
    oldest_pending_s: float | None  # how long the oldest pending row has waited
    blocked_chats: tuple[tuple[int, float], ...]  # (chat id, blocked at, Unix s), newest first
    subscriptions: int  # active subscriptions (paused ones excluded)
    paused_subscriptions: int

    def total(self, state: str) -> int:
        """Rows in one state, all kinds together."""
        return sum(self.states.get(state, {}).values())


def outbox_stats(conn: sqlite3.Connection, now: float) -> OutboxStats:
    """Counts for operators; read-only, one pass over the outbox's status index."""
    states: dict[str, dict[str, int]] = {state: {} for state in STATES}
    for state, kind, n in conn.execute("SELECT status, kind, count(*) FROM outbox GROUP BY status, kind"):
        states.setdefault(state, {})[kind] = n
    oldest = conn.execute("SELECT min(created_ts) FROM outbox WHERE status = ?", (PENDING,)).fetchone()[0]
    blocked = tuple(conn.execute("SELECT chat_id, blocked_ts FROM outbox_blocked_chats ORDER BY blocked_ts DESC"))
    columns = {row[1] for row in conn.execute("PRAGMA table_info(subscriptions)")}
    paused = "paused = 1" if "paused" in columns else "0"
    active, paused_n = conn.execute(
        f"SELECT coalesce(sum(NOT ({paused})), 0), coalesce(sum({paused}), 0) FROM subscriptions WHERE active = 1"
    ).fetchone()
    return OutboxStats(states, None if oldest is None else max(0.0, now - oldest), blocked, active, paused_n)


def alert_stats(stats: OutboxStats) -> dict[str, int | str]:
    """The /stats figures of subscriptions and the outbox."""
    oldest = stats.oldest_pending_s
    return {
        "subscriptions": stats.subscriptions,
        "subscriptions_paused": stats.paused_subscriptions,
        "outbox_pending": stats.total(PENDING),
        "outbox_sent": stats.total(SENT),
        "outbox_failed": stats.total(FAILED),
        "outbox_oldest_s": 0 if oldest is None else int(oldest),
        "chats_blocked": len(stats.blocked_chats),
    }
