"""What every handler shares: replying in the right chat and forum topic, reading commands, admin checks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.telegram.context import BotContext
from bot.telegram.format import split_html
from bot.telegram.i18n import t

# A coroutine function, not any awaitable: PTB runs callbacks with asyncio.create_task.
Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")
# What only admins may do: these commands (the admin /help lists exactly these, a test holds them
# equal) and buttons whose data starts with these prefixes. A non-admin's try is audited.
ADMIN_COMMANDS = ("addsource", "removesource", "pause", "resume", "reload", "stats", "users")
_ADMIN_BUTTON = re.compile(r"^(?:acc|src|usr):")


def thread_of(message: Message | None) -> int | None:
    """The forum topic a message belongs to (replies must go there too), else None."""
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


async def reply(
    update: Update, ctx: BotContext, html: str | Sequence[str], *, keyboard: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send HTML (split into parts <= 4096) to the update's chat and topic; the keyboard rides the last part."""
    target = reply_target(update)
    if target is None:
        return None
    parts = [p for text in ([html] if isinstance(html, str) else html) for p in split_html(text)]
    sent = None
    for number, part in enumerate(parts, start=1):
        last = number == len(parts)
        sent = await ctx.bot.send_message(
            target.chat_id,
            part,
            message_thread_id=target.thread_id,
            reply_markup=keyboard if last else None,
            reply_parameters=target.quote if number == 1 else None,
        )
    return sent


async def edit_in_place(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Show `text` in the pressed message; the same view pressed twice ("message is not modified") is no error."""
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as err:
        if "not modified" not in str(err).lower():
            raise


@dataclass(frozen=True, slots=True)
class ReplyTarget:
    """Where an answer to an update goes: its chat, its forum topic, the message it quotes."""

    chat_id: int
    thread_id: int | None
    quote: ReplyParameters | None


def reply_target(update: Update) -> ReplyTarget | None:
    """The chat and topic of the update; in groups the question is quoted (several people talk at once)."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None:
        return None
    quote = None
    if message is not None and chat.type != ChatType.PRIVATE and update.callback_query is None:
        quote = ReplyParameters(message.message_id, allow_sending_without_reply=True)
    return ReplyTarget(chat.id, thread_of(message), quote)


def chat_of(update: Update) -> int:
    """The update's chat id (0 when it has none: the gate lets no such update through)."""
    return update.effective_chat.id if update.effective_chat else 0


def command_of(text: str | None) -> tuple[str, str | None] | None:
    """('search', 'mediabot') for '/search@mediabot …'; None when the text is not a command."""
    match = _COMMAND.match(text or "")
    return (match.group(1).lower(), match.group(2)) if match else None


def command_text(update: Update) -> str:
    """Everything after the command word, stripped ('' when nothing follows)."""
    text = update.effective_message.text if update.effective_message else ""
    parts = (text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def mentions_bot(text: str, username: str) -> bool:
    """True when `text` contains @username (Telegram usernames are case-insensitive)."""
    return bool(re.search(rf"(?<![\w@])@{re.escape(username)}\b", text, re.IGNORECASE))


def without_mention(text: str, username: str) -> str:
    """The question with the bot's @mention removed."""
    return " ".join(re.sub(rf"(?<![\w@])@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).split())


def replies_to_bot(message: Message, bot: Bot) -> bool:
    """A real reply to one of the bot's messages (not the implicit reply to a forum topic's start)."""
    target = message.reply_to_message
    if target is None or target.from_user is None or target.from_user.id != bot.id:
        return False
    return not (message.is_topic_message and target.message_id == message.message_thread_id)


def addressed_to_bot(update: Update, bot: Bot) -> bool:
    """Is this update for us? Buttons, private chats, our commands, @mentions and replies to us are."""
    if update.callback_query is not None:
        return True
    message = update.message
    if message is None:
        return False  # edits, channel posts, membership changes
    if message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or message.caption or ""
    command = command_of(text)
    if command is not None:
        target = command[1]
        return target is None or target.lower() == (bot.username or "").lower()
    return mentions_bot(text, bot.username or "") or replies_to_bot(message, bot)


def admin_attempt(update: Update) -> str | None:
    """The admin command ('/users …') or admin button data in this update, else None."""
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return data if _ADMIN_BUTTON.match(data) else None
    text = update.message.text if update.message else None
    command = command_of(text)
    return (text or "").strip() if command and command[0] in ADMIN_COMMANDS else None


def admin_only(handler: Handler) -> Handler:
    """Let only configured admins run `handler`; others are told it is for admins, and it is audited."""

    @functools.wraps(handler)
    async def guarded(update: Update, ctx: BotContext) -> None:
        user = update.effective_user
        if user is None or not ctx.access.is_admin(user.id):
            if user is not None:
                await ctx.access.refused_attempt(user.id, admin_attempt(update) or handler.__name__)
            await reply(update, ctx, t("admin.not_allowed", ctx.lang))
            return
        await handler(update, ctx)

    return guarded


async def admin_press(update: Update, ctx: BotContext, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """The parsed data of a button pressed by an admin; for anyone else (audited), or data we did
    not make, the press is answered silently and None is returned (the button does nothing)."""
    query, user = update.callback_query, update.effective_user
    match = pattern.match(query.data or "") if query else None
    if user is not None and query is not None and not ctx.access.is_admin(user.id):
        await ctx.access.refused_attempt(user.id, query.data or "")
        match = None
    if match is None or user is None:
        if query is not None:
            await query.answer()
        return None
    return match
