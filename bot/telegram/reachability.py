"""Whether the Bot API answers: one log line when it stops answering, one when it is back.

Every Bot API call of the process (long polling, replies, alerts) goes through `WatchedRequest`,
so an outage is seen once, whoever meets it first. Without this, a Telegram outage of a few
minutes logged a traceback for every getUpdates retry and a warning for every alert attempt.
The retries themselves stay where they are (PTB's polling loop, bot.alerts.delivery); they log
at DEBUG.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


class Reachability:
    """Telegram's state as the calls find it; logs only its changes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.down_since: float | None = None
        self.failed_calls = 0
        # Off until the bot runs: a start-up that cannot reach Telegram says so in its one error line.
        self.watching = False

    def failed(self, reason: str) -> None:
        """A call got no answer, or a 5xx."""
        if not self.watching:
            return
        self.failed_calls += 1
        if self.down_since is None:
            self.down_since = self.clock()
            log.warning("Telegram is unreachable (%s); retrying, alerts wait in the outbox", reason)

    def answered(self) -> None:
        """A call got an answer from Telegram (an error of ours, like 400 or 429, counts too)."""
        if self.down_since is not None:
            log.warning(
                "Telegram answers again after %.0f s unreachable (%d calls failed)",
                self.clock() - self.down_since,
                self.failed_calls,
            )
            self.down_since, self.failed_calls = None, 0


class WatchedRequest(HTTPXRequest):
    """PTB's HTTPX request that tells a `Reachability` how each call went."""

    def __init__(self, reachability: Reachability, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reachability = reachability

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        """See HTTPXRequest.do_request; raises what it raises."""
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except TelegramError as err:  # no answer at all: timed out, refused, reset
            self.reachability.failed(str(err) or type(err).__name__)
            raise
        if code >= 500:
            self.reachability.failed(f"HTTP {code}")
        else:
            self.reachability.answered()
        return code, payload
