"""The gate every update passes first, access requests to admins, and their Approve/Deny buttons."""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.telegram.context import LANG_KEY, PREF_KEY, BotContext
from bot.telegram.handlers.common import addressed_to_bot, admin_press, reply
from bot.telegram.i18n import pick_language, t, t_plain

log = logging.getLogger(__name__)
_DECISION = re.compile(r"^acc:([ad]):(\d{1,20})$")


async def gate(update: Update, ctx: BotContext) -> None:
    """Before any handler: drop what is not for us, pick the user's language, refuse strangers."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot or not addressed_to_bot(update, ctx.bot):
        raise ApplicationHandlerStop
    await remember_language(ctx, user)
    if await ctx.access.is_allowed(user.id, chat.id, chat.type):
        return
    if update.callback_query is not None:
        await update.callback_query.answer()  # a stranger's button press does nothing
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
    """One polite refusal with the user's id; admins hear about a new request once."""
    await reply(update, ctx, t("access.refused", ctx.lang, user_id=user.id))
    if await ctx.access.request_access(user.id, user.full_name, user.username):
        for admin_id in ctx.config.access.admins:
            await _notify_admin(ctx, admin_id, user)


async def _notify_admin(ctx: BotContext, admin_id: int, user: User) -> None:
    lang = await language_of(ctx, admin_id)
    key = "access.request" if user.username else "access.request_no_username"
    text = t(key, lang, name=user.full_name, username=user.username or "", user_id=user.id)
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
    pending = {row.id: row for row in await ctx.access.pending()}
    if not await ctx.access.decide(admin.id, user_id, approve):
        await query.answer(t_plain("access.already_decided", ctx.lang))
        return
    name = (pending[user_id].name if user_id in pending else None) or str(user_id)
    key = "access.approved_admin" if approve else "access.denied_admin"
    await query.edit_message_text(t(key, ctx.lang, name=name, user_id=user_id))
    await query.answer()
    await _tell_user(ctx, user_id, approve)


async def _tell_user(ctx: BotContext, user_id: int, approved: bool) -> None:
    lang = await language_of(ctx, user_id)
    try:
        await ctx.bot.send_message(user_id, t("access.approved_user" if approved else "access.denied_user", lang))
    except TelegramError as err:
        log.warning("cannot tell user %s about the access decision: %s", user_id, err)
