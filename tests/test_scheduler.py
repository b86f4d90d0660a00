"""Next-check arithmetic: adaptive within bounds, exponential backoff capped at one day."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Polling
from bot.ingest.scheduler import MAX_BACKOFF_S, failure_interval, publish_gap, success_interval

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLLING = Polling(interval=600, min_interval=60, max_interval=6 * 3600)


def dates(every_minutes: float, n: int = 10, newest_minutes_ago: float = 0) -> list[datetime]:
    newest = NOW - timedelta(minutes=newest_minutes_ago)
    return [newest - timedelta(minutes=every_minutes * i) for i in range(n)]


@pytest.mark.parametrize(
    ("gap_source", "source_interval", "expected"),
    [
        (dates(20), None, 600),  # an item every 20 min → poll every 10 min
        (dates(1), None, 60),  # very busy feed → floor at min_interval
        (dates(60 * 24), None, 21600),  # daily feed → ceiling at max_interval
        (dates(60 * 24), 300, 300),  # per-source interval is the upper bound
        (dates(20, newest_minutes_ago=600), None, 18000),  # went quiet: slows down
        (dates(20, n=2), None, 600),  # too few items to learn from → configured interval
    ],
)
def test_success_interval(gap_source, source_interval, expected) -> None:
    assert success_interval(POLLING, source_interval, publish_gap(gap_source, NOW)) == pytest.approx(expected)


def test_failure_backoff_grows_and_caps_at_max_interval() -> None:
    delays = [failure_interval(POLLING, None, n, None) for n in range(1, 12)]
    assert delays[:3] == [1200, 2400, 4800]
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == POLLING.max_interval  # the slowest a healthy feed is polled


def test_failure_backoff_never_exceeds_a_day() -> None:
    slow = Polling(interval=600, min_interval=60, max_interval=3 * 86400)
    assert failure_interval(slow, None, 30, None) == MAX_BACKOFF_S
    assert failure_interval(POLLING, 7200, 30, None) == POLLING.max_interval  # per-source interval below the cap


def test_retry_after_is_a_lower_bound() -> None:
    assert failure_interval(POLLING, None, 1, 7200) == 7200
    assert failure_interval(POLLING, None, 1, 10) == 1200
    assert failure_interval(POLLING, None, 1, 10 * 86400) == MAX_BACKOFF_S
