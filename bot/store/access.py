"""Users who asked for access, their language preference, and the audit trail of admin actions.

Functions taking `conn` run on the writer connection (autocommit, see bot.store.db), except
the `*_status`/`*_language`/`count_*` readers, which any connection may run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.store.db import transaction
from bot.store.sources import now_iso

PENDING, APPROVED, DENIED = "pending", "approved", "denied"


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
    row = conn.execute(
        "SELECT id, status, name, username, requested_at, decided_by, decided_at FROM users WHERE id = ?",
        (user_id,),
    ).fetchone()
    return UserRow(*row) if row else None


def users_with_status(conn: sqlite3.Connection, status: str) -> list[UserRow]:
    """Users in one state, oldest request first (for an admin's pending list)."""
    rows = conn.execute(
        """SELECT id, status, name, username, requested_at, decided_by, decided_at FROM users
           WHERE status = ? ORDER BY requested_at, id""",
        (status,),
    )
    return [UserRow(*row) for row in rows]


def record_request(conn: sqlite3.Connection, user_id: int, name: str, username: str | None, now: datetime) -> bool:
    """Note an access request; True only for a user never seen before.

    A pending or denied user who writes again only refreshes the name, so admins
    are asked once per person, not once per message.
    """
    with transaction(conn):
        cursor = conn.execute(
            """INSERT INTO users (id, status, name, username, requested_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (user_id, PENDING, name, username, now_iso(now)),
        )
        if cursor.rowcount:
            return True
        conn.execute("UPDATE users SET name = ?, username = ? WHERE id = ?", (name, username, user_id))
        return False


def record_decision(conn: sqlite3.Connection, admin_id: int, user_id: int, status: str, now: datetime) -> bool:
    """Store approved/denied with its audit row in one transaction; False if it was already so."""
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
        insert_audit(conn, admin_id, f"user.{status}", str(user_id), None, now)
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
    """Append one audit row; returns its id."""
    cursor = conn.execute(
        "INSERT INTO audit (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (now_iso(now), actor_id, action, target, detail),
    )
    return int(cursor.lastrowid or 0)


def recent_audit(conn: sqlite3.Connection, limit: int = 50) -> list[AuditRow]:
    """The newest audit rows first."""
    rows = conn.execute("SELECT id, at, actor_id, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))
    return [AuditRow(*row) for row in rows]
