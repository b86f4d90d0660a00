"""A group upgraded to a supergroup: a new chat id, the old one answering 400 with `migrate_to_chat_id`."""

from __future__ import annotations

import copy

from tests.fakes.telegram._objects import FakeChat, FakeUser
from tests.fakes.telegram._world import World


def migrate_group(world: World, old_id: int, new_id: int, by: FakeUser, announce: bool) -> FakeChat:
    """Make group `old_id` the supergroup `new_id` (same title and members). Hold `world.lock`.

    From now on every call naming the old id gets Telegram's 400 "group chat was upgraded to a
    supergroup chat" with `parameters.migrate_to_chat_id`. `announce`: the bot receives the two
    service messages Telegram sends, `migrate_to_chat_id` in the old group and
    `migrate_from_chat_id` in the new one (False: the bot missed them, e.g. it was down).
    """
    old = world.chats.get(old_id)
    if old is None or old.type != "group":
        raise ValueError(f"chat {old_id} is not a group (only a basic group becomes a supergroup)")
    if new_id in world.chats:
        raise ValueError(f"chat {new_id} exists already")
    new = world.add_chat(FakeChat(new_id, "supergroup", title=old.title, username=old.username))
    for (chat_id, user_id), status in list(world.member_status.items()):
        if chat_id == old_id:
            world.member_status[(new_id, user_id)] = status
    world.users.setdefault(by.id, by)
    if announce:
        _service_message(world, old, by, {"migrate_to_chat_id": new_id})
        _service_message(world, new, by, {"migrate_from_chat_id": old_id})
    world.migrated[old_id] = new_id
    return new


def _service_message(world: World, chat: FakeChat, by: FakeUser, fields: dict[str, int]) -> None:
    message = world.add_message(chat, by, dict(fields))
    world.push_update("message", copy.deepcopy(message), chat.id, message["message_id"])
