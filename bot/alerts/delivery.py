"""The sender: outbox rows → Telegram, oldest first, paced, retried, crash-safe.

Crash safety: a row is marked sent in its own committed write right after Telegram
accepted it, and the next send starts only then (`max_in_flight` = 1). A `kill -9` between
a send and its mark resends that one row after the restart: at most one duplicate per
crash, and no row is lost, because a row leaves the outbox only by a committed mark.
With `max_in_flight` = K sends overlap and a crash may duplicate up to K rows.

What Telegram answers decides what happens to a row:

    429 retry_after   the chat waits that long, the overall pace slows (bot.alerts.pacing)
    5xx, network      retried with exponential backoff (per row, and a pause for everyone), at
                      least every `outage_probe_s`; the first answer after an outage makes every
                      row it held due at once
    403               the chat blocked or removed the bot: its rows fail, its subscriptions
                      pause, each admin gets a notice
    400               logged, retried, given up after MAX_ATTEMPTS; never holds the queue
    (edit) 400 "message is not modified": the edit is done already
    400 migrate_to    the group became a supergroup: its subscriptions and pending rows move
                      to the new id (`migrate`), and the row is sent there at once

Just before a row of a subscription is sent (alert, edit, digest), `may_receive` asks whether
the subscription's chat may still receive (access withdrawn after the row was queued: the
row is skipped, never sent); the answer is kept ACCESS_TTL_S per subscription.

Telegram's side is a `Transport` (bot.telegram.sender) and rendering a `Renderer`
(bot.telegram.alerts), so this module knows no PTB types. Reading the outbox for new rows runs on
the writer thread: woken right after a store transaction, that read queues behind the
transaction's commit and so sees its rows; what a send then reads may run on a reader (`read`).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from bot.alerts import outbox_rows as rows
from bot.alerts.outbox import ALERT, EDIT, SKIPPED
from bot.alerts.outbox_rows import AlertView, OutboxRow
from bot.alerts.pacing import Pacer, Ticket
from bot.alerts.queue import ChatQueue

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 3  # a 400 is retried this many times in all, then the row is given up
BACKOFF_S = (5.0, 30.0, 120.0, 300.0)  # wait before attempt 2, 3, … (5xx/network: the last repeats)
IDLE_CHECK_S = 2.0  # look for rows written by another process (mediabot poll) this often
ACCESS_TTL_S = 2.0  # how long an access answer is reused: a burst asks once, a denial holds within it
NO_ACCESS = "the chat lost access"  # last_error of a row skipped because its chat may no longer receive


class TelegramRefused(Exception):
    """Telegram did not take the message; the subclass says why."""


class RetryLater(TelegramRefused):
    """429: flood control; wait `retry_after` seconds."""

    def __init__(self, retry_after: float, description: str = "") -> None:
        super().__init__(description or f"retry after {retry_after}")
        self.retry_after = retry_after


class Blocked(TelegramRefused):
    """403: the bot was blocked by the user or removed from the chat."""


class Rejected(TelegramRefused):
    """400: this message cannot be sent as it is (bad HTML, topic gone, message to edit gone)."""


class Unavailable(TelegramRefused):
    """5xx or a network error: Telegram may take it later."""


class Migrated(TelegramRefused):
    """400 with `migrate_to_chat_id`: the group became a supergroup; the chat has a new id."""

    def __init__(self, new_chat_id: int, description: str = "") -> None:
        super().__init__(description or f"migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: Telegram HTML ≤ 4,096 characters and rows of (label, callback data)."""

    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


class Transport(Protocol):
    async def send(self, chat_id: int, thread_id: int | None, message: Rendered) -> int:
        """Send; returns the new message's id."""

    async def edit(self, chat_id: int, message_id: int, message: Rendered) -> None:
        """Replace a sent message's text and buttons."""


class Renderer(Protocol):
    def alert(self, view: AlertView) -> Rendered:
        """The alert message."""

    def blocked_notice(self, chat_id: int, paused: int) -> str:
        """HTML telling an admin that a chat blocked the bot and what was paused."""


Write = Callable[..., Awaitable[Any]]  # runs fn(conn, *args) on the writer thread
MatchFor = Callable[[int], "str | None"]  # subscription id → its FTS MATCH string (marks the snippet)
AccessCheck = Callable[[sqlite3.Connection, int], bool]  # (connection, subscription id) → may its chat receive
Migrate = Callable[[int, int], Awaitable[object]]  # (old chat id, new chat id): move everything of the chat


@dataclass(frozen=True, slots=True)
class DeliveryOptions:
    max_in_flight: int = 1  # >1: faster with slow answers, but a crash may duplicate that many
    backoff_s: tuple[float, ...] = BACKOFF_S
    idle_check_s: float = IDLE_CHECK_S
    outage_probe_s: float = 60.0  # while Telegram does not answer, it is tried at least this often


class Delivery:
    """Sends the outbox until stopped; one per process, woken by `wake` after a commit."""

    def __init__(
        self,
        write: Write,
        transport: Transport,
        renderer: Renderer,
        pacer: Pacer,
        *,
        admins: Callable[[], Sequence[int]] = tuple,
        match_for: MatchFor = lambda _sub: None,
        may_receive: AccessCheck | None = None,
        migrate: Migrate | None = None,
        wake: asyncio.Event | None = None,
        options: DeliveryOptions = DeliveryOptions(),
        wall: Callable[[], float] = time.time,
        read: Write | None = None,
    ) -> None:
        self.write, self.transport, self.renderer, self.pacer = write, transport, renderer, pacer
        # What a send only reads (its subscription, access, the alert's view) may run on a reader
        # connection: on the writer it queued behind store transactions, four waits per alert, and
        # delivery fell behind a busy poller (bench/soak.py). Rows are read only once committed.
        self.read = read or write
        self.admins = admins
        self.match_for = match_for
        self.may_receive, self.migrate = may_receive, migrate
        self._access: dict[int, tuple[float, bool]] = {}  # subscription id → (asked at, answer)
        self.wake = wake or asyncio.Event()
        self.options = options
        self.wall = wall
        self.queue = ChatQueue(pacer.chat_at)
        self._delayed: list[tuple[float, int, OutboxRow]] = []  # (wall time, id, row)
        self._loaded = 0  # highest row id read from the outbox
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()  # a send finished: its slot and its chat are free
        self._transient = 0  # consecutive 5xx/network failures (everyone pauses)
        self._outage_rows: set[int] = set()  # ids of rows delayed only because Telegram did not answer
        self._pause_until = 0.0
        self.sent = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; what is on its way then is finished, not cut off."""
        await self._load()
        while not stop.is_set():
            now = self.pacer.clock()
            self._release_delayed()
            wait = self._pause_until - now
            if wait <= 0 and len(self._in_flight) < self.options.max_in_flight:
                overall = self.pacer.overall_at(now)
                if overall > now:
                    wait = overall - now
                else:
                    row = self.queue.pick(now)
                    if row is not None:
                        self._start(row, now)
                        continue
                    wait = self._idle_wait(now)
            elif wait <= 0:
                wait = self.options.idle_check_s
            if await self._sleep(stop, wait):
                await self._load()
        await self._finish()

    def _start(self, row: OutboxRow, now: float) -> None:
        ticket = self.pacer.record(row.chat_id, now)
        task = asyncio.create_task(self._deliver(row, ticket), name=f"outbox-{row.id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        task.add_done_callback(lambda _t: self._slot_free.set())

    def _idle_wait(self, now: float) -> float:
        waits = [self.options.idle_check_s]
        next_chat = self.queue.next_at()
        if next_chat is not None:
            waits.append(next_chat - now)
        if self._delayed:
            waits.append(self._delayed[0][0] - self.wall())
        return max(0.0, min(waits))

    async def _sleep(self, stop: asyncio.Event, delay: float) -> bool:
        """Wait `delay` s, or until woken or stopped; True when it is time to read the outbox again."""
        if delay > 0 and not self.wake.is_set():
            events = (stop, self.wake, self._slot_free)
            waiters = [asyncio.ensure_future(event.wait()) for event in events]
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        woken = self.wake.is_set()
        self.wake.clear()
        self._slot_free.clear()
        return woken or delay >= self.options.idle_check_s

    async def _load(self) -> None:
        """Queue the rows written since the last read (on the writer thread: after any commit in progress)."""
        while True:
            found: list[OutboxRow] = await self.write(rows.pending_rows, self._loaded)
            now, wall = self.pacer.clock(), self.wall()
            for row in found:
                self._loaded = max(self._loaded, row.id)
                if row.next_attempt_ts > wall:
                    heapq.heappush(self._delayed, (row.next_attempt_ts, row.id, row))
                else:
                    self.queue.add(row, now)
            if len(found) < 5000:
                return

    def _release_delayed(self) -> None:
        wall, now = self.wall(), self.pacer.clock()
        while self._delayed and self._delayed[0][0] <= wall:
            _, _, row = heapq.heappop(self._delayed)
            self.queue.add(row, now)

    async def _finish(self) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _deliver(self, row: OutboxRow, ticket: Ticket) -> None:
        retry_at: float | None = None
        try:
            await self._send_row(row, ticket)
            if self._transient:
                self._after_outage()
            self.sent += 1
        except RetryLater as err:
            self.pacer.too_many(row.chat_id, err.retry_after, self.pacer.clock())
            await self.write(rows.mark_retry, row.id, self.wall(), str(err), attempt=False)
            retry_at = self.wall()
        except Blocked as err:
            await self._blocked(row, str(err))
        except Rejected as err:
            retry_at = await self._rejected(row, str(err))
        except Unavailable as err:
            retry_at = await self._unavailable(row, str(err))
        except Migrated as err:
            retry_at = await self._migrated(row, err)
        except Exception:  # a bug must not stop delivery; the row is retried later
            log.exception("internal error while delivering outbox row %d", row.id)
            retry_at = self.wall() + self.options.backoff_s[-1]
            await self.write(rows.mark_retry, row.id, retry_at, "internal error")
        finally:
            ticket.answer(self.pacer.clock())  # no-op when answered already (the usual case)
            self.queue.done(row.chat_id, self.pacer.clock())
        if retry_at is not None:
            retried = OutboxRow(row.id, row.kind, row.chat_id, row.thread_id, row.attempts + 1, retry_at)
            heapq.heappush(self._delayed, (retry_at, row.id, retried))

    async def _send_row(self, row: OutboxRow, ticket: Ticket) -> None:
        sub_id: int | None = await self.read(rows.row_subscription, row.id)
        if sub_id is not None and not await self._chat_may_receive(sub_id):
            await self.write(rows.mark_failed, row.id, NO_ACCESS, status=SKIPPED)
        elif row.kind == ALERT:
            await self._send_alert(row, ticket, sub_id)
        elif row.kind == EDIT:
            await self._send_edit(row, ticket, sub_id)
        else:
            await self._send_parts(row, ticket)

    async def _chat_may_receive(self, subscription_id: int) -> bool:
        if self.may_receive is None:
            return True
        now = self.pacer.clock()
        asked = self._access.get(subscription_id)
        if asked is None or now - asked[0] > ACCESS_TTL_S:
            if len(self._access) > 50_000:  # bounded: old answers are stale anyway
                self._access.clear()
            asked = (now, await self.read(self.may_receive, subscription_id))
            self._access[subscription_id] = asked
        return asked[1]

    async def _answered(self, ticket: Ticket, call: Awaitable[T]) -> T:
        """Await a Telegram call; its answer time feeds the pacer's window (it arrived by then)."""
        try:
            return await call
        finally:
            ticket.answer(self.pacer.clock())

    async def _send_alert(self, row: OutboxRow, ticket: Ticket, sub_id: int | None) -> None:
        view = await self._view(row, row.id, sub_id)
        if view is None:
            return
        if not view.live:  # muted or deleted after the match: not wanted any more
            await self.write(rows.mark_failed, row.id, "subscription paused or deleted", status=SKIPPED)
            return
        rendered = self.renderer.alert(view)
        message_id = await self._answered(ticket, self.transport.send(row.chat_id, row.thread_id, rendered))
        await self.write(rows.mark_sent, row.id, self.wall(), message_id=message_id, also=len(view.also))

    async def _send_edit(self, row: OutboxRow, ticket: Ticket, sub_id: int | None) -> None:
        alert_id = await self.read(rows.edit_target, row.id)
        view = await self._view(row, alert_id, sub_id)
        if view is None:
            return
        if view.message_id is None:
            await self.write(rows.mark_failed, row.id, "the alert was never sent", status=SKIPPED)
            return
        try:
            rendered = self.renderer.alert(view)
            await self._answered(ticket, self.transport.edit(row.chat_id, view.message_id, rendered))
        except Rejected as err:
            if "not modified" not in str(err).lower():
                raise
        await self.write(rows.mark_sent, row.id, self.wall(), also=len(view.also))

    async def _view(self, row: OutboxRow, alert_id: int | None, sub_id: int | None) -> AlertView | None:
        match = self.match_for(sub_id) if sub_id is not None else None
        view = await self.read(rows.alert_view, alert_id, match) if alert_id else None
        if view is None:
            await self.write(rows.mark_failed, row.id, "the article or alert is gone", status=SKIPPED)
        return view

    async def _send_parts(self, row: OutboxRow, ticket: Ticket) -> None:
        parts, done = await self.read(rows.message_parts, row.id)
        for number in range(done, len(parts)):
            if number > done:  # each part is a message: wait for the chat's and the overall slot
                ticket = await self.pacer.acquire(row.chat_id)
            await self._answered(ticket, self.transport.send(row.chat_id, row.thread_id, Rendered(parts[number])))
            if number + 1 < len(parts):
                await self.write(rows.mark_part_sent, row.id, number + 1)
        await self.write(rows.mark_sent, row.id, self.wall())

    async def _blocked(self, row: OutboxRow, error: str) -> None:
        paused = await self.write(rows.block_chat, row.chat_id, error, self.wall())
        self._drop_chat(row.chat_id)
        log.warning("chat %d blocked the bot (%s): %d subscriptions paused", row.chat_id, error, paused)
        notice = self.renderer.blocked_notice(row.chat_id, paused)
        for admin in self.admins():
            if admin != row.chat_id:
                key = f"blocked:{row.chat_id}:{row.id}:{admin}"
                await self.write(rows.enqueue_notice, admin, notice, key)
        self.wake.set()

    def _drop_chat(self, chat_id: int) -> list[OutboxRow]:
        """Forget every row of a chat queued or waiting for a retry; returns them."""
        dropped = self.queue.drop_chat(chat_id)
        dropped += [entry[2] for entry in self._delayed if entry[2].chat_id == chat_id]
        self._delayed = [entry for entry in self._delayed if entry[2].chat_id != chat_id]
        heapq.heapify(self._delayed)
        return dropped

    async def _migrated(self, row: OutboxRow, err: Migrated) -> float | None:
        """The group became a supergroup: everything of the chat moves to the new id, then this row is sent
        there at once and the chat's other rows follow in their order (those that moved: a row the
        new chat has already is skipped by the move)."""
        new_id = err.new_chat_id
        if self.migrate is None or new_id == row.chat_id:
            return await self._rejected(row, str(err))
        log.warning("chat %d became supergroup %d: its subscriptions and alerts move there", row.chat_id, new_id)
        await self.migrate(row.chat_id, new_id)
        waiting = [row, *self._drop_chat(row.chat_id)]
        pending: set[int] = await self.write(rows.pending_in_chat, new_id)
        now, wall = self.pacer.clock(), self.wall()
        for moved in (replace(r, chat_id=new_id) for r in waiting if r.id in pending):
            if moved.id != row.id and moved.next_attempt_ts > wall:
                heapq.heappush(self._delayed, (moved.next_attempt_ts, moved.id, moved))
            else:
                self.queue.add(moved, now)
        return None

    async def _rejected(self, row: OutboxRow, error: str) -> float | None:
        log.warning("Telegram refused outbox row %d for chat %d: %s", row.id, row.chat_id, error)
        if row.attempts + 1 >= MAX_ATTEMPTS:
            await self.write(rows.mark_failed, row.id, error)
            return None
        backoff = self.options.backoff_s
        retry_at = self.wall() + backoff[min(row.attempts, len(backoff) - 1)]
        await self.write(rows.mark_retry, row.id, retry_at, error)
        return retry_at

    async def _unavailable(self, row: OutboxRow, error: str) -> float:
        self._transient += 1
        probe = self.options.outage_probe_s
        pause = min(0.5 * 2**self._transient, probe)
        self._pause_until = max(self._pause_until, self.pacer.clock() + pause)
        # One line per outage, not per attempt: bot.telegram.reachability logs when it starts and ends.
        log.debug("Telegram unavailable (%s); retrying in %.1f s", error, pause)
        retry_at = self.wall() + min(0.5 * 2**row.attempts, probe)
        await self.write(rows.mark_retry, row.id, retry_at, error)
        self._outage_rows.add(row.id)
        return retry_at

    def _after_outage(self) -> None:
        """Telegram answers again: the rows that failed only because it did not are due now, not
        when their own backoff (up to outage_probe_s) ends."""
        self._transient = 0
        waiting = [entry for entry in self._delayed if entry[1] in self._outage_rows]
        self._delayed = [entry for entry in self._delayed if entry[1] not in self._outage_rows]
        heapq.heapify(self._delayed)
        self._outage_rows.clear()
        now = self.pacer.clock()
        for _at, _id, row in waiting:
            self.queue.add(row, now)
        if waiting:
            log.info("Telegram is back: %d alerts held by the outage are due now", len(waiting))
