"""The fake server's state (chats, messages, files, calls, faults) and synchronous dispatch.

Both the server's event-loop thread and the test threads touch it, always under `lock`.
A recorded call sets the events of the watchers of its chat only: with 50 simulated users
each waiting for its own reply, waking every waiter on every call would cost more CPU than
serving the requests. `changed` is notified when a long poll starts waiting.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram._flood import FloodControl
from tests.fakes.telegram._objects import (
    MESSAGE_METHODS,
    ApiError,
    FakeChat,
    FakeUser,
    RecordedCall,
    StoredFile,
    UploadedFile,
    bad_request,
)
from tests.fakes.telegram._updates import UpdateQueue

Response = tuple[int, dict[str, Any]]
Handler = Callable[["World", dict[str, Any], dict[str, UploadedFile]], Any]
# Methods that count against Telegram's flood limits.
FLOOD_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})  # an edit counts like a send


@dataclass(slots=True)
class Fault:
    """An injected failure for the next call of one method: an API error, or a dropped connection."""

    error: ApiError | None


class World:
    """Everything the fake Telegram knows. Callers hold `lock` around every access."""

    def __init__(self, token: str, bot_username: str, bot_name: str, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.token = token
        self.bot = FakeUser(int(token.split(":", 1)[0]), bot_name, username=bot_username, is_bot=True)
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, dict[str, Any] | None] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] = {}
        self.member_status: dict[tuple[int, int], str] = {}
        self.default_member_status = "member"
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}  # a group that became a supergroup → the supergroup's id
        self.left: set[int] = set()
        self.calls: list[RecordedCall] = []
        self.updates = UpdateQueue()
        # (chat id, user message id) or (None, callback query id) → len(calls) when the user acted
        self.marks: dict[tuple[int | None, int | str], int] = {}
        self.faults: dict[str, deque[Fault]] = {}
        self.flood: FloodControl | None = None
        # Seconds between recording a call and answering it: the message is delivered, the bot
        # does not know yet (a slow way back; what a crash between send and mark looks like).
        self.answer_delay = 0.0
        # An outage window (`FakeTelegram.outage`): None, "502" (every call answered 502 Bad Gateway
        # and nothing done) or "hang" (every call held unanswered, past any client timeout, and
        # nothing done; the connection is dropped when the window closes).
        self.outage: str | None = None
        self.watchers: list[tuple[int | None, threading.Event]] = []
        self.polls_waiting = 0
        self.polls_total = 0
        self.on_update: Callable[[], None] = lambda: None
        self._last_message_id: dict[int, int] = {}
        self._file_counter = 0

    # -- chats and messages ------------------------------------------------------------------

    def add_chat(self, chat: FakeChat) -> FakeChat:
        """Register a chat (idempotent); the bot is a member of it."""
        self.chats[chat.id] = chat
        self.messages.setdefault(chat.id, {})
        self.left.discard(chat.id)
        return chat

    def resolve_chat(self, ref: Any) -> FakeChat:
        """A chat by id (int or numeric string) or @username, else 400 chat not found."""
        if isinstance(ref, str) and ref.startswith("@"):
            found = next((c for c in self.chats.values() if c.username and f"@{c.username}" == ref), None)
        else:
            try:
                found = self.chats.get(int(ref))
            except (TypeError, ValueError):
                found = None
        if found is None:
            raise bad_request("chat not found") if ref not in (None, "") else bad_request("chat_id is empty")
        if found.id in self.migrated:  # Telegram answers every call to the old id so, with the new id
            detail = "group chat was upgraded to a supergroup chat"
            raise ApiError(400, f"Bad Request: {detail}", migrate_to_chat_id=self.migrated[found.id])
        return found

    def writable_chat(self, ref: Any) -> FakeChat:
        """A chat the bot may post in: 403 when blocked by the user or no longer a member."""
        chat = self.resolve_chat(ref)
        if chat.type == "private" and chat.id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.id in self.left:
            kind = "supergroup chat" if chat.type == "supergroup" else f"{chat.type} chat"
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return chat

    def add_message(self, chat: FakeChat, sender: FakeUser, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a new message in `chat`; ids increase per chat as in Telegram."""
        message_id = self._last_message_id.get(chat.id, 0) + 1
        self._last_message_id[chat.id] = message_id
        message = {
            "message_id": message_id,
            "from": sender.to_dict(),
            "chat": chat.to_dict(),
            "date": int(time.time()),
            **fields,
        }
        self.messages.setdefault(chat.id, {})[message_id] = message
        return message

    def stored_message(self, chat_id: int, message_id: Any) -> dict[str, Any] | None:
        """The current state of a message, or None (never existed or deleted)."""
        try:
            return self.messages.get(chat_id, {}).get(int(message_id))
        except (TypeError, ValueError):
            return None

    # -- files -------------------------------------------------------------------------------

    def add_file(self, data: bytes, folder: str, filename: str | None, mime_type: str | None) -> StoredFile:
        """Keep bytes the bot uploaded, reachable by getFile and the download URL."""
        self._file_counter += 1
        number = self._file_counter
        extension = (filename or "").rpartition(".")[2] if "." in (filename or "") else ""
        if not extension and mime_type:
            extension = (mimetypes.guess_extension(mime_type) or ".bin").lstrip(".")
        stored = StoredFile(
            file_id=f"FAKE{number:06d}-{folder}",
            file_unique_id=f"U{number:06d}",
            file_path=f"{folder}/file_{number}.{extension or 'bin'}",
            data=data,
            filename=filename,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def store_upload(self, upload: UploadedFile, folder: str) -> StoredFile:
        """Store a multipart upload, guessing the MIME type from the name when the client sent none."""
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename)[0] or mime
        return self.add_file(upload.data, folder, upload.filename, mime)

    # -- dispatch ----------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Response | None:
        """Run one Bot API method; None means drop the connection without answering."""
        with self.lock:
            fault = self.take_fault(method)
            if fault is not None:
                return self._answer_fault(method, params, files, fault)
            try:
                self._check_flood(method, params)
                result = self.handlers[method](self, params, files)
            except ApiError as error:
                self.record(method, params, files, error=error)
                return error.error_code, error.payload()
            self.record(method, params, files, result=result)
            return 200, {"ok": True, "result": result}

    def take_fault(self, method: str) -> Fault | None:
        """Pop the next injected fault for `method`."""
        queue = self.faults.get(method.lower())
        return queue.popleft() if queue else None

    def _answer_fault(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], fault: Fault
    ) -> Response | None:
        if fault.error is None:
            self.record(method, params, files, dropped=True)
            return None
        self.record(method, params, files, error=fault.error)
        return fault.error.error_code, fault.error.payload()

    def _check_flood(self, method: str, params: dict[str, Any]) -> None:
        if self.flood is None or method not in FLOOD_METHODS:
            return
        chat = self.resolve_chat(params.get("chat_id"))
        wait = self.flood.retry_after(chat.id, chat.is_group, time.monotonic())
        if wait is not None:
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def record(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        *,
        result: Any = None,
        error: ApiError | None = None,
        dropped: bool = False,
    ) -> RecordedCall:
        """Append a call to the log, attribute replies to updates, and wake waiting tests."""
        call = RecordedCall(len(self.calls), method, params, files, time.monotonic(), result=result, dropped=dropped)
        if error is not None:
            call.error_code, call.description = error.error_code, error.description
        self.calls.append(call)
        if call.ok and method in MESSAGE_METHODS:
            self.updates.link_reply(call)
        for chat_id, event in self.watchers:
            if chat_id is None or chat_id == call.chat_id:
                event.set()
        return call

    def push_update(self, kind: str, payload: dict[str, Any], chat_id: int, message_id: int | None) -> int:
        """Enqueue an update for getUpdates and wake long polls."""
        timing = self.updates.push(kind, payload, chat_id, message_id, time.monotonic())
        self.on_update()
        return timing.update_id
