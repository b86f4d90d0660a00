"""`mediabot outbox [--json]`: what the bot owes its chats, read-only while the bot runs."""

from __future__ import annotations

import json
import time

from bot.alerts.outbox import STATES
from bot.alerts.outbox_rows import OutboxStats, outbox_stats
from bot.config import Config
from bot.store.db import open_readonly


def outbox(config: Config, db_path: str, *, as_json: bool) -> int:
    """Print rows per state (and kind), the oldest pending row's age and the chats paused by a 403."""
    conn = open_readonly(db_path)
    try:
        stats = outbox_stats(conn, time.time())
    finally:
        conn.close()
    print(json.dumps(_as_dict(stats)) if as_json else "\n".join(_lines(stats)))
    return 0


def _as_dict(stats: OutboxStats) -> dict[str, object]:
    return {
        **{state: stats.total(state) for state in STATES},
        "by_kind": {state: stats.states.get(state, {}) for state in STATES},
        "oldest_pending_s": None if stats.oldest_pending_s is None else round(stats.oldest_pending_s, 1),
        "blocked_chats": [chat for chat, _at in stats.blocked_chats],
        "subscriptions": stats.subscriptions,
        "paused_subscriptions": stats.paused_subscriptions,
    }


def _lines(stats: OutboxStats) -> list[str]:
    lines = []
    for state in STATES:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(stats.states.get(state, {}).items()))
        lines.append(f"{state:<8} {stats.total(state):>7}" + (f"  ({kinds})" if kinds else ""))
    age = stats.oldest_pending_s
    lines.append("oldest pending: " + ("none" if age is None else _duration(age)))
    chats = ", ".join(str(chat) for chat, _at in stats.blocked_chats[:20])
    more = f" (+{len(stats.blocked_chats) - 20})" if len(stats.blocked_chats) > 20 else ""
    lines.append(f"chats paused by 403: {len(stats.blocked_chats)}" + (f" ({chats}{more})" if chats else ""))
    lines.append(f"subscriptions: {stats.subscriptions} active, {stats.paused_subscriptions} paused")
    return lines


def _duration(seconds: float) -> str:
    """`42s`, `5m 03s`, `2h 10m`, `3d 4h`."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"
