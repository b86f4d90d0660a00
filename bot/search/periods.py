"""The bounds of a period a question named, as a pure function of the phrase's key, its numbers and the clock.

A period is (catalogue key, N, since, until): `until` exclusive, None = open; N is the
count of a "last N days/hours" period. Keys come from bot.search.lexicon.TIME_PHRASES;
`period()` returns None when the numbers typed make no period ("tháng 13", "từ 31/2"),
and the words are then read as ordinary words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

Period = tuple[str, int | None, datetime | None, datetime | None]

MAX_DAYS = 3660  # ten years: larger numbers are typos, and timedelta must not overflow
_FIRST_YEAR = 1970


def midnight(day: date, tz: tzinfo | None) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def last_days(now: datetime, days: int) -> Period:
    days = max(1, min(days, MAX_DAYS))
    return "period.last_n_days", days, now - timedelta(days=days), None


def last_hours(now: datetime, hours: int) -> Period:
    if hours == 24:
        return "period.last_24_hours", None, now - timedelta(hours=24), None
    return "period.last_n_hours", hours, now - timedelta(hours=hours), None


def _month_start(year: int, month: int, tz: tzinfo | None) -> datetime:
    year, month = (year + (month - 1) // 12, (month - 1) % 12 + 1)
    return datetime(year, month, 1, tzinfo=tz)


def _named(now: datetime) -> dict[str, tuple[datetime | None, datetime | None]]:
    tz = now.tzinfo
    today = midnight(now.date(), tz)
    monday = midnight(now.date() - timedelta(days=now.weekday()), tz)
    return {
        "period.today": (today, None),
        "period.yesterday": (midnight(now.date() - timedelta(days=1), tz), today),
        "period.this_week": (monday, None),
        "period.last_week": (midnight(monday.date() - timedelta(days=7), tz), monday),
        "period.this_month": (_month_start(now.year, now.month, tz), None),
        "period.last_month": (_month_start(now.year, now.month - 1, tz), _month_start(now.year, now.month, tz)),
        "period.this_year": (datetime(now.year, 1, 1, tzinfo=tz), None),
        "period.last_year": (datetime(now.year - 1, 1, 1, tzinfo=tz), datetime(now.year, 1, 1, tzinfo=tz)),
        "period.last_24_hours": (now - timedelta(hours=24), None),
    }


def period(key: str, numbers: Sequence[int], now: datetime) -> Period | None:
    """The period of a time phrase; None when its numbers make none."""
    if key.startswith("days:"):  # "days:N" fixed length, "days:N*" N per number typed
        days = int(key[5:].rstrip("*"))
        return last_days(now, days * (numbers[0] if numbers else 1) if key.endswith("*") else days)
    head, _, rest = key.partition("=")
    if head in ("month", "quarter"):
        first = [int(rest)] if rest else list(numbers[:1])
        years = list(numbers[1:] if not rest else numbers[:1])
        return _calendar(head, first[0] if first else 0, years[0] if years else None, now)
    if key == "year":
        return _year(numbers[0] if numbers else 0, now)
    if key.startswith(("range:", "from:")):
        return _dates(key, numbers, now)
    since, until = _named(now)[key]
    return key, None, since, until


def _year_ok(year: int, now: datetime) -> bool:
    return _FIRST_YEAR <= year <= now.year + 1


def _calendar(unit: str, n: int, year: int | None, now: datetime) -> Period | None:
    """A month (1–12) or quarter (1–4); without a year, the latest one that has begun."""
    months = 1 if unit == "month" else 3
    if not 1 <= n <= 12 // months:
        return None
    first_month = (n - 1) * months + 1
    if year is None:
        year = now.year if first_month <= now.month else now.year - 1
    if not _year_ok(year, now):
        return None
    start = _month_start(year, first_month, now.tzinfo)
    return f"period.{unit}", None, start, _month_start(year, first_month + months, now.tzinfo)


def _year(year: int, now: datetime) -> Period | None:
    if not _year_ok(year, now):
        return None
    tz = now.tzinfo
    return "period.year", None, datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def _day(numbers: Sequence[int], year: int) -> date | None:
    try:
        return date(numbers[2] if len(numbers) > 2 else year, numbers[1], numbers[0])
    except (ValueError, OverflowError):
        return None


def _start(first: Sequence[int], last: Sequence[int], now: datetime) -> date | None:
    """The first day; a missing year is the end's, else the latest year in which the day has begun."""
    if len(first) > 2:
        return _day(first, 0)
    if len(last) > 2:
        start, end = _day(first, last[2]), _day(last, 0)
        return _day(first, last[2] - 1) if start and end and start > end else start
    start = _day(first, now.year)
    return _day(first, now.year - 1) if start and start > now.date() else start


def _dates(key: str, numbers: Sequence[int], now: datetime) -> Period | None:
    """ "từ 1/9" (since that day) or "từ 1/9 đến 30/9" (both days included)."""
    counts = [int(c) for c in key.split(":")[1:]]
    first, last = numbers[: counts[0]], numbers[counts[0] :]
    start = _start(first, last, now)
    if start is None or not _year_ok(start.year, now):
        return None
    tz = now.tzinfo
    if not last:
        return "period.since_date", None, midnight(start, tz), None
    end = _day(last, start.year)
    if end is not None and len(last) < 3 and end < start:
        end = _day(last, start.year + 1)  # "từ 15/12 đến 15/1"
    if end is None or end < start or not _year_ok(end.year, now):
        return None
    return "period.range", None, midnight(start, tz), midnight(end + timedelta(days=1), tz)
