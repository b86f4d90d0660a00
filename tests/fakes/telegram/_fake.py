"""FakeTelegram: the test-facing, thread-safe handle on the fake Bot API server."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from tests.fakes.telegram._flood import FloodControl, FloodLimits
from tests.fakes.telegram._methods import CANONICAL, HANDLERS, MEMBER_STATUSES, get_my_commands
from tests.fakes.telegram._migrate import migrate_group
from tests.fakes.telegram._objects import (
    MESSAGE_METHODS,
    ApiError,
    FakeChat,
    FakeUser,
    RecordedCall,
    StoredFile,
    UpdateTiming,
)
from tests.fakes.telegram._server import ApiServer
from tests.fakes.telegram._users import post_button_press, post_user_text
from tests.fakes.telegram._world import Fault, World

ChatRef = FakeChat | FakeUser | int
MessageRef = RecordedCall | dict[str, Any]
Predicate = Callable[[RecordedCall], bool]
_DEFAULT_ERRORS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegram:
    """A real HTTP Bot API server on 127.0.0.1 that tests drive as users and inspect."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "mediabot_test",
        bot_name: str = "Mediabot Test",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = World(token, bot_username, bot_name, HANDLERS)
        self._server = ApiServer(self.world, host, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._query_ids = itertools.count(4_000_000_001)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        """Start the server thread and wait until it listens."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._server.start(), loop).result(timeout=10)
        with self.world.lock:
            self.world.on_update = lambda: loop.call_soon_threadsafe(self._server.wake_pollers)
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with self.world.lock:
            self.world.on_update = lambda: None
        asyncio.run_coroutine_threadsafe(self._server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`; the bot uses `{url}/bot` and `{url}/file/bot`."""
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def base_url(self) -> str:
        """The `base_url` for PTB (`{url}/bot`)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """The `base_file_url` for PTB (`{url}/file/bot`)."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The one token the server accepts."""
        return self.world.token

    @property
    def bot(self) -> FakeUser:
        """The bot's own user (id from the token prefix)."""
        return self.world.bot

    # -- people and chats --------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """A user who has started the bot (their private chat exists)."""
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        with self.world.lock:
            self.world.users[user_id] = user
            self.world.add_chat(FakeChat.private(user))
        return user

    def private_chat(self, user: FakeUser) -> FakeChat:
        """The private chat between `user` and the bot."""
        with self.world.lock:
            self.world.users.setdefault(user.id, user)
            return self.world.chats.get(user.id) or self.world.add_chat(FakeChat.private(user))

    def group(
        self,
        chat_id: int = -100123,
        title: str = "Nhóm thử nghiệm",
        *,
        type: str = "supergroup",
        is_forum: bool = False,
        username: str | None = None,
    ) -> FakeChat:
        """A group, supergroup (forum when `is_forum`) or channel the bot is in."""
        if type not in ("group", "supergroup", "channel"):
            raise ValueError(f"not a group type: {type!r}")
        with self.world.lock:
            chat = FakeChat(chat_id, type, title=title, username=username, is_forum=is_forum)
            return self.world.add_chat(chat)

    def migrate_to_supergroup(
        self, group: ChatRef, by: FakeUser, new_id: int | None = None, *, announce: bool = True
    ) -> FakeChat:
        """A member upgrades the basic group to a supergroup (new id, default -100 + the old digits);
        the old id then answers 400 with `migrate_to_chat_id`. `announce`: the bot gets the service
        messages (False: it missed them)."""
        old_id = _chat_id(group)
        with self.world.lock:
            return migrate_group(self.world, old_id, new_id or int(f"-100{abs(old_id)}"), by, announce)

    def block(self, user: FakeUser, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends to them get 403."""
        with self.world.lock:
            (self.world.blocked.add if blocked else self.world.blocked.discard)(user.id)

    def set_member_status(self, chat: ChatRef, user: FakeUser, status: str) -> None:
        """What getChatMember answers for `user` in `chat`."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {sorted(MEMBER_STATUSES)}")
        with self.world.lock:
            self.world.users.setdefault(user.id, user)
            self.world.member_status[(_chat_id(chat), user.id)] = status

    @property
    def default_member_status(self) -> str:
        """What getChatMember answers when no status was set (`member`)."""
        return self.world.default_member_status

    @default_member_status.setter
    def default_member_status(self, status: str) -> None:
        """Change the status getChatMember answers by default."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.world.default_member_status = status

    # -- acting as users ---------------------------------------------------------------------

    def send_text(
        self,
        user: FakeUser,
        text: str,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """The user writes `text`; returns the new message id. Commands get a bot_command entity."""
        with self.world.lock:
            target = self.private_chat(user) if chat is None else self._known_chat(chat)
            return post_user_text(self.world, user, target, text, thread_id, reply_to_message_id)

    def press_button(self, user: FakeUser, message: MessageRef, callback_data: str, *, forged: bool = False) -> str:
        """The user presses an inline button of a bot message; returns the callback query id.

        `forged`: send `callback_data` even though the message offers no such button (a modified
        client can send anything)."""
        chat_id, message_id = _message_key(message)
        query_id = str(next(self._query_ids))
        with self.world.lock:
            post_button_press(self.world, user, chat_id, message_id, callback_data, query_id, forged)
        return query_id

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """The answerCallbackQuery parameters for a press, or None while unanswered."""
        with self.world.lock:
            return copy.deepcopy(self.world.callback_queries.get(query_id))

    # -- observing the bot -------------------------------------------------------------------

    @property
    def sent(self) -> list[RecordedCall]:
        """Every call the bot made except getUpdates, in order (a snapshot)."""
        with self.world.lock:
            return list(self.world.calls)

    def mark(self) -> int:
        """A position in `sent`; pass it as `after_call` to wait only for later calls."""
        with self.world.lock:
            return len(self.world.calls)

    def messages_in(self, chat: ChatRef) -> list[dict[str, Any]]:
        """Current messages of a chat (users' and bot's, edits applied, deletions gone)."""
        with self.world.lock:
            stored = self.world.messages.get(_chat_id(chat), {})
            return [copy.deepcopy(stored[key]) for key in sorted(stored)]

    def bot_messages(self, chat: ChatRef) -> list[dict[str, Any]]:
        """Current messages the bot sent in a chat."""
        return [m for m in self.messages_in(chat) if m["from"]["id"] == self.bot.id]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """The commands set with setMyCommands for a scope and language."""
        with self.world.lock:
            return get_my_commands(self.world, {"scope": scope, "language_code": language_code}, {})

    @property
    def webhook(self) -> dict[str, Any]:
        """The webhook the bot set (empty when none)."""
        with self.world.lock:
            return dict(self.world.webhook)

    def file(self, file_id: str) -> StoredFile:
        """A file the bot uploaded (bytes, name, MIME type)."""
        with self.world.lock:
            return self.world.files[file_id]

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        with self.world.lock:
            return len(self.world.updates.pending)

    def update_latencies(self) -> list[UpdateTiming]:
        """Per update: enqueued, first fetched, first answered (monotonic seconds)."""
        with self.world.lock:
            return [dataclasses.replace(t) for t in self.world.updates.timings()]

    # -- waiting -----------------------------------------------------------------------------

    def wait_for_message(
        self,
        chat: ChatRef,
        predicate: Predicate | None = None,
        timeout: float = 10.0,
        *,
        after: int | str | None = None,
        after_call: int | None = None,
    ) -> RecordedCall:
        """Block until the bot sends or edits a message in `chat` matching `predicate`.

        `after` = a user message id (from send_text) or callback query id (from press_button):
        only calls made after it count. `after_call` = a position from `mark()`.
        """
        chat_id = _chat_id(chat)

        def matches(call: RecordedCall) -> bool:
            return (
                call.ok
                and call.method in MESSAGE_METHODS
                and call.chat_id == chat_id
                and (predicate is None or predicate(call))
            )

        start = self._start_index(chat_id, after, after_call)
        return self._wait(matches, start, timeout, f"bot message in chat {chat_id}", chat_id)

    def wait_for_call(
        self, method: str, predicate: Predicate | None = None, timeout: float = 10.0, *, after_call: int = 0
    ) -> RecordedCall:
        """Block until the bot calls `method` (any outcome) matching `predicate`."""
        canonical = CANONICAL.get(method.lower(), method)

        def matches(call: RecordedCall) -> bool:
            return call.method == canonical and (predicate is None or predicate(call))

        return self._wait(matches, after_call, timeout, f"{canonical} call")

    def wait_for_polling(self, timeout: float = 10.0) -> None:
        """Block until the bot has a getUpdates long poll waiting (it is ready for updates)."""
        self._wait_polls(lambda waiting: waiting > 0, timeout, "the bot is not long-polling")

    def wait_until_not_polling(self, timeout: float = 10.0) -> None:
        """Block until no long poll is waiting (the bot stopped or disconnected)."""
        self._wait_polls(lambda waiting: waiting == 0, timeout, "a long poll is still waiting")

    def _wait_polls(self, done: Callable[[int], bool], timeout: float, problem: str) -> None:
        deadline = time.monotonic() + timeout
        with self.world.changed:
            while not done(self.world.polls_waiting):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{problem} after {timeout}s\n{self._dump(0)}")
                self.world.changed.wait(remaining)

    async def await_message(
        self, chat: ChatRef, predicate: Predicate | None = None, timeout: float = 10.0, **kwargs: Any
    ) -> RecordedCall:
        """wait_for_message for async tests: waits in a thread so the test's loop (and bot) keep running."""
        return await asyncio.to_thread(self.wait_for_message, chat, predicate, timeout, **kwargs)

    async def await_call(
        self, method: str, predicate: Predicate | None = None, timeout: float = 10.0, **kwargs: Any
    ) -> RecordedCall:
        """wait_for_call for async tests."""
        return await asyncio.to_thread(self.wait_for_call, method, predicate, timeout, **kwargs)

    async def await_polling(self, timeout: float = 10.0) -> None:
        """wait_for_polling for async tests."""
        await asyncio.to_thread(self.wait_for_polling, timeout)

    def _start_index(self, chat_id: int, after: int | str | None, after_call: int | None) -> int:
        if after_call is not None:
            return after_call
        if after is None:
            return 0
        with self.world.lock:
            start = self.world.marks.get((None, after) if isinstance(after, str) else (chat_id, after))
        if start is None:
            raise ValueError(f"after={after!r} is not a user message in chat {chat_id} nor a button press")
        return start

    def _wait(
        self, matches: Predicate, start: int, timeout: float, what: str, chat_id: int | None = None
    ) -> RecordedCall:
        deadline = time.monotonic() + timeout
        watcher = (chat_id, threading.Event())
        with self.world.lock:
            self.world.watchers.append(watcher)
        try:
            scanned = start
            while True:
                with self.world.lock:
                    watcher[1].clear()  # under the lock: a call recorded after the scan sets it again
                    calls = self.world.calls
                    found = next((c for c in calls[scanned:] if matches(c)), None)
                    scanned = len(calls)
                    dump = self._dump(start) if found is None and time.monotonic() >= deadline else ""
                if found is not None:
                    return found
                if dump:
                    raise AssertionError(f"no {what} within {timeout}s (since call #{start})\n{dump}")
                watcher[1].wait(max(0.0, deadline - time.monotonic()))
        finally:
            with self.world.lock:
                self.world.watchers.remove(watcher)

    def _dump(self, start: int) -> str:
        world = self.world
        lines = [call.summary() for call in world.calls[start:][-30:]] or ["(no calls)"]
        return "\n".join(
            [
                f"calls since #{start}:",
                *("  " + line for line in lines),
                f"pending updates: {len(world.updates.pending)}; getUpdates so far: {world.polls_total}; "
                f"polls waiting now: {world.polls_waiting}",
            ]
        )

    # -- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int = 500,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls of `method` fail with this error (429 gets retry_after, default 1)."""
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or _DEFAULT_ERRORS.get(error_code, f"Error {error_code}")
        self._add_fault(method, Fault(ApiError(error_code, description, retry_after)), times)

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` get their connection closed without an answer."""
        self._add_fault(method, Fault(None), times)

    def _add_fault(self, method: str, fault: Fault, times: int) -> None:
        if method.lower() not in CANONICAL:
            raise ValueError(f"the fake does not serve {method!r}")
        with self.world.lock:
            self.world.faults.setdefault(method.lower(), deque()).extend([fault] * times)

    def start_outage(self, mode: str = "502") -> None:
        """Telegram goes away until `end_outage`: every call, getUpdates included, is answered
        502 Bad Gateway (`mode="502"`) or held unanswered past any client timeout (`"hang"`);
        nothing is done either way. Calling it again switches the mode."""
        if mode not in ("502", "hang"):
            raise ValueError(f"outage mode is '502' or 'hang', not {mode!r}")
        self._on_loop(self._server.set_outage, mode)

    def end_outage(self) -> None:
        """Telegram is back: calls are served again (held ones are dropped, as a proxy would)."""
        self._on_loop(self._server.set_outage, None)

    def outage_attempts(self, method: str = "sendMessage") -> int:
        """How many calls of `method` (not getUpdates) an outage turned away so far."""
        canonical = CANONICAL.get(method.lower(), method)
        with self.world.lock:
            return sum(1 for c in self.world.calls if c.method == canonical and c.error_code == 502)

    def _on_loop(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the fake Telegram is not running")

        async def call() -> None:
            func(*args)

        asyncio.run_coroutine_threadsafe(call(), loop).result(timeout=10)

    @property
    def flood_limits(self) -> FloodLimits | None:
        """Telegram's flood limits, off by default; set True (defaults) or a FloodLimits."""
        flood = self.world.flood
        return flood.limits if flood else None

    @flood_limits.setter
    def flood_limits(self, limits: bool | FloodLimits | None) -> None:
        """Turn flood limits on (True or a FloodLimits) or off."""
        if limits is True:
            limits = FloodLimits()
        with self.world.lock:
            self.world.flood = FloodControl(limits) if isinstance(limits, FloodLimits) else None

    @property
    def answer_delay(self) -> float:
        """Seconds each call waits, already recorded, before it is answered (0 by default)."""
        return self.world.answer_delay

    @answer_delay.setter
    def answer_delay(self, seconds: float) -> None:
        """Delay every answer (the call counts as delivered when it arrives)."""
        with self.world.lock:
            self.world.answer_delay = max(0.0, float(seconds))

    def _known_chat(self, chat: ChatRef) -> FakeChat:
        found = self.world.chats.get(_chat_id(chat))
        if found is None:
            raise ValueError(f"unknown chat {_chat_id(chat)}; create it with group() or user()")
        return found


def _chat_id(chat: ChatRef) -> int:
    return chat if isinstance(chat, int) else chat.id


def _message_key(message: MessageRef) -> tuple[int, int]:
    if isinstance(message, RecordedCall):
        if message.message is None:
            raise ValueError(f"call #{message.index} produced no message")
        message = message.message
    return message["chat"]["id"], message["message_id"]
