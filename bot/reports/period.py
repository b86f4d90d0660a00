"""The period a report covers: whole local days, read the one way everywhere.

`mediabot report --period`, `/campaign ID [period]`, `/compare`, `/export` and report
questions all end in `period_of`: a question's period (bot.search.question, whose time
phrases and `since:` come from bot.search.periods and bot.search.query) becomes the
whole local days it touches. Typed periods are read by `read_period`:

    (nothing)                     the last 30 days, today included (the default)
    7d, 30d, 2w                   the last N days (weeks), today included (read_since's units)
    tháng này, this month, tháng 9, 30 ngày qua, từ 1/9 đến 30/9, quý 3 …
                                  any time phrase a chat question understands
    2026-09-01..2026-09-30        both days included; also 1/9/2026..30/9/2026

A report counts whole days, so "the last 7 days" is today and the 6 days before it, and
a period reaching past today ends today. The previous period is the same number of days
right before it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from bot.errors import QueryError
from bot.search.periods import midnight
from bot.search.query import read_since
from bot.search.question import Question, understand
from bot.textnorm import nfc

DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year, leap day included: longer periods make unreadable daily charts
_MAX_TEXT = 100
_ROLLING = ("period.last_n_days", "period.last_n_hours", "period.last_24_hours")
_RANGE = re.compile(r"\.{2}")  # 2026-09-01..2026-09-30
_EXAMPLES = "7d, 30d, tháng này, this month, tháng 9, 2026-09-01..2026-09-30"


class PeriodError(QueryError):
    """A period that cannot be read or reported on; str(err) is one line for the CLI."""


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """Whole local days from `first` to `last`, both included."""

    first: date
    last: date
    tz: tzinfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """Midnight after the last day (exclusive)."""
        return midnight(self.last + timedelta(days=1), self.tz)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> ReportPeriod:
        """The same number of days right before this period."""
        return ReportPeriod(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.tz)


def last_days(days: int, now: datetime) -> ReportPeriod:
    """The last `days` local days, today included."""
    today = now.date()
    return _checked(today - timedelta(days=max(1, days) - 1), today, now)


def period_of(question: Question, now: datetime) -> ReportPeriod:
    """The whole days a question's period touches; the default 30 days when it named none."""
    if question.period in _ROLLING:
        span = now - question.since if question.since else timedelta(days=DEFAULT_DAYS)
        return last_days(math.ceil(span / timedelta(days=1)), now)
    if question.since is None:
        return last_days(DEFAULT_DAYS, now)
    first = question.since.astimezone(now.tzinfo).date()
    last = (question.until - timedelta(microseconds=1)).astimezone(now.tzinfo).date() if question.until else now.date()
    return _checked(first, min(last, now.date()), now)


def read_period(text: str, now: datetime) -> ReportPeriod:
    """A typed period (see the module docstring); PeriodError with examples when it is none."""
    text = " ".join(nfc(text or "")[:_MAX_TEXT].split())
    if not text:
        return last_days(DEFAULT_DAYS, now)
    if _RANGE.search(text):
        return _range(text, now)
    if text[:1].isdigit() and text[-1:].lower() in "hdw" and " " not in text:
        span = _moment(text, now)[1]
        if span is not None:
            return last_days(math.ceil(span / timedelta(days=1)), now)
    try:
        question = understand(text, now=now, outlets=(), campaigns=())
    except QueryError:  # "source:" or "since:2m" in a period: /compare crashed into the error handler
        question = None
    if question is None or question.period is None or question.query.has_words:
        raise PeriodError(f"not a period: {text!r}; e.g. {_EXAMPLES}", "bad_period", value=text)
    return period_of(question, now)


def _range(text: str, now: datetime) -> ReportPeriod:
    first_text, last_text = (part.strip() for part in _RANGE.split(text, maxsplit=1))
    first, first_span = _moment(first_text, now)
    last, last_span = _moment(last_text, now)
    if first_span is not None or last_span is not None:
        raise PeriodError(f"not a period: {text!r}; e.g. {_EXAMPLES}", "bad_period", value=text)
    if last < first:
        raise PeriodError(f"the period ends before it starts: {text!r}", "period_backwards", value=text)
    return _checked(first.date(), min(last.date(), now.date()), now)


def _moment(text: str, now: datetime) -> tuple[datetime, timedelta | None]:
    try:
        return read_since(text, now, now.tzinfo)
    except QueryError:
        raise PeriodError(f"not a period: {text!r}; e.g. {_EXAMPLES}", "bad_period", value=text) from None


def _checked(first: date, last: date, now: datetime) -> ReportPeriod:
    if first > now.date():
        raise PeriodError(f"the period starts after today ({first.isoformat()})", "period_future", first=first)
    if now.tzinfo is None:
        raise ValueError("reports need an aware `now`: days are local days")
    period = ReportPeriod(first, last, now.tzinfo)
    if period.days > MAX_DAYS:
        raise PeriodError(f"the period is {period.days} days long; at most {MAX_DAYS}", "period_long", max=MAX_DAYS)
    return period
