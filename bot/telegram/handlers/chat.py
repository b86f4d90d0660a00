"""Conversation: questions, /search, /latest, /news, /sources, /campaigns, /lang, /help and the pager."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from bot.errors import QueryError
from bot.services.archive import Answer, UnknownOutlet
from bot.telegram.context import LANG_KEY, PREF_KEY, BotContext
from bot.telegram.format import PAGER_NOOP, pager_keyboard, parse_pager_data
from bot.telegram.handlers.common import chat_of, command_of, command_text, edit_in_place, reply, without_mention
from bot.telegram.handlers.render import (
    page_count,
    page_index,
    render_answer,
    render_campaigns,
    render_sources,
    utc_now,
)
from bot.telegram.handlers.reports import answer_report
from bot.telegram.i18n import LANGUAGES, Html, t, t_plain


async def start(update: Update, ctx: BotContext) -> None:
    """/start: what the bot does, with examples."""
    await reply(update, ctx, t("start.text", ctx.lang))


async def help_command(update: Update, ctx: BotContext) -> None:
    """/help: every command and the query syntax (admin commands for admins)."""
    text = t("help.text", ctx.lang)
    if update.effective_user and ctx.access.is_admin(update.effective_user.id):
        text += "\n\n" + t("help.admin", ctx.lang)
    await reply(update, ctx, text)


async def ask(update: Update, ctx: BotContext) -> None:
    """Plain text is a question to the archive."""
    message = update.effective_message
    question = without_mention(message.text or "", ctx.bot.username or "") if message else ""
    if not question:
        await reply(update, ctx, t("help.short", ctx.lang))
        return
    if await answer_report(update, ctx, question):  # "báo cáo chuyển đổi số tháng này"
        return
    try:
        answer = await ctx.archive.ask(question)
    except QueryError as err:  # "?", "cảm ơn", since:2m, source:unknown, only exclusions
        await reply(update, ctx, t("ask.empty", ctx.lang) if err.code == "empty" else bad_query(err, ctx.lang))
        return
    await send_answer(update, ctx, answer)


async def search(update: Update, ctx: BotContext) -> None:
    """/search QUERY in the explicit query language."""
    query = command_text(update)
    if not query:
        await reply(update, ctx, t("search.usage", ctx.lang))
        return
    try:
        answer = await ctx.archive.search(query)
    except QueryError as err:
        await reply(update, ctx, bad_query(err, ctx.lang))
        return
    await send_answer(update, ctx, answer)


def bad_query(err: QueryError, lang: str) -> str:
    """A query error explained in the user's language (/search, questions, /subscribe)."""
    reason = Html(t(f"query_error.{err.code}", lang, **err.params))
    return t("error.bad_query", lang, reason=reason)


async def latest(update: Update, ctx: BotContext) -> None:
    """/latest [outlet]: newest articles, of one outlet or of all."""
    outlet = command_text(update) or None
    try:
        answer = await ctx.archive.latest(outlet)
    except UnknownOutlet:
        await reply(update, ctx, t("latest.unknown_source", ctx.lang, source_id=outlet or ""))
        return
    await send_answer(update, ctx, answer, snippets=False)


async def news(update: Update, ctx: BotContext) -> None:
    """/news: articles that name the organization, newest first."""
    await send_answer(update, ctx, await ctx.archive.news(), snippets=False)


async def sources(update: Update, ctx: BotContext) -> None:
    """/sources: every outlet and its health."""
    statuses = await ctx.archive.sources()
    await reply(update, ctx, render_sources(statuses, ctx.lang, ctx.config.organization.tz, utc_now()))


async def campaigns(update: Update, ctx: BotContext) -> None:
    """/campaigns: coverage of each campaign over 7 and 30 days."""
    await reply(update, ctx, render_campaigns(await ctx.archive.campaigns(), ctx.lang))


async def lang(update: Update, ctx: BotContext) -> None:
    """/lang vi|en: the language the bot answers this user in."""
    choice = command_text(update).lower()
    user = update.effective_user
    if choice not in LANGUAGES or user is None:
        await reply(update, ctx, t("lang.usage", ctx.lang))
        return
    await ctx.access.set_language(user.id, choice)
    if ctx.user_data is not None:
        ctx.user_data.update({PREF_KEY: choice, LANG_KEY: choice})
    await reply(update, ctx, t("lang.switched", choice))


async def unknown_command(update: Update, ctx: BotContext) -> None:
    """A command we do not have: short help (in groups only when it was addressed to us by name)."""
    message, chat = update.effective_message, update.effective_chat
    command = command_of(message.text if message else None)
    if chat and chat.type != ChatType.PRIVATE and (command is None or command[1] is None):
        return  # a bare /command in a group may be meant for another bot
    await reply(update, ctx, t("help.short", ctx.lang))


async def send_answer(update: Update, ctx: BotContext, answer: Answer, *, snippets: bool = True) -> None:
    """Reply with one page of an answer, its Next/Previous buttons and its Follow button."""
    chat_id = chat_of(update)
    token = ctx.services.pages.put(chat_id, answer.request)
    follow = _follow(ctx, chat_id, answer)
    keyboard = pager_keyboard(token, page_index(answer), page_count(answer), ctx.lang, follow=follow)
    await reply(update, ctx, _one_message(answer, ctx, snippets), keyboard=keyboard)


def _follow(ctx: BotContext, chat_id: int, answer: Answer) -> str | None:
    """The token of what the Follow button subscribes to, kept server-side (callback data is ≤ 64 bytes)."""
    spec = ctx.subscriptions.follow_spec(answer)
    return ctx.services.follows.put(chat_id, spec) if spec is not None else None


def _one_message(answer: Answer, ctx: BotContext, snippets: bool) -> list[str]:
    """A page should fit one message (so the pager can edit it): drop snippets if it does not."""
    parts = render_answer(answer, ctx.lang, ctx.config.organization.tz, snippets=snippets)
    if len(parts) > 1 and snippets:
        parts = render_answer(answer, ctx.lang, ctx.config.organization.tz, snippets=False)
    return parts


async def on_page(update: Update, ctx: BotContext) -> None:
    """Next/Previous: show another page in place of this one."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_pager_data(query.data)
    request = ctx.services.pages.get(chat_of(update), parsed[0]) if parsed else None
    if request is None or parsed is None:
        await query.answer(None if query.data == PAGER_NOOP else t_plain("search.expired", ctx.lang))
        return
    answer = await ctx.archive.rerun(request, parsed[1])
    parts = _one_message(answer, ctx, snippets=request.kind in ("ask", "search"))
    follow = _follow(ctx, chat_of(update), answer)
    keyboard = pager_keyboard(parsed[0], page_index(answer), page_count(answer), ctx.lang, follow=follow)
    await query.answer()
    if len(parts) == 1:
        await edit_in_place(query, parts[0], keyboard)
        return
    await reply(update, ctx, parts, keyboard=keyboard)
