"""The gate every update passes first, refusals, access requests to admins, and their Approve/Deny buttons.

A stranger (private mode, private chat) gets one refusal an hour, and a group nobody put in
`access.chats` gets one short refusal an hour naming its id; both are remembered in the
database (bot.store.access), so a restart does not repeat them. Each refusal and each request
to an admin takes a token from the courtesy budget first (bot.telegram.limiter): a flood of
strangers cannot spend the send budget members' answers need. Without a token nothing is sent
and nothing is lost: the request waits in /users.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.services.access import ALLOWED, GROUP_NOT_ALLOWED, Ask
from bot.telegram.context import LANG_KEY, PREF_KEY, BotContext
from bot.telegram.format import local_time
from bot.telegram.handlers.common import addressed_to_bot, admin_attempt, admin_press, reply
from bot.telegram.i18n import pick_language, t, t_plain

log = logging.getLogger(__name__)
_DECISION = re.compile(r"^acc:([ad]):(\d{1,20})$")


async def gate(update: Update, ctx: BotContext) -> None:
    """Before any handler: drop what is not for us, pick the user's language, refuse strangers."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot or not addressed_to_bot(update, ctx.bot):
        raise ApplicationHandlerStop
    await remember_language(ctx, user)
    verdict = await ctx.access.verdict(user.id, chat.id, chat.type)
    if verdict == ALLOWED:
        return
    attempt = admin_attempt(update)  # admins are always let through, so this is a non-admin's try
    if attempt is not None:
        await ctx.access.refused_attempt(user.id, attempt)
    if update.callback_query is not None:
        await update.callback_query.answer()  # a stranger's button press does nothing
    elif verdict == GROUP_NOT_ALLOWED:
        await refuse_group(update, ctx, chat.id)
    else:
        await refuse(update, ctx, user)
    raise ApplicationHandlerStop


async def remember_language(ctx: BotContext, user: User) -> None:
    """Resolve the user's language once per update; the /lang choice is read from the database once."""
    data = ctx.user_data
    if data is None:
        return
    if PREF_KEY not in data:
        data[PREF_KEY] = await ctx.access.language(user.id)
    data[LANG_KEY] = pick_language(user.language_code, data[PREF_KEY], ctx.config.organization.language)


async def refuse(update: Update, ctx: BotContext, user: User) -> None:
    """At most one polite refusal an hour with the user's id; admins hear about a request once."""
    if not await ctx.access.refusal_due(user.id):
        return  # refused within the hour: a flood costs one read per message, no write, no send
    ask = await ctx.access.ask(user.id, user.full_name, user.username)
    if ctx.services.courtesy.take() and await ctx.access.claim_refusal(user.id):
        await reply(update, ctx, _refusal_text(ctx, user.id, ask))
    if ask.notify_admins:
        for admin_id in ctx.config.access.admins:
            if ctx.services.courtesy.take():
                await _notify_admin(ctx, admin_id, user)


def _refusal_text(ctx: BotContext, user_id: int, ask: Ask) -> str:
    if ask.retry_at is None or ask.notify_admins:
        return t("access.refused", ctx.lang, user_id=user_id)
    when = local_time(ask.retry_at, ctx.config.organization.tz)
    return t("access.refused_denied", ctx.lang, user_id=user_id, when=when)


async def refuse_group(update: Update, ctx: BotContext, chat_id: int) -> None:
    """A group nobody allowed: one short refusal an hour, naming the id an admin would allow."""
    if not await ctx.access.refusal_due(chat_id):
        return
    if ctx.services.courtesy.take() and await ctx.access.claim_refusal(chat_id):
        await reply(update, ctx, t("access.group_refused", ctx.lang, chat_id=chat_id))


async def _notify_admin(ctx: BotContext, admin_id: int, user: User) -> None:
    lang = await language_of(ctx, admin_id)
    key = "access.request" if user.username else "access.request_no_username"
    text = t(key, lang, name=user.full_name, username=user.username or "", user_id=user.id)
    text += "\n" + t("access.request_more", lang)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t_plain("button.approve", lang), callback_data=f"acc:a:{user.id}"),
                InlineKeyboardButton(t_plain("button.deny", lang), callback_data=f"acc:d:{user.id}"),
            ]
        ]
    )
    try:
        await ctx.bot.send_message(admin_id, text, reply_markup=keyboard)
    except TelegramError as err:  # an admin who never opened the bot cannot be written to
        log.warning("cannot notify admin %s of an access request: %s", admin_id, err)


async def language_of(ctx: BotContext, user_id: int) -> str:
    """The language to write to another user in (their last seen language, /lang choice, or default)."""
    seen = ctx.application.user_data.get(user_id, {}).get(LANG_KEY)
    if seen:
        return seen
    return pick_language(None, await ctx.access.language(user_id), ctx.config.organization.language)


async def on_decision(update: Update, ctx: BotContext) -> None:
    """Approve/Deny pressed by an admin: store it, say so in place, tell the user."""
    match = await admin_press(update, ctx, _DECISION)
    if match is None:
        return
    query, admin = update.callback_query, update.effective_user
    assert query is not None and admin is not None  # admin_press checked both
    approve, user_id = match.group(1) == "a", int(match.group(2))
    known = await ctx.access.user(user_id)
    if not await ctx.access.decide(admin.id, user_id, approve):
        await query.answer(t_plain("access.already_decided", ctx.lang))
        return
    name = (known.name if known else None) or str(user_id)
    key = "access.approved_admin" if approve else "access.denied_admin"
    await query.edit_message_text(t(key, ctx.lang, name=name, user_id=user_id))
    await query.answer()
    await tell_user(ctx, user_id, "access.approved_user" if approve else "access.denied_user")


async def tell_user(ctx: BotContext, user_id: int, key: str) -> None:
    """Tell a user an admin's decision (message `key`), in their language (a blocked bot is only logged)."""
    lang = await language_of(ctx, user_id)
    try:
        await ctx.bot.send_message(user_id, t(key, lang))
    except TelegramError as err:
        log.warning("cannot tell user %s about the access decision: %s", user_id, err)
