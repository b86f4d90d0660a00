"""Users who asked for access, their language preference, refusals sent, and the audit trail.

Functions taking `conn` run on the writer connection (autocommit, see bot.store.db), except
the readers (`user_status`, `get_user`, `users_page`, `last_refusal`, `count_users`,
`get_language`, `recent_audit`), which any connection may run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.db import iso_utc, transaction
from bot.store.sources import now_iso
from bot.textnorm import encodable

PENDING, APPROVED, DENIED = "pending", "approved", "denied"
STATUSES = (PENDING, APPROVED, DENIED)
REFUSAL_GAP = timedelta(hours=1)  # one refusal an hour per chat: a stranger's flood costs one message
_USER_COLUMNS = "id, status, name, username, requested_at, decided_by, decided_at"


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user known to the access table."""

    id: int
    status: str
    name: str | None
    username: str | None
    requested_at: str | None
    decided_by: int | None
    decided_at: str | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One recorded admin action."""

    id: int
    at: str
    actor_id: int | None
    action: str
    target: str | None
    detail: str | None


def user_status(conn: sqlite3.Connection, user_id: int) -> str | None:
    """pending | approved | denied, or None for a user never seen."""
    row = conn.execute("SELECT status FROM users WHERE id = ?", (user_id,)).fetchone()
    return row[0] if row else None


def get_user(conn: sqlite3.Connection, user_id: int) -> UserRow | None:
    """The user's row, if any."""
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return UserRow(*row) if row else None


def users_with_status(conn: sqlite3.Connection, status: str) -> list[UserRow]:
    """Users in one state, oldest request first (for an admin's pending list)."""
    return users_page(conn, status, 0, -1)


def users_page(conn: sqlite3.Connection, status: str, offset: int, limit: int) -> list[UserRow]:
    """One page of the users in a state: pending oldest request first, decided newest decision first."""
    order = "requested_at, id" if status == PENDING else "decided_at DESC, id DESC"
    rows = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM users WHERE status = ? ORDER BY {order} LIMIT ? OFFSET ?",
        (status, limit, offset),
    )
    return [UserRow(*row) for row in rows]


def last_refusal(conn: sqlite3.Connection, chat_id: int) -> str | None:
    """When this chat was last sent a refusal (ISO UTC), if ever."""
    row = conn.execute("SELECT refused_at FROM refusals WHERE chat_id = ?", (chat_id,)).fetchone()
    return row[0] if row else None


def refusal_due(last: str | None, now: datetime) -> bool:
    """A chat refused at `last` may be refused again at `now` (one refusal per REFUSAL_GAP)."""
    return last is None or last <= iso_utc(now - REFUSAL_GAP)


def note_refusal(conn: sqlite3.Connection, chat_id: int, now: datetime) -> bool:
    """Claim this hour's refusal for a chat; False when one was sent within the hour.

    Rows older than the gap say nothing any more and are dropped here, so the table holds
    at most the chats refused within the last hour.
    """
    with transaction(conn):
        if not refusal_due(last_refusal(conn, chat_id), now):
            return False
        conn.execute("DELETE FROM refusals WHERE refused_at <= ?", (iso_utc(now - REFUSAL_GAP),))
        conn.execute("INSERT OR REPLACE INTO refusals (chat_id, refused_at) VALUES (?, ?)", (chat_id, now_iso(now)))
    return True


def ask_again(
    conn: sqlite3.Connection, user_id: int, name: str, username: str | None, now: datetime, cooldown: timedelta
) -> bool:
    """Note a stranger's message as an access request; True when admins are to be asked.

    They are asked for someone never seen, and for someone denied (or revoked) at least
    `cooldown` ago, who becomes pending again; a pending user or one denied more recently
    only has the name refreshed.
    """
    with transaction(conn):
        user = get_user(conn, user_id)
        again = user is not None and user.status == DENIED and (user.decided_at or "") <= iso_utc(now - cooldown)
        if user is not None and not again:
            conn.execute("UPDATE users SET name = ?, username = ? WHERE id = ?", (name, username, user_id))
            return False
        conn.execute(
            """INSERT INTO users (id, status, name, username, requested_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET status = excluded.status, name = excluded.name,
                   username = excluded.username, requested_at = excluded.requested_at""",
            (user_id, PENDING, name, username, now_iso(now)),
        )
        if again:
            insert_audit(conn, user_id, "user.asked_again", str(user_id), None, now)
        return True


def record_decision(
    conn: sqlite3.Connection, admin_id: int, user_id: int, status: str, now: datetime, action: str | None = None
) -> bool:
    """Store approved/denied with its audit row (`action`, default user.STATUS) in one transaction;
    False if it was already so."""
    stamp = now_iso(now)
    with transaction(conn):
        if user_status(conn, user_id) == status:
            return False
        conn.execute(
            """INSERT INTO users (id, status, decided_by, decided_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                   decided_by = excluded.decided_by, decided_at = excluded.decided_at""",
            (user_id, status, admin_id, stamp),
        )
        insert_audit(conn, admin_id, action or f"user.{status}", str(user_id), None, now)
    return True


def count_users(conn: sqlite3.Connection) -> dict[str, int]:
    """How many users are in each state (every state present, zero if none)."""
    counts = {PENDING: 0, APPROVED: 0, DENIED: 0}
    for status, count in conn.execute("SELECT status, count(*) FROM users GROUP BY status"):
        counts[status] = count
    return counts


def get_language(conn: sqlite3.Connection, user_id: int) -> str | None:
    """The language the user chose, if any."""
    row = conn.execute("SELECT language FROM user_prefs WHERE user_id = ?", (user_id,)).fetchone()
    return row[0] if row else None


def set_language(conn: sqlite3.Connection, user_id: int, language: str) -> None:
    """Remember the user's language."""
    conn.execute(
        """INSERT INTO user_prefs (user_id, language) VALUES (?, ?)
           ON CONFLICT (user_id) DO UPDATE SET language = excluded.language""",
        (user_id, language),
    )


def insert_audit(
    conn: sqlite3.Connection,
    actor_id: int | None,
    action: str,
    target: str | None,
    detail: str | None,
    now: datetime,
) -> int:
    """Append one audit row; returns its id.

    Target and detail quote what a chat sent (a command, a button's data), which may hold lone
    surrogates SQLite cannot encode: the row must be written all the same.
    """
    cursor = conn.execute(
        "INSERT INTO audit (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (now_iso(now), actor_id, action, _storable(target), _storable(detail)),
    )
    return int(cursor.lastrowid or 0)


def _storable(text: str | None) -> str | None:
    return None if text is None else encodable(text)


def recent_audit(conn: sqlite3.Connection, limit: int = 50, offset: int = 0) -> list[AuditRow]:
    """The newest audit rows first."""
    rows = conn.execute(
        "SELECT id, at, actor_id, action, target, detail FROM audit ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
    )
    return [AuditRow(*row) for row in rows]
