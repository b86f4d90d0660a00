"""The daily press review (điểm báo) for chat and the command line, without Telegram types."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.reports.press_review import PressReview, press_review, review_day
from bot.runtime import Runtime


class PressReviewService:
    """`/diembao [date]`: the review of a local day (yesterday by default), read on a reader thread."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(self.runtime.config.organization.tz))

    async def review(self, day_text: str = "") -> PressReview:
        """The review of the day typed (PeriodError for a day that cannot be read or is in the future)."""
        day = review_day(day_text, self._clock())
        return await self.runtime.read(lambda rt: press_review(rt.reader(), rt.config, day))
