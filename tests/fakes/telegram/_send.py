"""Bot API methods that create or change messages, with Telegram's validation and errors."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.telegram._html import HtmlError, parse_html, utf16_len
from tests.fakes.telegram._media import image_size
from tests.fakes.telegram._objects import ApiError, FakeChat, StoredFile, UploadedFile, bad_request
from tests.fakes.telegram._world import World

Params = dict[str, Any]
Files = dict[str, UploadedFile]
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DOCUMENT_LIMIT = 50 * 1024 * 1024
_URL_PLACEHOLDER_SIZE = (800, 600)
_THUMB_SIDE = 90
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_BUTTON_KINDS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
    "copy_text",
)
_TEXT_BUTTON = "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"


def int_param(params: Params, name: str) -> int:
    """A required integer parameter, with Telegram's error when missing or malformed."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is empty")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def formatted(params: Params, key: str) -> tuple[str, list[dict[str, Any]]]:
    """Text or caption after entity parsing, validated as Telegram does."""
    raw = params.get(key)
    if raw is None or raw == "":
        if key == "text":
            raise bad_request("message text is empty")
        return "", []
    if not isinstance(raw, str):
        raw = str(raw)
    mode = str(params.get("parse_mode") or "").lower()
    if mode == "html":
        try:
            plain, entities = parse_html(raw)
        except HtmlError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode in ("", "markdown", "markdownv2"):
        # Markdown is accepted unvalidated; mediabot formats HTML.
        plain = raw
        entities = list(params.get("entities" if key == "text" else "caption_entities") or [])
    else:
        raise bad_request(f"unsupported parse_mode {params.get('parse_mode')!r}")
    if key == "text" and not plain.strip():
        raise bad_request("message text is empty")
    if key == "text" and utf16_len(plain) > TEXT_LIMIT:
        raise bad_request("message is too long")
    if key == "caption" and utf16_len(plain) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return plain, entities


def inline_markup(params: Params) -> dict[str, Any] | None:
    """The inline keyboard to echo in the Message (other markups are only recorded)."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (b for row in rows for b in row):
        _check_button(button)
    return {"inline_keyboard": rows}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request(_TEXT_BUTTON)
    if not any(kind in button for kind in _BUTTON_KINDS):
        raise bad_request(_TEXT_BUTTON)
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _reply_target(world: World, chat: FakeChat, params: Params) -> dict[str, Any] | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict):
        message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
    else:
        message_id, allow = params.get("reply_to_message_id"), params.get("allow_sending_without_reply")
    if message_id is None:
        return None
    target = world.stored_message(chat.id, message_id)
    if target is None and not allow:
        raise bad_request("message to be replied not found")
    return target


def _placement(world: World, chat: FakeChat, params: Params) -> dict[str, Any]:
    """reply_to_message and forum-topic fields shared by every send method."""
    fields: dict[str, Any] = {}
    target = _reply_target(world, chat, params)
    if target is not None:
        fields["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
    thread = params.get("message_thread_id")
    if thread is None and target is not None and target.get("is_topic_message"):
        thread = target["message_thread_id"]  # a reply stays in the topic of what it answers
    if chat.is_forum and thread not in (None, "", 0, "0"):
        fields["message_thread_id"] = int(thread)
        fields["is_topic_message"] = True
    markup = inline_markup(params)
    if markup is not None:
        fields["reply_markup"] = markup
    return fields


def _text_fields(key: str, plain: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {key: plain}
    if entities:
        fields["entities" if key == "text" else "caption_entities"] = entities
    return fields


def send_message(world: World, params: Params, files: Files) -> dict[str, Any]:
    """sendMessage."""
    chat = world.writable_chat(params.get("chat_id"))
    plain, entities = formatted(params, "text")
    fields = {**_text_fields("text", plain, entities), **_placement(world, chat, params)}
    return copy.deepcopy(world.add_message(chat, world.bot, fields))


def send_photo(world: World, params: Params, files: Files) -> dict[str, Any]:
    """sendPhoto: upload, file_id or URL; answers with PhotoSize variants."""
    chat = world.writable_chat(params.get("chat_id"))
    caption, entities = formatted(params, "caption")
    stored = _input_file(world, params, files, "photo")
    size = image_size(stored.data) if stored.data else _URL_PLACEHOLDER_SIZE
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    fields = {"photo": _photo_sizes(world, stored, size), **_placement(world, chat, params)}
    if caption:
        fields.update(_text_fields("caption", caption, entities))
    return copy.deepcopy(world.add_message(chat, world.bot, fields))


def send_document(world: World, params: Params, files: Files) -> dict[str, Any]:
    """sendDocument: upload, file_id or URL; answers with a Document."""
    chat = world.writable_chat(params.get("chat_id"))
    caption, entities = formatted(params, "caption")
    stored = _input_file(world, params, files, "document")
    document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}
    if stored.filename:
        document["file_name"] = stored.filename
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    fields = {"document": document, **_placement(world, chat, params)}
    if caption:
        fields.update(_text_fields("caption", caption, entities))
    return copy.deepcopy(world.add_message(chat, world.bot, fields))


def _input_file(world: World, params: Params, files: Files, field: str) -> StoredFile:
    value = params.get(field)
    upload = files.get(field)
    if upload is None and isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value.removeprefix("attach://"))
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if len(upload.data) > DOCUMENT_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        return world.store_upload(upload, f"{field}s")
    if not value:
        raise bad_request(f"there is no {field} in the request")
    if value in world.files:
        return world.files[value]
    if str(value).startswith(("http://", "https://")):
        # No network here: Telegram would fetch the URL; keep it as an empty placeholder file.
        return world.add_file(b"", f"{field}s", str(value).rsplit("/", 1)[-1] or None, None)
    raise bad_request("wrong file identifier/HTTP URL specified")


def _photo_sizes(world: World, stored: StoredFile, size: tuple[int, int]) -> list[dict[str, Any]]:
    width, height = size
    scale = min(1.0, _THUMB_SIDE / max(width, height, 1))
    thumb = world.add_file(stored.data, "photos", None, stored.mime_type or "image/jpeg")
    variants = [(thumb, max(1, round(width * scale)), max(1, round(height * scale))), (stored, width, height)]
    return [
        {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data), "width": w, "height": h}
        for f, w, h in variants
    ]


def _editable(world: World, params: Params) -> dict[str, Any]:
    chat = world.resolve_chat(params.get("chat_id"))
    message = world.stored_message(chat.id, int_param(params, "message_id"))
    if message is None:
        raise bad_request("message to edit not found")
    if message["from"]["id"] != world.bot.id:
        raise bad_request("message can't be edited")
    return message


def _apply_edit(message: dict[str, Any], changes: dict[str, Any], params: Params) -> dict[str, Any]:
    markup = inline_markup(params)
    before = {key: message.get(key) for key in (*changes, "reply_markup")}
    after = {**changes, "reply_markup": markup}
    if before == after:
        raise bad_request(_NOT_MODIFIED)
    for key, value in after.items():
        if value in (None, []):
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = int(time.time())
    return copy.deepcopy(message)


def edit_message_text(world: World, params: Params, files: Files) -> dict[str, Any] | bool:
    """editMessageText (inline messages answer True, as in Telegram)."""
    if params.get("inline_message_id"):
        formatted(params, "text")
        return True
    message = _editable(world, params)
    plain, entities = formatted(params, "text")
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    return _apply_edit(message, {"text": plain, "entities": entities or None}, params)


def edit_message_caption(world: World, params: Params, files: Files) -> dict[str, Any] | bool:
    """editMessageCaption."""
    if params.get("inline_message_id"):
        return True
    message = _editable(world, params)
    if "text" in message:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = formatted(params, "caption")
    return _apply_edit(message, {"caption": caption or None, "caption_entities": entities or None}, params)


def edit_message_reply_markup(world: World, params: Params, files: Files) -> dict[str, Any] | bool:
    """editMessageReplyMarkup."""
    if params.get("inline_message_id"):
        return True
    return _apply_edit(_editable(world, params), {}, params)


def delete_message(world: World, params: Params, files: Files) -> bool:
    """deleteMessage."""
    chat = world.resolve_chat(params.get("chat_id"))
    if world.messages.get(chat.id, {}).pop(int_param(params, "message_id"), None) is None:
        raise bad_request("message to delete not found")
    return True
