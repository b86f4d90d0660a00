"""Telegram's flood limits as a schedule we keep, so Telegram never has to say 429.

One `Pacer` per process, shared by alert delivery and the bot's own replies (the PTB rate
limiter in bot.telegram.limiter wraps it): ≤ 30 messages in any second overall, ≤ 1 per
second per chat, ≤ 20 per minute per group. An edit counts like a send.

Telegram counts arrivals; we only see departures and answers. Sent in bursts (30 at once,
then a pause), requests bunched up on the way and 31 arrived within one second (measured: a
429 in the first 200 sends, with departures held to 30 per 1.03 s). What is certain is that a
request arrived before its answer came back: so the window counts each message at its answer
(still on its way: counted as arriving now), and a message leaves only when fewer than 30 of
those fall within the last second, whatever the jitter. Departures are also spaced evenly (a
cell-rate schedule at 30/s that lets a late sender catch up by at most `burst` slots).
After a 429 the chat waits `retry_after` and the overall pace slows for a while.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published limits and our safety margins (seconds)."""

    overall: int = 30
    overall_window: float = 1.005
    burst: int = 2  # slots a late sender may catch up at once
    per_chat_gap: float = 1.05
    group: int = 20
    group_window: float = 61.0
    slowdown: float = 0.7  # share of `overall` left after a 429 …
    slowdown_s: float = 30.0  # … for this long


class Ticket:
    """One message on its way; `answered` is when Telegram's answer came back (inf until then)."""

    __slots__ = ("answered", "left")

    def __init__(self, left: float) -> None:
        self.left = left
        self.answered = math.inf

    def answer(self, now: float) -> None:
        """Telegram answered (whatever it said): the message arrived by now. The first answer counts."""
        self.answered = min(self.answered, now)


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id < 0


class Pacer:
    """Remembers recent sends; says when the next one to a chat may leave."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._overall: deque[Ticket] = deque()
        self._due = 0.0  # the cell-rate schedule: when the next departure is due
        self._chat_free: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._slow_until = 0.0
        self._paused_until = 0.0

    def overall_at(self, now: float) -> float:
        """The earliest moment a message to any free chat may leave."""
        limit = self._limit(now)
        window = self.limits.overall_window
        times = self._overall
        # A ticket never answered (a bug) stops counting after a minute rather than forever.
        while times and (times[0].answered <= now - window or times[0].left < now - 60):
            times.popleft()
        at = now
        if len(times) >= limit:
            # Answered tickets are nearly in order; one still on its way counts as now.
            answers = sorted(min(t.answered, now) for t in times)
            at = answers[-limit] + window
        spaced = self._due - self.limits.burst * window / limit
        return max(at, spaced, now, self._paused_until)

    def _limit(self, now: float) -> int:
        limit = self.limits.overall
        return max(1, int(limit * self.limits.slowdown)) if now < self._slow_until else limit

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

    def record(self, chat_id: int, now: float) -> Ticket:
        """A message to this chat leaves now; call `ticket.answer(when)` once Telegram answered."""
        ticket = Ticket(now)
        self._overall.append(ticket)
        self._due = max(self._due, now) + self.limits.overall_window / self._limit(now)
        self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), now + self.limits.per_chat_gap)
        if is_group(chat_id):
            self._groups.setdefault(chat_id, deque()).append(now)
        if len(self._chat_free) > 50_000:  # forget chats that are long free (bounded memory)
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}
        return ticket

    def too_many(self, chat_id: int, retry_after: float, now: float) -> None:
        """Telegram said 429: this chat waits `retry_after`; everyone pauses briefly and then goes slower."""
        self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), now + retry_after)
        self._paused_until = max(self._paused_until, now + min(retry_after, 1.0))
        self._slow_until = max(self._slow_until, now + self.limits.slowdown_s)

    async def acquire(self, chat_id: int, *, per_chat: bool = True) -> Ticket:
        """Wait for this chat's next slot and take it (the bot's replies).

        `per_chat=False`: a reply to someone who just wrote waits only for the overall budget
        and the group limit (a private chat tolerates a short burst; a group does not).
        """
        while True:
            now = self.clock()
            at = self.ready_at(chat_id, now) if per_chat or is_group(chat_id) else self.overall_at(now)
            if at <= now:
                return self.record(chat_id, now)
            await asyncio.sleep(at - now)
