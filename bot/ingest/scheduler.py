"""When to check a feed next: adaptive to how often it publishes, backed off on failure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from bot.config import Polling

MAX_BACKOFF_S = 86400.0  # never longer than a day between checks, Retry-After included


def publish_gap(published: Sequence[datetime], now: datetime) -> float | None:
    """Typical seconds between items, from the dates in the feed (None if unknown).

    The time since the newest item counts as a gap too, so a feed that went quiet
    slows down instead of being polled at the rate it had last month.
    """
    stamps = sorted({p.timestamp() for p in published}, reverse=True)
    if len(stamps) < 3:
        return None
    mean_gap = (stamps[0] - stamps[-1]) / (len(stamps) - 1)
    return max(mean_gap, now.timestamp() - stamps[0])


def success_interval(polling: Polling, source_interval: float | None, gap: float | None) -> float:
    """Poll about twice per publishing gap, within [min_interval, upper].

    A per-source `interval` is the user's promise of freshness for that outlet, so it is the
    upper bound; otherwise max_interval is.
    """
    upper = source_interval or polling.max_interval
    if gap is None:
        return max(polling.min_interval, min(source_interval or polling.interval, upper))
    return max(polling.min_interval, min(gap / 2, upper))


def failure_interval(
    polling: Polling, source_interval: float | None, failures: int, retry_after: float | None
) -> float:
    """Exponential backoff from the normal interval, capped at max_interval, never sooner than Retry-After.

    The cap is the slowest a healthy feed is polled: with a day's cap, an outlet down for a day
    (checks at 0, 20 min, 1 h, 2.3 h, 5 h, 10.3 h, 21 h) was next checked 18 h after it came
    back (tests/test_faults_service.py), and its articles of those hours could scroll off its feed.
    """
    base = source_interval or polling.interval
    cap = min(max(base, polling.max_interval), MAX_BACKOFF_S)
    delay = min(base * (2 ** min(failures, 20)), cap)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF_S))
    return delay


def jittered(delay: float, rng: random.Random | None = None) -> float:
    """±10 % so that feeds added together do not stay in lock-step forever."""
    return delay * (0.9 + 0.2 * (rng or random).random())
