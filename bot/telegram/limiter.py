"""One rate limiter for everything the bot sends: its replies and the outbox share Telegram's budget.

PTB calls `process_request` for every Bot API request. A request to a chat takes a slot
from the shared `Pacer` (≤ 30/s overall, ≤ 20/min per group; a reply to a private chat
is not held to 1/s, Telegram tolerates a short burst there) — unless delivery took the
slot itself and says so with `rate_limit_args=PACED`. A 429 is retried up to
`max_retries` times after the pacer has moved that chat's next slot past `retry_after`.

Messages nobody asked for by right — refusals to strangers and to groups nobody allowed, and
the access requests they raise to admins — first take a token from a `CourtesyBudget`, and are
not sent without one: a flood of strangers then costs at most its small rate of the shared
budget, and members' replies do not queue behind it (300 strangers delayed a member's /help
by 11.7 s when every refusal took a slot).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import InvalidToken, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.alerts.pacing import Pacer

log = logging.getLogger(__name__)
PACED = "paced"  # rate_limit_args of a request whose slot was taken already (bot.telegram.sender)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class SharedRateLimiter(BaseRateLimiter[str]):
    """PTB's rate limiter over our Pacer."""

    def __init__(self, pacer: Pacer, max_retries: int = 3, on_unauthorized: Callable[[], None] | None = None) -> None:
        self.pacer = pacer
        self.max_retries = max_retries
        self.on_unauthorized = on_unauthorized  # every request passes here: the one place to notice a 401

    async def initialize(self) -> None:
        """Nothing to set up: the pacer is plain state."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Result:
        """Wait for a slot (requests to a chat only), send, and retry a 429 after retry_after."""
        chat_id = _chat_id(data.get("chat_id"))
        try:
            if rate_limit_args == PACED or chat_id is None:
                return await callback(*args, **kwargs)
            return await self._paced(functools.partial(callback, *args, **kwargs), endpoint, chat_id)
        except InvalidToken:
            if self.on_unauthorized:
                self.on_unauthorized()
            raise

    async def _paced(self, send: Callable[[], Awaitable[Result]], endpoint: str, chat_id: int) -> Result:
        for attempt in range(self.max_retries + 1):
            ticket = await self.pacer.acquire(chat_id, per_chat=False)
            try:
                return await send()
            except RetryAfter as err:
                ticket.answer(self.pacer.clock())  # before the sleep below
                seconds = retry_seconds(err)
                self.pacer.too_many(chat_id, seconds, self.pacer.clock())
                if attempt == self.max_retries:
                    raise
                log.info("%s to chat %s: flood control, retrying after %.0f s", endpoint, chat_id, seconds)
                await asyncio.sleep(seconds)
            finally:
                ticket.answer(self.pacer.clock())  # arrived by now: the window counts it here
        raise AssertionError("unreachable")


class CourtesyBudget:
    """A token bucket for messages sent to people who are not members: `rate` a second, `burst` at once."""

    def __init__(self, rate: float = 1.0, burst: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        """Spend one token if there is one; False means: do not send this one."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def _chat_id(value: object) -> int | None:
    """The target chat of a request; a channel's @username counts as a group (it is one for the limits)."""
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return -abs(hash(value)) - 1


def retry_seconds(err: RetryAfter) -> float:
    """Telegram's `retry_after` in seconds: an int in PTB 22, a timedelta in the next major version
    (reading it as an int warns on every 429 meanwhile)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        after = err.retry_after
    return after.total_seconds() if isinstance(after, timedelta) else float(after)
