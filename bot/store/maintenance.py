"""Operators' storage work: online backup, retention pruning, and the counts behind `mediabot stats`.

A backup is SQLite's online backup of one read snapshot (WAL: the writer carries on meanwhile),
written to a temporary file beside the target and renamed, so a reader of PATH never sees half
a copy. Pruning deletes an article with everything hanging off it, a bounded batch per
transaction, so `mediabot run`'s writer is never held for long.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path

from bot.errors import MediabotError
from bot.store.connection import transaction

PRUNE_BATCH = 500  # articles per transaction: writer time median 0.14-0.19 s, max ~0.5 s at 100k (bench/ops.py)


class BackupError(MediabotError):
    """The backup could not be written; str(err) is one line."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int
    articles: int


def backup(source: sqlite3.Connection, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the database behind `source` to `target` (0600), consistent as of one moment."""
    if target.is_dir():
        raise BackupError(f"{target}: is a folder; give the backup's file name")
    if target.exists() and not force:
        raise BackupError(f"{target}: exists already (add --force to replace it)")
    if not target.parent.is_dir():
        raise BackupError(f"{target}: no such folder: {target.parent}")
    try:
        # A new file with a name nobody can guess (O_EXCL, 0600): a file or symlink planted in the
        # folder beforehand can neither lend the backup its mode nor receive the copy.
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise BackupError(f"{target}: cannot write the backup: {err.strerror or err}") from None
    os.close(fd)
    temp = Path(name)
    try:
        with closing(sqlite3.connect(temp, isolation_level=None)) as copy:
            source.backup(copy)  # all pages in one step: one read snapshot, never a mix of two
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
            articles = copy.execute("SELECT count(*) FROM articles").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{target}: the copy failed its check: {check}")
        _fsync(temp)
        os.replace(temp, target)
    except sqlite3.Error as err:
        raise BackupError(f"{target}: cannot write the backup: {err}") from None
    except OSError as err:
        raise BackupError(f"{target}: cannot write the backup: {err.strerror or err}") from None
    finally:
        with suppress(FileNotFoundError):
            temp.unlink()
    return BackupResult(target, target.stat().st_size, articles)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune_batch(conn: sqlite3.Connection, cutoff_ts: int, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` articles both published and first seen before `cutoff_ts`; how many.

    Both times: an article first seen within the window is kept whatever date it claims, so a
    feed still listing an old item does not have it pruned and stored (and alerted) again daily.
    Articles an alert still waits to be sent about are kept until it is sent.
    """
    with transaction(conn):
        ids = [
            row[0]
            for row in conn.execute(
                # The pending rows are read once, through their partial index.
                """SELECT id FROM articles
                   WHERE published_ts < ? AND fetched_ts < ?
                     AND id NOT IN (SELECT article_id FROM outbox WHERE status = 'pending' AND article_id IS NOT NULL)
                   ORDER BY published_ts LIMIT ?""",
                (cutoff_ts, cutoff_ts, limit),
            )
        ]
        if ids:
            _delete_articles(conn, ids)
    return len(ids)


def _delete_articles(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """The articles, their FTS rows, their sent alerts and stories left without any article.

    campaign_articles, organization_articles, digest_items (and an alert's edits and `also`
    rows) go with them through ON DELETE CASCADE."""
    marks = ",".join("?" * len(ids))
    stories = [r[0] for r in conn.execute(f"SELECT DISTINCT story_id FROM articles WHERE id IN ({marks})", ids)]
    conn.execute(f"DELETE FROM articles_fts WHERE rowid IN ({marks})", ids)
    conn.execute(f"DELETE FROM outbox_also WHERE article_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM outbox WHERE article_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids)
    story_marks = ",".join("?" * len(stories))
    conn.execute(
        f"""DELETE FROM stories WHERE id IN ({story_marks})
            AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.id)""",
        stories,
    )


@dataclass(frozen=True, slots=True)
class ArchiveCounts:
    total: int
    oldest_ts: int | None
    newest_ts: int | None
    per_day: tuple[tuple[str, int], ...]  # (local YYYY-MM-DD, articles published that day), days with any
    per_source: tuple[tuple[str, str, int, int], ...]  # (id, name, articles, of them in the window)


def archive_counts(conn: sqlite3.Connection, since_ts: int, utc_offset_s: int) -> ArchiveCounts:
    """Articles in all, per local day since `since_ts`, and per source (all time and since then)."""
    total, oldest, newest = conn.execute(
        "SELECT count(*), min(published_ts), max(published_ts) FROM articles"
    ).fetchone()
    per_day = conn.execute(
        """SELECT date(published_ts + ?, 'unixepoch') AS day, count(*) FROM articles
           WHERE published_ts >= ? GROUP BY day ORDER BY day""",
        (utc_offset_s, since_ts),
    ).fetchall()
    per_source = conn.execute(
        """SELECT s.id, s.name, count(a.id), count(a.id) FILTER (WHERE a.published_ts >= ?)
           FROM sources s LEFT JOIN articles a ON a.source_id = s.id
           GROUP BY s.id ORDER BY count(a.id) DESC, s.id""",
        (since_ts,),
    ).fetchall()
    return ArchiveCounts(total, oldest, newest, tuple(map(tuple, per_day)), tuple(map(tuple, per_source)))


def database_size(path: str | Path) -> tuple[int, int]:
    """(bytes of the database file, bytes of its -wal file); 0 for a missing one."""
    sizes = []
    for file in (Path(path), Path(f"{path}-wal")):
        try:
            sizes.append(file.stat().st_size)
        except OSError:
            sizes.append(0)
    return sizes[0], sizes[1]
