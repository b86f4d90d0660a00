"""Value objects of the fake Bot API: users, chats, files, recorded calls, update timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Calls that put content in front of the user: what tests wait for and what answers an update.
MESSAGE_METHODS = frozenset({"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "editMessageCaption"})


class ApiError(Exception):
    """A Bot API failure, answered as `{"ok": false, "error_code", "description", ...}`."""

    def __init__(
        self, error_code: int, description: str, retry_after: int | None = None, migrate_to_chat_id: int | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> dict[str, Any]:
        """Telegram's error body."""
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return body


def bad_request(detail: str) -> ApiError:
    """400 with Telegram's `Bad Request: ` prefix."""
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True, slots=True)
class FakeUser:
    """A Telegram user the test acts as."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The `User` object as Telegram sends it."""
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True, slots=True)
class FakeChat:
    """A private chat, group, supergroup (optionally a forum) or channel."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False

    @classmethod
    def private(cls, user: FakeUser) -> FakeChat:
        """The private chat between `user` and the bot."""
        return cls(user.id, "private", username=user.username, first_name=user.first_name, last_name=user.last_name)

    @property
    def is_group(self) -> bool:
        """Groups and supergroups (the 20 messages/minute limit applies)."""
        return self.type in ("group", "supergroup")

    def to_dict(self) -> dict[str, Any]:
        """The `Chat` object as Telegram sends it."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """One multipart file part as the client sent it."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the fake server holds, reachable by `getFile` and the file download URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None


@dataclass(slots=True)
class RecordedCall:
    """One Bot API call the bot made (getUpdates excepted), with what the fake answered."""

    index: int
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    at: float
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    dropped: bool = False

    @property
    def ok(self) -> bool:
        """The call succeeded (no error, connection not dropped)."""
        return self.error_code is None and not self.dropped

    @property
    def chat_id(self) -> Any:
        """The target chat: from the returned message, else the chat_id parameter."""
        if isinstance(self.result, dict) and "chat" in self.result:
            return self.result["chat"]["id"]
        return self.params.get("chat_id")

    @property
    def message(self) -> dict[str, Any] | None:
        """The Message object returned, when the call produced one."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return self.result
        return None

    @property
    def message_id(self) -> int | None:
        """The id of the message sent or changed."""
        message = self.message
        return message["message_id"] if message else self.params.get("message_id")

    @property
    def text(self) -> str | None:
        """Plain text (or caption) after entity parsing, as a user would read it."""
        message = self.message
        if message is not None:
            return message.get("text", message.get("caption"))
        return self.params.get("text", self.params.get("caption"))

    @property
    def html(self) -> str | None:
        """The text or caption exactly as the bot sent it (markup included)."""
        return self.params.get("text", self.params.get("caption"))

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Inline keyboard rows sent with the call."""
        markup = self.params.get("reply_markup") or {}
        return markup.get("inline_keyboard", []) if isinstance(markup, dict) else []

    @property
    def callback_data(self) -> list[str]:
        """callback_data of every inline button sent with the call."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]

    def summary(self) -> str:
        """One line for failure dumps."""
        status = "dropped" if self.dropped else ("ok" if self.ok else f"{self.error_code} {self.description}")
        text = (self.html or "").replace("\n", "⏎")
        text = text[:120] + "…" if len(text) > 120 else text
        return f"#{self.index} {self.method} chat={self.chat_id} [{status}] {text!r}"


@dataclass(slots=True)
class UpdateTiming:
    """When an update was enqueued, first fetched by the bot, and first answered in its chat."""

    update_id: int
    kind: str
    chat_id: int
    message_id: int | None
    enqueued_at: float
    fetched_at: float | None = None
    replied_at: float | None = None
    reply: RecordedCall | None = field(default=None, repr=False)

    @property
    def latency(self) -> float | None:
        """Seconds from the user's action to the bot's reply."""
        return None if self.replied_at is None else self.replied_at - self.enqueued_at

    @property
    def handling(self) -> float | None:
        """Seconds from the bot fetching the update to its reply."""
        if self.replied_at is None or self.fetched_at is None:
            return None
        return self.replied_at - self.fetched_at
