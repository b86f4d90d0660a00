"""Telegram's flood limits, answered with 429 and `retry_after` as the real server does."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """~1 message/s per chat (small bursts tolerated), 20/min per group, 30/s overall."""

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20
    overall_per_second: int = 30


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class FloodControl:
    """Counts sent messages; `retry_after` says how long until the next one would pass."""

    limits: FloodLimits
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _overall: deque[float] = field(default_factory=deque)

    def retry_after(self, chat_id: int, is_group: bool, now: float) -> int | None:
        """Seconds to wait if this message would break a limit, else None (and count it)."""
        limits = self.limits
        bucket = self._chats.setdefault(chat_id, _Bucket(limits.per_chat_burst, now))
        refill = (now - bucket.at) * limits.per_chat_per_second
        bucket.tokens = min(limits.per_chat_burst, bucket.tokens + refill)
        bucket.at = now
        waits = [_window_wait(self._overall, now, 1.0, limits.overall_per_second)]
        if bucket.tokens < 1:
            waits.append((1 - bucket.tokens) / limits.per_chat_per_second)
        group = self._groups.setdefault(chat_id, deque()) if is_group else None
        if group is not None:
            waits.append(_window_wait(group, now, 60.0, limits.per_group_per_minute))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        bucket.tokens -= 1
        self._overall.append(now)
        if group is not None:
            group.append(now)
        return None


def _window_wait(times: deque[float], now: float, window: float, limit: int) -> float:
    while times and times[0] <= now - window:
        times.popleft()
    return times[0] + window - now if len(times) >= limit else 0.0
