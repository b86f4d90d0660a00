"""Admin commands: /addsource (preview, then Add/Cancel), /removesource, /pause, /resume, /reload, /stats.

AdminService audits every change; these handlers only parse, call and report.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.logsetup import redact_url
from bot.services.admin import AdminError
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import admin_only, admin_press, chat_of, reply
from bot.telegram.handlers.render import render_preview, render_reloaded, render_stats
from bot.telegram.i18n import t, t_plain

_CONFIRM = re.compile(r"^src:(add|no):([A-Za-z0-9_-]{1,40})$")
SourceAction = Callable[[int, str], Awaitable[bool]]


def admin_error_text(err: AdminError, lang: str) -> str:
    """The message for a refused admin action."""
    if err.code == "not_url":
        return t("admin.addsource_usage", lang)
    if err.code in ("exists", "id_taken"):
        return t("admin.addsource_exists", lang, source_id=err.detail)
    return t("admin.addsource_failed", lang, reason=err.detail or err.code)


@admin_only
async def addsource(update: Update, ctx: BotContext) -> None:
    """/addsource URL [id]: fetch the feed, show what it holds, ask to confirm."""
    args = ctx.args or []
    if not args or len(args) > 2:
        await reply(update, ctx, t("admin.addsource_usage", ctx.lang))
        return
    actor = update.effective_user.id if update.effective_user else 0
    try:
        preview = await ctx.admin.preview_feed(args[0])
    except AdminError as err:
        await ctx.admin.audit(actor, "source.preview", _without_password(args[0]), f"refused: {err.code}")
        await reply(update, ctx, admin_error_text(err, ctx.lang))
        return
    await ctx.admin.audit(actor, "source.preview", _without_password(preview.url), f"{preview.items} items")
    preview = replace(preview, source_id=args[1].lower()) if len(args) == 2 else preview
    token = ctx.services.previews.put(chat_of(update), preview)
    await reply(update, ctx, render_preview(preview, ctx.lang), keyboard=_confirm_keyboard(token, ctx.lang))


def _without_password(url: str) -> str:
    """The URL for the audit log: at most 500 characters, never a user:password@ part."""
    return redact_url(url[:500])


def _confirm_keyboard(token: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t_plain("button.confirm", lang), callback_data=f"src:add:{token}"),
                InlineKeyboardButton(t_plain("button.cancel", lang), callback_data=f"src:no:{token}"),
            ]
        ]
    )


async def on_confirm(update: Update, ctx: BotContext) -> None:
    """Add/Cancel under a preview: only an admin's press counts, and only once."""
    match = await admin_press(update, ctx, _CONFIRM)
    if match is None:
        return
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None  # admin_press checked both
    preview = ctx.services.previews.pop(chat_of(update), match.group(2))
    await query.answer(None if preview else t_plain("search.expired", ctx.lang))
    if preview is None:
        return
    if match.group(1) == "no":
        await query.edit_message_text(t("admin.addsource_cancelled", ctx.lang))
        return
    try:
        source_id = await ctx.admin.add_source(user.id, preview)
    except AdminError as err:
        await query.edit_message_text(admin_error_text(err, ctx.lang))
        return
    await query.edit_message_text(t("admin.addsource_added", ctx.lang, name=preview.title, source_id=source_id))


async def _source_command(update: Update, ctx: BotContext, command: str, action: SourceAction, done: str) -> None:
    args, user = ctx.args or [], update.effective_user
    if len(args) != 1 or user is None:
        await reply(update, ctx, t("admin.source_usage", ctx.lang, command=command))
        return
    source_id = args[0].lower()
    ok = await action(user.id, source_id)
    await reply(update, ctx, t(done if ok else "admin.unknown_source", ctx.lang, source_id=source_id))


@admin_only
async def removesource(update: Update, ctx: BotContext) -> None:
    """/removesource ID: stop monitoring an outlet (its articles stay)."""
    await _source_command(update, ctx, "removesource", ctx.admin.remove_source, "admin.removed")


@admin_only
async def pause(update: Update, ctx: BotContext) -> None:
    """/pause ID."""
    await _source_command(update, ctx, "pause", ctx.admin.pause, "admin.paused")


@admin_only
async def resume(update: Update, ctx: BotContext) -> None:
    """/resume ID."""
    await _source_command(update, ctx, "resume", ctx.admin.resume, "admin.resumed")


@admin_only
async def reload(update: Update, ctx: BotContext) -> None:
    """/reload: re-read feeds.yaml; a broken file keeps the running configuration."""
    user_id = update.effective_user.id if update.effective_user else 0
    try:
        result = await ctx.admin.reload(user_id)
    except AdminError as err:
        await reply(update, ctx, t("admin.reload_failed", ctx.lang, error=err.detail or err.code))
        return
    await reply(update, ctx, render_reloaded(result, ctx.lang))


@admin_only
async def stats(update: Update, ctx: BotContext) -> None:
    """/stats: archive size and freshness, outlet health, users."""
    await reply(update, ctx, render_stats(await ctx.archive.stats(), ctx.lang))
