"""The sender's view of the outbox: pending rows per chat, and which row may go next.

The next row is the oldest one whose chat is free (the pacer says when a chat is), so a
burst of a hundred alerts for one chat never delays the others. Two heaps keep each pick
O(log chats): chats that are free now, keyed by their oldest row, and chats that will be
free later, keyed by that moment. Each chat has one valid heap entry (a token); older
entries are skipped when they surface.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable

from bot.alerts.outbox_rows import OutboxRow

ChatClock = Callable[[int, float], float]  # (chat_id, now) → when the chat is free


class ChatQueue:
    """Pending rows by chat; `pick` takes the oldest row of a free chat."""

    def __init__(self, chat_at: ChatClock) -> None:
        self.chat_at = chat_at
        self._rows: dict[int, list[OutboxRow]] = {}
        self._ids: set[int] = set()
        self._busy: set[int] = set()  # chats with a row on its way
        self._free: list[tuple[int, int, int]] = []  # (oldest row id, token, chat)
        self._later: list[tuple[float, int, int]] = []  # (free at, token, chat)
        self._token: dict[int, int] = {}
        self._tokens = itertools.count()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, row_id: int) -> bool:
        return row_id in self._ids

    def add(self, row: OutboxRow, now: float) -> None:
        """Queue a pending row (ignored if queued already)."""
        if row.id in self._ids:
            return
        self._ids.add(row.id)
        rows = self._rows.setdefault(row.chat_id, [])
        bisect.insort(rows, row, key=lambda r: r.id)
        if rows[0] is row:
            self._schedule(row.chat_id, now)

    def pick(self, now: float) -> OutboxRow | None:
        """The oldest row whose chat is free now (its chat becomes busy), or None."""
        while self._later and self._later[0][0] <= now:
            _, token, chat = heapq.heappop(self._later)
            if self._token.get(chat) == token:
                self._schedule(chat, now)
        while self._free:
            _head, token, chat = heapq.heappop(self._free)
            if self._token.get(chat) != token:
                continue
            del self._token[chat]
            if self.chat_at(chat, now) > now:  # a reply or a 429 took its slot since
                self._schedule(chat, now)
                continue
            row = self._rows[chat].pop(0)
            self._ids.discard(row.id)
            self._busy.add(chat)
            return row
        return None

    def next_at(self) -> float | None:
        """When a chat that waits becomes free (None: none waits)."""
        while self._later and self._token.get(self._later[0][2]) != self._later[0][1]:
            heapq.heappop(self._later)
        return self._later[0][0] if self._later else None

    def has_free(self) -> bool:
        """Some chat may be picked now (cheap: entries may be stale, pick decides)."""
        return bool(self._free)

    def done(self, chat_id: int, now: float) -> None:
        """The chat's row went out (or was put back): schedule its next row."""
        self._busy.discard(chat_id)
        self._schedule(chat_id, now)

    def drop_chat(self, chat_id: int) -> list[OutboxRow]:
        """Forget every queued row of a chat (blocked); returns them."""
        rows = self._rows.pop(chat_id, [])
        self._ids.difference_update(r.id for r in rows)
        self._token.pop(chat_id, None)
        return rows

    def _schedule(self, chat: int, now: float) -> None:
        rows = self._rows.get(chat)
        if not rows:
            self._rows.pop(chat, None)
            self._token.pop(chat, None)
            return
        if chat in self._busy:
            return
        token = next(self._tokens)
        self._token[chat] = token
        at = self.chat_at(chat, now)
        if at <= now:
            heapq.heappush(self._free, (rows[0].id, token, chat))
        else:
            heapq.heappush(self._later, (at, token, chat))
