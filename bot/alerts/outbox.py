"""The outbox: every message the bot owes a chat, as a row before it is a Telegram message.

Rows are written inside the transaction that causes them (alerts inside the one that stores
the articles), so a crash keeps the article and its alerts or neither. Kinds:

    alert    one subscription matched one newly stored article (one per chat and article,
             and one per chat and story: later outlets of the story go to `outbox_also`)
    edit     re-render a sent alert whose "also in: …" line grew (at most one pending per alert)
    <other>  a prepared message (digest, notice, …): HTML parts, exactly once per dedup_key

States: pending → sent; pending → failed (given up: 400 three times, or the chat blocked the
bot; `last_error` says why); pending → skipped (its subscription was muted or deleted, or its chat
lost access, before it went out). Delivery (bot.alerts.delivery) reads and marks rows; nothing
else changes them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

ALERT, EDIT = "alert", "edit"
PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
STATES = (PENDING, SENT, FAILED, SKIPPED)
MAX_PART_CHARS = 4096  # Telegram's limit for one message's text
MAX_PARTS = 20  # a digest of more would be a flood, not a digest
REASON_BLOCKED = "blocked"  # 403: the bot was blocked or removed


@dataclass(frozen=True, slots=True)
class AlertMatch:
    """One subscription matched one newly stored article (None: a warning pushed to an admin)."""

    subscription_id: int | None
    chat_id: int
    thread_id: int | None  # forum topic, None for none
    article_id: int


def enqueue_alerts(conn: sqlite3.Connection, matches: Sequence[AlertMatch], *, now: float | None = None) -> int:
    """Turn matches into outbox rows; call inside the store transaction. Returns alerts added.

    A chat gets one alert per story: a match for a story the chat already has an alert for
    joins that alert's "also in" outlets (and, if the alert was sent, queues one edit).
    Chats blocked by a 403 get nothing.
    """
    if not matches:
        return 0
    created = _now(now)
    info = _article_info(conn, {m.article_id for m in matches})
    blocked = _blocked_among(conn, {m.chat_id for m in matches})
    added = 0
    # Oldest article first: the story's first outlet is the alert, later ones are "also in".
    for match in sorted(matches, key=lambda m: (m.article_id, m.subscription_id or 0)):
        if match.chat_id in blocked or match.article_id not in info:
            continue
        story_id, source_id = info[match.article_id]
        cursor = conn.execute(
            """INSERT OR IGNORE INTO outbox
                   (kind, chat_id, thread_id, subscription_id, article_id, story_id, created_ts)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (ALERT, match.chat_id, match.thread_id, match.subscription_id, match.article_id, story_id, created),
        )
        if cursor.rowcount:
            added += 1
        else:
            _join_story(conn, match, story_id, source_id, created)
    return added


def _article_info(conn: sqlite3.Connection, article_ids: set[int]) -> dict[int, tuple[int, str]]:
    """article id → (story id, source id); an article without a story is its own story."""
    out: dict[int, tuple[int, str]] = {}
    ids = sorted(article_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for article_id, story_id, source_id in conn.execute(
            f"SELECT id, coalesce(story_id, id), source_id FROM articles WHERE id IN ({marks})", chunk
        ):
            out[article_id] = (story_id, source_id)
    return out


def _blocked_among(conn: sqlite3.Connection, chat_ids: set[int]) -> set[int]:
    if not conn.execute("SELECT 1 FROM outbox_blocked_chats LIMIT 1").fetchone():
        return set()  # the usual case: one cheap probe instead of a lookup per chat
    return {
        c for c in chat_ids if conn.execute("SELECT 1 FROM outbox_blocked_chats WHERE chat_id = ?", (c,)).fetchone()
    }


def _join_story(conn: sqlite3.Connection, match: AlertMatch, story_id: int, source_id: str, now: float) -> None:
    """Add the article to the chat's alert for its story; queue an edit if that adds an outlet to a sent alert."""
    row = conn.execute(
        """SELECT o.id, o.article_id, o.status, a.source_id FROM outbox o JOIN articles a ON a.id = o.article_id
           WHERE o.kind = ? AND o.chat_id = ? AND o.story_id = ?""",
        (ALERT, match.chat_id, story_id),
    ).fetchone()
    if row is None:
        return
    alert_id, first_article, status, first_source = row
    if first_article == match.article_id:
        return  # the same article matched again (another subscription of the chat)
    known = (
        source_id == first_source
        or conn.execute(
            "SELECT 1 FROM outbox_also WHERE alert_id = ? AND source_id = ?", (alert_id, source_id)
        ).fetchone()
    )
    conn.execute(
        "INSERT OR IGNORE INTO outbox_also (alert_id, article_id, source_id) VALUES (?, ?, ?)",
        (alert_id, match.article_id, source_id),
    )
    if status == SENT and not known:
        # A pending alert is rendered with every outlet when it is sent; a sent one is edited.
        queue_edit(conn, match.chat_id, match.thread_id, alert_id, now)


def queue_edit(conn: sqlite3.Connection, chat_id: int, thread_id: int | None, alert_id: int, now: float) -> None:
    """Re-render a sent alert; one pending edit per alert (it renders whatever is current when sent)."""
    conn.execute(
        "INSERT OR IGNORE INTO outbox (kind, chat_id, thread_id, alert_id, created_ts) VALUES (?, ?, ?, ?, ?)",
        (EDIT, chat_id, thread_id, alert_id, now),
    )


def enqueue_message(
    conn: sqlite3.Connection,
    chat_id: int,
    thread_id: int | None,
    kind: str,
    parts: Sequence[str],
    dedup_key: str | None,
    *,
    now: float | None = None,
    subscription_id: int | None = None,
) -> bool:
    """Queue a prepared message (HTML parts, each ≤ 4,096 characters); False if dedup_key was queued before.

    Exactly once per dedup_key: digests (`digest:<sub>:<date>`), notices, warnings. ValueError
    for a kind reserved to alerts, no parts, too many or too long parts. A chat blocked by a
    403 gets nothing (False). `subscription_id` (a digest's): delivery checks, just before
    sending, that the subscription's chat may still receive.
    """
    if kind in (ALERT, EDIT) or not kind:
        raise ValueError(f"kind {kind!r} is reserved for alerts")
    if not parts or len(parts) > MAX_PARTS:
        raise ValueError(f"a message has 1 to {MAX_PARTS} parts, not {len(parts)}")
    if any(not part or len(part) > MAX_PART_CHARS for part in parts):
        raise ValueError(f"every part must have 1 to {MAX_PART_CHARS} characters")
    if _blocked_among(conn, {chat_id}):
        return False
    cursor = conn.execute(
        """INSERT OR IGNORE INTO outbox (kind, chat_id, thread_id, dedup_key, parts, created_ts, subscription_id)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (kind, chat_id, thread_id, dedup_key, json.dumps(list(parts), ensure_ascii=False), _now(now), subscription_id),
    )
    return bool(cursor.rowcount)


def unblock_chat(conn: sqlite3.Connection, chat_id: int) -> bool:
    """Deliver to this chat again (it subscribed or resumed after a 403); True if it was blocked."""
    return bool(conn.execute("DELETE FROM outbox_blocked_chats WHERE chat_id = ?", (chat_id,)).rowcount)


def move_chat_rows(conn: sqlite3.Connection, old_id: int, new_id: int) -> int:
    """The chat has a new id (a group became a supergroup): its pending rows and a 403 mark move there.

    Call inside the transaction that moves its subscriptions. A row the new chat has already
    (the same article or story, queued there meanwhile) cannot move: it is skipped, not sent
    twice. Returns the rows moved.
    """
    moved = conn.execute(
        "UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ? AND status = ?", (new_id, old_id, PENDING)
    ).rowcount
    conn.execute(
        "UPDATE outbox SET status = ?, last_error = ? WHERE chat_id = ? AND status = ?",
        (SKIPPED, f"queued in chat {new_id} already", old_id, PENDING),
    )
    conn.execute(
        """INSERT OR IGNORE INTO outbox_blocked_chats (chat_id, reason, blocked_ts)
           SELECT ?, reason, blocked_ts FROM outbox_blocked_chats WHERE chat_id = ?""",
        (new_id, old_id),
    )
    conn.execute("DELETE FROM outbox_blocked_chats WHERE chat_id = ?", (old_id,))
    return moved


def _now(now: float | None) -> float:
    return time.time() if now is None else now
