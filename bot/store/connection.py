"""SQLite connections: WAL, bounded waits for another process's write lock, owner-only files.

Every write goes through `transaction`, the one place where a lock held by another process
(DatabaseLocked after busy_timeout) and a full disk (DatabaseFull, rolled back whole) become
one-line errors instead of a bare "database is locked" traceback.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bot.errors import DatabaseFull, DatabaseLocked

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0  # feeds.yaml `busy_timeout`: how long a command waits for another process's write lock
_LOCK_WARNING_EVERY_S = 60.0


class Connection(sqlite3.Connection):
    """A connection that knows how long to wait for the write lock, and the file it is on.

    `patient`: `mediabot run`'s writer retries BEGIN for as long as another process holds the
    lock (an operator's sqlite3 shell, a long import), so no article is dropped meanwhile; every
    other connection gives up after its busy timeout with DatabaseLocked.
    """

    busy_timeout: float = BUSY_TIMEOUT_S
    patient: bool = False  # Runtime.aclose clears it, so a shutdown never waits for ever
    path: str = ""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error (connections here are in autocommit).

    DatabaseLocked when another process holds the write lock too long; DatabaseFull when the
    disk (or the file's size limit) is full, after the rollback, so nothing is half-stored."""
    _begin(conn)
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(err, sqlite3.OperationalError) and _is_full(err):
            raise DatabaseFull(f"{_name(conn)}: the disk is full ({err}); nothing was half-stored") from None
        raise


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting busy_timeout per attempt; a patient connection retries for ever."""
    waited_since = time.monotonic()
    next_warning = 0.0
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as err:
            if not _is_locked(err):
                raise
            waited = time.monotonic() - waited_since
            if not getattr(conn, "patient", False):
                raise DatabaseLocked(
                    f"{_name(conn)}: the database is locked by another process (waited {waited:.0f}s); "
                    "try again when it has finished"
                ) from None
            if waited >= next_warning:
                next_warning = waited + _LOCK_WARNING_EVERY_S
                log.warning("the database is locked by another process for %.0fs; waiting for it", waited)


def _is_locked(err: sqlite3.OperationalError) -> bool:
    return getattr(err, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(err) or "busy" in str(err)
    )


def _is_full(err: sqlite3.OperationalError) -> bool:
    return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "full" in str(err)


def _name(conn: sqlite3.Connection) -> str:
    return getattr(conn, "path", "") or "the database"


def connect(path: str, *, busy_timeout: float = BUSY_TIMEOUT_S, patient: bool = False) -> Connection:
    """A read-write connection (WAL); a new database file is created owner-only (0600)."""
    if path != ":memory:" and not path.startswith("file:"):
        _create_owner_only(Path(path))
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so one article batch plus
    # its FTS rows, story links, tags and outbox rows is one transaction.
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout, factory=Connection
    )
    conn.busy_timeout, conn.patient, conn.path = busy_timeout, patient, path
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def _create_owner_only(path: Path) -> None:
    """The data folder 0700 and the database 0600 when we create them: articles are public, but the
    users, audit and subscriptions tables are not. SQLite gives -wal and -shm the database's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
