"""Telegram's flood limits as a schedule we keep, so Telegram never has to say 429.

One `Pacer` per process, shared by alert delivery and the bot's own replies (the PTB rate
limiter in bot.telegram.limiter wraps it): ≤ 30 messages in any second overall, ≤ 1 per
second per chat, ≤ 20 per minute per group. An edit counts like a send.

Why windows with a margin rather than an even spacing: Telegram counts arrivals, we count
departures. A departure window of 1.03 s tolerates 30 ms of jitter between two requests'
trips, and after a stall (a slow commit) the window lets the sender catch up instead of
losing the slots it missed; the margin costs 3 % of the ceiling (29.1/s instead of 30).
After a 429 the chat waits `retry_after` and the overall budget shrinks for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published limits and our safety margins (seconds)."""

    overall: int = 30
    overall_window: float = 1.03
    per_chat_gap: float = 1.05
    group: int = 20
    group_window: float = 61.0
    slowdown: float = 0.7  # share of `overall` left after a 429 …
    slowdown_s: float = 30.0  # … for this long


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id < 0


class Pacer:
    """Remembers recent sends; says when the next one to a chat may leave."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._overall: deque[float] = deque()
        self._chat_free: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._slow_until = 0.0
        self._paused_until = 0.0

    def overall_at(self, now: float) -> float:
        """The earliest moment a message to any free chat may leave."""
        limit = self.limits.overall
        if now < self._slow_until:
            limit = max(1, int(limit * self.limits.slowdown))
        window = self.limits.overall_window
        times = self._overall
        while times and times[0] <= now - window:
            times.popleft()
        at = times[-limit] + window if len(times) >= limit else now
        return max(at, now, self._paused_until)

    def chat_at(self, chat_id: int, now: float) -> float:
        """The earliest moment this chat may get another message (ignoring the overall budget)."""
        at = self._chat_free.get(chat_id, 0.0)
        group = self._groups.get(chat_id)
        if group:
            while group and group[0] <= now - self.limits.group_window:
                group.popleft()
            if len(group) >= self.limits.group:
                at = max(at, group[-self.limits.group] + self.limits.group_window)
        return max(at, now)

    def ready_at(self, chat_id: int, now: float) -> float:
        """The earliest moment a message to this chat may leave."""
        return max(self.overall_at(now), self.chat_at(chat_id, now))

    def record(self, chat_id: int, now: float) -> None:
        """A message to this chat leaves now."""
        self._overall.append(now)
        self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), now + self.limits.per_chat_gap)
        if is_group(chat_id):
            self._groups.setdefault(chat_id, deque()).append(now)
        if len(self._chat_free) > 50_000:  # forget chats that are long free (bounded memory)
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}

    def too_many(self, chat_id: int, retry_after: float, now: float) -> None:
        """Telegram said 429: this chat waits `retry_after`; everyone pauses briefly and then goes slower."""
        self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), now + retry_after)
        self._paused_until = max(self._paused_until, now + min(retry_after, 1.0))
        self._slow_until = max(self._slow_until, now + self.limits.slowdown_s)

    async def acquire(self, chat_id: int, *, per_chat: bool = True) -> None:
        """Wait for this chat's next slot and take it (the bot's replies).

        `per_chat=False`: a reply to someone who just wrote waits only for the overall budget
        and the group limit (a private chat tolerates a short burst; a group does not).
        """
        while True:
            now = self.clock()
            at = self.ready_at(chat_id, now) if per_chat or is_group(chat_id) else self.overall_at(now)
            if at <= now:
                self.record(chat_id, now)
                return
            await asyncio.sleep(at - now)
