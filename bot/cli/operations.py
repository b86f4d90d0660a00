"""`mediabot backup PATH`, `mediabot prune`, `mediabot stats`: an operator's storage commands."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.services.operations import Stats, collect_stats, prune_old_articles, stats_dict
from bot.store.db import open_db, open_readonly
from bot.store.maintenance import backup

DAY_S = 86400


def backup_command(config: Config, db_path: str, target: Path, *, force: bool) -> int:
    """Copy the database, consistent while `mediabot run` writes, to `target` (0600)."""
    conn = open_readonly(db_path, busy_timeout=config.busy_timeout)
    try:
        result = backup(conn, target, force=force)
    finally:
        conn.close()
    print(f"backup written: {result.path} ({_size(result.size)}, {result.articles} articles)")
    return 0


def prune_command(config: Config, db_path: str, older_than: float | None) -> int:
    """Delete the articles older than `older_than` (default: feeds.yaml `retention`)."""
    retention = older_than or config.retention
    if retention is None:
        print("error: no retention: set `retention: 365d` in feeds.yaml or give --older-than", file=sys.stderr)
        return 2
    db = open_db(db_path, busy_timeout=config.busy_timeout)
    conn = db.conn

    async def write(func: Any, *args: Any) -> Any:
        return func(conn, *args)

    try:
        pruned = asyncio.run(prune_old_articles(write, retention, time.time()))
    finally:
        conn.close()
    print(f"pruned {pruned} articles older than {retention / DAY_S:g} days")
    return 0


def stats_command(config: Config, db_path: str, *, days: int, as_json: bool) -> int:
    """Articles per day and source, database size, outbox and subscriptions."""
    conn = open_readonly(db_path, busy_timeout=config.busy_timeout)
    try:
        stats = collect_stats(conn, config, db_path, days, datetime.now(UTC))
    finally:
        conn.close()
    print(json.dumps(stats_dict(stats), ensure_ascii=False) if as_json else "\n".join(_lines(stats, db_path)))
    return 0


def _lines(stats: Stats, db_path: str) -> list[str]:
    data = stats_dict(stats)
    articles, database = data["articles"], data["database"]
    keep = "kept for ever" if stats.retention_days is None else f"retention {stats.retention_days:g} days"
    lines = [
        f"database: {db_path} {_size(database['file_bytes'])} (+ WAL {_size(database['wal_bytes'])})",
        f"articles: {articles['total']} (oldest {_day(articles['oldest_published_at'])}, "
        f"newest {_day(articles['newest_published_at'])}); {keep}",
        f"articles per day, last {stats.days} days:",
        *(f"  {row['date']}  {row['articles']:>7}" for row in articles["per_day"]),
        f"sources (articles in all / last {stats.days} days):",
        *(f"  {s['id']:<20} {s['articles']:>8} {s['articles_in_window']:>7}  {s['name']}" for s in data["sources"]),
        "outbox: " + ", ".join(f"{state} {n}" for state, n in data["outbox"].items()),
        f"subscriptions: {data['subscriptions']['active']} active, {data['subscriptions']['paused']} paused",
    ]
    return lines


def _day(iso: str | None) -> str:
    return iso[:10] if iso else "none"


def _size(size: float) -> str:
    """`512 B`, `3.4 MB`."""
    unit = "B"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            break
        size /= 1024
    return f"{size:.0f} B" if unit == "B" else f"{size:.1f} {unit}"
