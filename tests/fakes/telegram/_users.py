"""What users do: write messages and press inline buttons, turned into updates for getUpdates."""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.telegram._html import utf16_len
from tests.fakes.telegram._objects import FakeChat, FakeUser
from tests.fakes.telegram._world import World


def post_user_text(
    world: World, user: FakeUser, chat: FakeChat, text: str, thread_id: int | None, reply_to: int | None
) -> int:
    """Store the user's message, enqueue its update and return its message id. Hold `world.lock`."""
    world.users.setdefault(user.id, user)
    fields: dict[str, Any] = {"text": text}
    if entity := command_entity(text):
        fields["entities"] = [entity]
    fields.update(_placement(world, chat, thread_id, reply_to))
    message = world.add_message(chat, user, fields)
    message_id = message["message_id"]
    world.marks[(chat.id, message_id)] = len(world.calls)
    world.push_update("message", copy.deepcopy(message), chat.id, message_id)
    return message_id


def _placement(world: World, chat: FakeChat, thread_id: int | None, reply_to: int | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if reply_to is not None:
        replied = world.stored_message(chat.id, reply_to)
        if replied is None:
            raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
        fields["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        thread_id = thread_id if thread_id is not None else replied.get("message_thread_id")
    if thread_id is not None:
        fields["message_thread_id"] = thread_id
        if chat.is_forum:
            fields["is_topic_message"] = True
    return fields


def post_button_press(
    world: World, user: FakeUser, chat_id: int, message_id: int, data: str, query_id: str, forged: bool = False
) -> None:
    """Enqueue a callback_query for a button the message really offers (any data when `forged`). Hold `world.lock`."""
    current = world.stored_message(chat_id, message_id)
    if current is None:
        raise AssertionError(f"message {message_id} in chat {chat_id} does not exist (deleted?)")
    rows = current.get("reply_markup", {}).get("inline_keyboard", [])
    offered = [button.get("callback_data") for row in rows for button in row]
    if data not in offered and not forged:
        raise AssertionError(f"message {message_id} has no button {data!r}; it has {offered}")
    world.users.setdefault(user.id, user)
    world.callback_queries[query_id] = None
    world.marks[(None, query_id)] = len(world.calls)  # query ids are unique across chats
    payload = {
        "id": query_id,
        "from": user.to_dict(),
        "message": copy.deepcopy(current),
        "chat_instance": str(abs(chat_id) * 7919 % 10**12),
        "data": data,
    }
    world.push_update("callback_query", payload, chat_id, message_id)


def command_entity(text: str) -> dict[str, Any] | None:
    """Telegram marks `/cmd` or `/cmd@bot` at the start of a message as a bot_command."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    return {"type": "bot_command", "offset": 0, "length": utf16_len(text.split(maxsplit=1)[0])}
