"""The remaining Bot API methods (bot identity, webhook, commands, chats, files, callbacks)
and the registry of every method the fake answers."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.telegram import _send
from tests.fakes.telegram._objects import ApiError, bad_request
from tests.fakes.telegram._send import Files, Params, int_param
from tests.fakes.telegram._world import Handler, World

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_RESTRICTIONS = (
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_send_messages",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_manage_topics",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_edit_tag",
    "can_react_to_messages",
)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "restricted", "left", "kicked"})


def get_me(world: World, params: Params, files: Files) -> dict[str, Any]:
    """getMe."""
    return {
        **world.bot.to_dict(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _true(world: World, params: Params, files: Files) -> bool:
    return True


def set_webhook(world: World, params: Params, files: Files) -> bool:
    """setWebhook: stored; an empty URL removes it, as in Telegram."""
    url = str(params.get("url") or "")
    if url and not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if params.get("drop_pending_updates"):
        world.updates.drop_pending()
    world.webhook = {"url": url, **{k: v for k, v in params.items() if k != "url"}} if url else {}
    return True


def delete_webhook(world: World, params: Params, files: Files) -> bool:
    """deleteWebhook."""
    if params.get("drop_pending_updates"):
        world.updates.drop_pending()
    world.webhook = {}
    return True


def get_webhook_info(world: World, params: Params, files: Files) -> dict[str, Any]:
    """getWebhookInfo."""
    info: dict[str, Any] = {
        "url": world.webhook.get("url", ""),
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.pending),
    }
    for key in ("max_connections", "allowed_updates", "ip_address"):
        if key in world.webhook:
            info[key] = world.webhook[key]
    return info


def _command_key(params: Params) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")


def set_my_commands(world: World, params: Params, files: Files) -> bool:
    """setMyCommands, validated like Telegram (lowercase a-z, digits, underscore)."""
    commands = params.get("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for item in commands:
        if not isinstance(item, dict) or not _COMMAND.match(str(item.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(item.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    world.commands[_command_key(params)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


def get_my_commands(world: World, params: Params, files: Files) -> list[dict[str, str]]:
    """getMyCommands."""
    return list(world.commands.get(_command_key(params), []))


def delete_my_commands(world: World, params: Params, files: Files) -> bool:
    """deleteMyCommands."""
    world.commands.pop(_command_key(params), None)
    return True


def send_chat_action(world: World, params: Params, files: Files) -> bool:
    """sendChatAction."""
    world.writable_chat(params.get("chat_id"))
    if params.get("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


def answer_callback_query(world: World, params: Params, files: Files) -> bool:
    """answerCallbackQuery: each query can be answered once."""
    query_id = str(params.get("callback_query_id") or "")
    if query_id not in world.callback_queries or world.callback_queries[query_id] is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    if len(str(params.get("text") or "")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    world.callback_queries[query_id] = dict(params)
    return True


def get_file(world: World, params: Params, files: Files) -> dict[str, Any]:
    """getFile."""
    stored = world.files.get(str(params.get("file_id") or ""))
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": stored.file_path,
    }


def get_chat(world: World, params: Params, files: Files) -> dict[str, Any]:
    """getChat: a ChatFullInfo with the fields PTB requires."""
    chat = world.resolve_chat(params.get("chat_id"))
    gifts = dict.fromkeys(
        ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"), False
    )
    return {**chat.to_dict(), "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}


def get_chat_member(world: World, params: Params, files: Files) -> dict[str, Any]:
    """getChatMember: status as configured by the test, `member` by default."""
    chat = world.resolve_chat(params.get("chat_id"))
    user_id = int_param(params, "user_id")
    user = world.bot if user_id == world.bot.id else world.users.get(user_id)
    if user is None:
        raise bad_request("PARTICIPANT_ID_INVALID")
    status = world.member_status.get((chat.id, user_id), world.default_member_status)
    return member_dict(user.to_dict(), status)


def member_dict(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember of any status with the fields PTB's subclasses require."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(dict.fromkeys(_ADMIN_RIGHTS, False), can_manage_chat=True, can_delete_messages=True)
    elif status == "restricted":
        member.update(dict.fromkeys(_RESTRICTIONS, False), is_member=True, until_date=0)
    elif status == "kicked":
        member["until_date"] = 0
    return member


def leave_chat(world: World, params: Params, files: Files) -> bool:
    """leaveChat: later sends to the chat get 403."""
    chat = world.resolve_chat(params.get("chat_id"))
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    world.left.add(chat.id)
    return True


def _unreachable_get_updates(world: World, params: Params, files: Files) -> Any:
    raise ApiError(500, "Internal Server Error: getUpdates is served by the event loop")


HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "getUpdates": _unreachable_get_updates,
    "logOut": _true,
    "close": _true,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "sendMessage": _send.send_message,
    "editMessageText": _send.edit_message_text,
    "editMessageCaption": _send.edit_message_caption,
    "editMessageReplyMarkup": _send.edit_message_reply_markup,
    "deleteMessage": _send.delete_message,
    "sendPhoto": _send.send_photo,
    "sendDocument": _send.send_document,
    "sendChatAction": send_chat_action,
    "answerCallbackQuery": answer_callback_query,
    "getFile": get_file,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "leaveChat": leave_chat,
}
# Telegram matches method names case-insensitively.
CANONICAL = {name.lower(): name for name in HANDLERS}
