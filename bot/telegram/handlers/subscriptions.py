"""Subscriptions in Telegram: /subscribe, /subscriptions, /unsubscribe, the Follow button, the alert buttons.

Callback data (validated, ≤ 64 bytes): `sub:f:<token>` follow what an answer showed (the
pending subscription waits server-side under the token); `sub:o|p|r|m|x:<id>` open, pause,
resume, switch instant ↔ daily, delete; `sub:l:o|x` back to the list; `sub:mute:<id>` and
`sub:more:<id>` under an alert. In groups only the group's Telegram admins (or the bot's
admins) may change its subscriptions; anyone the gate lets in may read them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from itertools import groupby
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.alerts.digest import DigestItem
from bot.alerts.service import Place, Spec, Subscribed, SubscriptionError
from bot.alerts.subscriptions import DAILY, SubscriptionRow
from bot.errors import QueryError
from bot.services.archive import UnknownOutlet
from bot.telegram.context import BotContext
from bot.telegram.format import (
    MAX_TITLE,
    MESSAGE_LIMIT,
    esc,
    format_hits,
    link,
    local_time,
    split_html,
    truncate_text,
    utf16_len,
)
from bot.telegram.handlers.chat import bad_query, send_answer
from bot.telegram.handlers.common import chat_of, command_text, edit_in_place, reply, thread_of
from bot.telegram.i18n import Html, t, t_plain

_DATA = re.compile(r"^sub:(?:(f):([A-Za-z0-9_-]{1,40})|([oprmx]|mute|more):(\d{1,18})|(l):([ox]))$")
_NUMBER = re.compile(r"[0-9]{1,6}")
# (characters of each label, with mode and state words) tried in turn until /subscriptions fits one message
_LIST_STEPS = ((10_000, True), (120, True), (60, True), (30, True), (30, False), (12, False))
_MANAGERS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
_PER_ROW = 5


# ---- commands


async def subscribe(update: Update, ctx: BotContext) -> None:
    """/subscribe [daily HH:MM] QUERY | campaign ID | source ID | news."""
    try:
        spec = await ctx.subscriptions.read_command(command_text(update))
    except (SubscriptionError, QueryError, UnknownOutlet) as err:
        await reply(update, ctx, _error_text(err, ctx.lang))
        return
    await _subscribe(update, ctx, spec)


async def list_subscriptions(update: Update, ctx: BotContext) -> None:
    """/subscriptions: this chat's subscriptions, a button each to manage it."""
    chat = update.effective_chat
    if chat is not None:
        text, keyboard = await _list_view(ctx, chat.id, "o")
        await reply(update, ctx, text, keyboard=keyboard)


async def unsubscribe(update: Update, ctx: BotContext) -> None:
    """/unsubscribe N deletes the N-th of /subscriptions; alone, a list with a delete button each."""
    chat, user, arg = update.effective_chat, update.effective_user, command_text(update)
    if chat is None or user is None:
        return
    if not arg:
        text, keyboard = await _list_view(ctx, chat.id, "x")
        await reply(update, ctx, text, keyboard=keyboard)
        return
    rows = await ctx.subscriptions.of_chat(chat.id)
    # ASCII digits, a few of them: str.isdigit() accepts '²' and '①' (int() refuses them), and int()
    # refuses more than 4,300 digits; either crashed the handler instead of explaining the usage.
    if not _NUMBER.fullmatch(arg) or not 1 <= int(arg) <= len(rows):
        await reply(update, ctx, t("sub.unsubscribe_usage", ctx.lang, n=len(rows)))
        return
    if not await may_manage(ctx, chat, user):
        await reply(update, ctx, t("sub.admins_only", ctx.lang))
        return
    deleted = await ctx.subscriptions.delete(rows[int(arg) - 1].id)
    text = t("sub.deleted", ctx.lang, what=Html(describe(deleted, ctx.lang))) if deleted else t("sub.gone", ctx.lang)
    await reply(update, ctx, text)


async def _subscribe(update: Update, ctx: BotContext, spec: Spec) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    if not await may_manage(ctx, chat, user):
        await reply(update, ctx, t("sub.admins_only", ctx.lang))
        return
    place = Place(chat.id, thread_of(update.effective_message), chat.type, user.id, ctx.lang)
    try:
        done = await ctx.subscriptions.subscribe(place, spec)
    except SubscriptionError as err:
        await reply(update, ctx, _error_text(err, ctx.lang))
        return
    await reply(update, ctx, render_subscribed(done, ctx))


# ---- buttons


async def on_button(update: Update, ctx: BotContext) -> None:
    """Every `sub:` button; anything we did not make is answered with "expired" and does nothing."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    match = _DATA.match(query.data or "")
    if match is None:
        await query.answer(t_plain("sub.expired", ctx.lang))
        return
    if match.group(1):
        await _follow(update, ctx, query, match.group(2))
    elif match.group(5):
        await _show_list(ctx, query, chat.id, match.group(6))
    elif match.group(3) == "more":
        await _more(update, ctx, query, int(match.group(4)))
    else:
        await _act(ctx, query, chat, user, match.group(3), int(match.group(4)))


async def _follow(update: Update, ctx: BotContext, query: CallbackQuery, token: str) -> None:
    spec = ctx.services.follows.get(chat_of(update), token)
    if spec is None:
        await query.answer(t_plain("sub.expired", ctx.lang))
        return
    await query.answer()
    await _subscribe(update, ctx, spec)


async def _more(update: Update, ctx: BotContext, query: CallbackQuery, subscription_id: int) -> None:
    row, chat = await ctx.subscriptions.get(subscription_id), update.effective_chat
    mine = row is not None and chat is not None and row.chat_id == chat.id
    text = ctx.subscriptions.query_text(row) if mine and row is not None else None
    if text is None:
        await query.answer(t_plain("sub.expired", ctx.lang))
        return
    await query.answer()
    await send_answer(update, ctx, await ctx.archive.search(text, page_size=5))


async def _act(ctx: BotContext, query: CallbackQuery, chat: Chat, user: User, action: str, sub_id: int) -> None:
    """Open, pause, resume, switch, delete, mute: only for this chat's subscriptions, only by its managers."""
    row = await ctx.subscriptions.get(sub_id)
    if row is None or row.chat_id != chat.id:
        await query.answer(t_plain("sub.expired", ctx.lang))
        return
    if action == "o":
        await query.answer()
        await edit_in_place(query, render_card(row, ctx.lang), card_keyboard(row, ctx.lang))
        return
    if not await may_manage(ctx, chat, user):
        await query.answer(t_plain("sub.admins_only", ctx.lang), show_alert=True)
        return
    if action == "mute":
        await ctx.subscriptions.pause(sub_id)
        await query.answer(t_plain("sub.muted", ctx.lang, label=row.label), show_alert=True)
        return
    changed = await _apply(ctx, action, sub_id)
    await query.answer(None if changed else t_plain("sub.expired", ctx.lang))
    if action == "x" or changed is None:
        await _show_list(ctx, query, chat.id, "o" if action != "x" or _from_card(query) else "x", answered=True)
    else:
        await edit_in_place(query, render_card(changed, ctx.lang), card_keyboard(changed, ctx.lang))


async def _apply(ctx: BotContext, action: str, sub_id: int) -> SubscriptionRow | None:
    if action in ("p", "r"):
        return await ctx.subscriptions.pause(sub_id, action == "p")
    if action == "m":
        return await ctx.subscriptions.switch_mode(sub_id)
    return await ctx.subscriptions.delete(sub_id)


def _from_card(query: CallbackQuery) -> bool:
    """Was the press on one subscription's card (its keyboard has a back button)?"""
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    rows = markup.inline_keyboard if markup else ()
    return any(b.callback_data == "sub:l:o" for row in rows for b in row)


async def _show_list(ctx: BotContext, query: CallbackQuery, chat_id: int, view: str, answered: bool = False) -> None:
    if not answered:
        await query.answer()
    text, keyboard = await _list_view(ctx, chat_id, view)
    await edit_in_place(query, text, keyboard)


async def may_manage(ctx: BotContext, chat: Chat, user: User) -> bool:
    """Private chats: their user. Groups: the group's Telegram admins and the bot's admins."""
    if chat.type == ChatType.PRIVATE or ctx.access.is_admin(user.id):
        return True
    try:
        member = await ctx.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        return False
    return member.status in _MANAGERS


# ---- views (pure: rows and language in, HTML and keyboards out)


async def _list_view(ctx: BotContext, chat_id: int, view: str) -> tuple[str, InlineKeyboardMarkup | None]:
    rows = await ctx.subscriptions.of_chat(chat_id)
    limit = ctx.config.alerts.max_subscriptions_per_chat
    return render_list(rows, ctx.lang, limit, view), list_keyboard(rows, view)


def describe(row: SubscriptionRow | Spec, lang: str) -> str:
    """What it follows, named: the query, the campaign's or outlet's name, the organization's news."""
    return t(f"sub.what.{row.kind}", lang, label=row.label)


def _mode(row: SubscriptionRow, lang: str) -> str:
    if row.kind == "diembao":
        return t("sub.mode.diembao", lang)
    return t("sub.mode.daily", lang, time=row.digest_time or "") if row.mode == DAILY else t("sub.mode.instant", lang)


def _state(row: SubscriptionRow, lang: str) -> str:
    if not row.paused:
        return ""
    return " · " + t("sub.state.blocked" if row.paused_reason == "blocked" else "sub.state.paused", lang)


def render_list(rows: list[SubscriptionRow], lang: str, limit: int, view: str) -> str:
    """The chat's subscriptions, numbered as /unsubscribe N counts them, in ONE message.

    Why one: the list's buttons edit the message they are on (back to the list, delete), and
    an edit cannot be split; 50 labels of 200 characters made ~11,000 characters and every
    press failed with "message is too long". So long labels are shortened, then the lines
    lose their mode and state words (the card shows them), and as a last resort (a large
    `max_subscriptions_per_chat`) the last lines are counted instead of shown.
    """
    if not rows:
        return t("sub.list_empty", lang)
    header = t("sub.list_header", lang, n=len(rows), max=limit)
    hint = t("sub.list_hint_delete" if view == "x" else "sub.list_hint", lang)
    for budget, full in _LIST_STEPS:
        lines = [_list_line(number, row, lang, budget, full) for number, row in enumerate(rows, start=1)]
        text = "\n".join([header, *lines, hint])
        if utf16_len(text) <= MESSAGE_LIMIT:
            return text
    shown: list[str] = []
    room = MESSAGE_LIMIT - utf16_len(header) - utf16_len(hint) - 20  # the newlines and "… (+N)"
    for line in lines:
        room -= utf16_len(line) + 1
        if room < 0:
            break
        shown.append(line)
    return "\n".join([header, *shown, f"… (+{len(rows) - len(shown)})", hint])


def _list_line(number: int, row: SubscriptionRow, lang: str, budget: int, full: bool) -> str:
    icon = ("⛔" if row.paused_reason == "blocked" else "⏸") if row.paused else ("🗓" if row.mode == DAILY else "🔔")
    what = describe(replace(row, label=truncate_text(row.label, budget)), lang)
    if not full:
        return f"{number}. {icon} {what}"
    icon = "⏸" if row.paused else "🔔"
    return f"{number}. {icon} {what} — {_mode(row, lang)}{_state(row, lang)}"


def list_keyboard(rows: list[SubscriptionRow], view: str) -> InlineKeyboardMarkup | None:
    """One button per subscription (open its card, or delete it in /unsubscribe's list), five to a row."""
    if not rows:
        return None
    action, mark = ("x", "🗑 ") if view == "x" else ("o", "")
    buttons = [
        InlineKeyboardButton(f"{mark}{number}", callback_data=f"sub:{action}:{row.id}")
        for number, row in enumerate(rows, start=1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + _PER_ROW] for i in range(0, len(buttons), _PER_ROW)])


def render_card(row: SubscriptionRow, lang: str) -> str:
    """One subscription and what its buttons do."""
    return t("sub.card", lang, what=Html(describe(row, lang)), mode=Html(_mode(row, lang))) + _state(row, lang)


def card_keyboard(row: SubscriptionRow, lang: str) -> InlineKeyboardMarkup:
    """Pause/resume, instant ↔ daily, delete, back to the list."""
    pause = ("button.sub_resume", "r") if row.paused else ("button.sub_pause", "p")
    mode = "button.sub_instant" if row.mode == DAILY else "button.sub_daily"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t_plain(pause[0], lang), callback_data=f"sub:{pause[1]}:{row.id}"),
                InlineKeyboardButton(t_plain(mode, lang), callback_data=f"sub:m:{row.id}"),
                InlineKeyboardButton(t_plain("button.sub_delete", lang), callback_data=f"sub:x:{row.id}"),
            ],
            [InlineKeyboardButton(t_plain("button.sub_back", lang), callback_data="sub:l:o")],
        ]
    )


def render_subscribed(done: Subscribed, ctx: BotContext) -> str:
    """The confirmation: what was subscribed, how, and its latest matches (what the chat will get)."""
    row, lang, tz = done.subscription, ctx.lang, ctx.config.organization.tz
    lines = [t("sub.subscribed", lang, what=Html(describe(row, lang)), mode=Html(_mode(row, lang)))]
    hits = format_hits(done.recent.hits, tz, lang=lang)
    if row.kind != "diembao":  # it follows no query: /diembao shows what it will send
        lines.append(t("sub.recent", lang) + "\n" + "\n".join(hits) if hits else t("sub.no_recent", lang))
    lines.append(t("sub.manage", lang))
    return "\n\n".join(lines)


def render_digest(
    row: SubscriptionRow, items: Sequence[DigestItem], left_out: int, day: date, *, tz: ZoneInfo
) -> list[str]:
    """A daily digest: a header, then each outlet's articles (linked title, local time); parts ≤ 4,096."""
    lang = row.language or "vi"
    n = len(items) + left_out
    lines = [t("digest.header", lang, date=day.strftime("%d/%m/%Y"), what=Html(describe(row, lang)), n=n)]
    for source_id, group in groupby(items, key=lambda item: item.source_id):
        chunk = list(group)
        lines.append("\n" + t("digest.outlet", lang, name=chunk[0].source_name or source_id, n=len(chunk)))
        for item in chunk:
            when = local_time(item.published_at, tz) if item.dated else t_plain("date.unknown", lang)
            lines.append(f"• {link(item.url, truncate_text(' '.join(item.title.split()), MAX_TITLE))} · {esc(when)}")
    if left_out:
        lines.append("\n" + t("digest.more", lang, n=left_out))
    return split_html("\n".join(lines))


def _error_text(err: SubscriptionError | QueryError | UnknownOutlet, lang: str) -> str:
    if isinstance(err, QueryError):
        return bad_query(err, lang)
    if isinstance(err, UnknownOutlet):
        return t("latest.unknown_source", lang, source_id=str(err))
    return t(f"sub.error.{err.code}", lang, **err.params)
