"""/users for admins: who is waiting, approved or denied, with buttons to approve, deny, revoke and
approve again, and the admin log (the newest audit rows).

Button data is `usr:v:VIEW:PAGE` (show a view) or `usr:a|d:USER:STATUS:PAGE` (approve or deny /
revoke USER, then show STATUS at PAGE again); anything else is refused by the pattern, and a
non-admin's press is audited by `admin_press`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.services.access import PAGE_SIZE, UsersPage
from bot.store.access import APPROVED, DENIED, PENDING, STATUSES, AuditRow, UserRow
from bot.telegram.context import BotContext
from bot.telegram.format import local_time, truncate_text
from bot.telegram.handlers.access import tell_user
from bot.telegram.handlers.common import admin_only, admin_press, command_text, edit_in_place, reply
from bot.telegram.i18n import Html, t, t_plain

LOG = "log"
VIEWS = (*STATUSES, LOG)
_PRESS = re.compile(r"^usr:(?:v:(pending|approved|denied|log)|([ad]):(\d{1,20}):(pending|approved|denied)):(\d{1,4})$")
_NAME_CHARS = 40  # of a name in a list line
_BUTTON_NAME = 24  # of a name on a button
_LOG_ROWS = 15
_LOG_FIELD = 80  # characters of an audit row's target shown
_STATUS_KEY = {PENDING: "users.status.pending", APPROVED: "users.status.approved", DENIED: "users.status.denied"}
_TAB_KEY = {PENDING: "button.users_pending", APPROVED: "button.users_approved", DENIED: "button.users_denied"}


@admin_only
async def users_command(update: Update, ctx: BotContext) -> None:
    """/users [pending|approved|denied|log]: the list, with a button per user."""
    view = command_text(update).lower() or PENDING
    if view not in VIEWS:
        await reply(update, ctx, t("users.usage", ctx.lang))
        return
    text, keyboard = await _view(ctx, view, 0)
    await reply(update, ctx, text, keyboard=keyboard)


async def on_press(update: Update, ctx: BotContext) -> None:
    """A /users button: act (approve / deny / revoke), then show the list again in place."""
    match = await admin_press(update, ctx, _PRESS)
    if match is None:
        return
    query, admin = update.callback_query, update.effective_user
    assert query is not None and admin is not None  # admin_press checked both
    view, page, note = match.group(1), int(match.group(5)), None
    if view is None:
        view = match.group(4)
        note = await _decide(ctx, admin.id, int(match.group(3)), approve=match.group(2) == "a")
    await query.answer(note)
    text, keyboard = await _view(ctx, view, page)
    await edit_in_place(query, text, keyboard)


async def _decide(ctx: BotContext, admin_id: int, user_id: int, *, approve: bool) -> str:
    """Approve, deny or revoke; the user is told; returns the admin's short confirmation."""
    before = await ctx.access.user(user_id)
    name = (before.name if before else None) or str(user_id)
    if approve:
        changed = await ctx.access.decide(admin_id, user_id, True)
        key, user_key = "users.approved", "access.approved_user"
    elif before is not None and before.status == APPROVED:
        changed = await ctx.access.revoke(admin_id, user_id)
        key, user_key = "users.revoked", "access.revoked_user"
    else:
        changed = await ctx.access.decide(admin_id, user_id, False)
        key, user_key = "users.denied", "access.denied_user"
    if not changed:
        return t_plain("users.unchanged", ctx.lang)
    await tell_user(ctx, user_id, user_key)
    return t_plain(key, ctx.lang, name=truncate_text(name, _BUTTON_NAME))


async def _view(ctx: BotContext, view: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of one view."""
    if view == LOG:
        rows = await ctx.access.recent_audit(_LOG_ROWS)
        counts = (await ctx.access.users_page(PENDING, 0)).counts
        return render_log(rows, ctx), InlineKeyboardMarkup([_tabs(counts, ctx.lang)])
    listing = await ctx.access.users_page(view, page)
    return render_users(listing, ctx), users_keyboard(listing, ctx.lang)


def render_users(listing: UsersPage, ctx: BotContext) -> str:
    """The list of one state: a title, the counts, one line per user (≤ 10 lines, far below 4,096)."""
    lang, tz = ctx.lang, ctx.config.organization.tz
    status = t(_STATUS_KEY[listing.status], lang)
    lines = [t("users.title", lang, status=Html(status), page=listing.page + 1, pages=listing.pages)]
    lines.append(t("users.counts", lang, **listing.counts))
    for number, row in enumerate(listing.rows, start=listing.page * PAGE_SIZE + 1):
        lines.append(_user_line(number, row, lang, tz))
    if not listing.rows:
        lines.append(t("users.none", lang))
    if listing.status == APPROVED:
        lines.append(t("users.config_note", lang))
    return "\n".join(lines)


def _user_line(number: int, row: UserRow, lang: str, tz: ZoneInfo) -> str:
    when = row.requested_at if row.status == PENDING else row.decided_at
    stamp = local_time(datetime.fromisoformat(when), tz) if when else "—"
    return t(
        "users.row",
        lang,
        n=number,
        name=truncate_text(row.name or "?", _NAME_CHARS),
        username=f" @{row.username}" if row.username else "",
        user_id=row.id,
        when=stamp,
    )


def users_keyboard(listing: UsersPage, lang: str) -> InlineKeyboardMarkup:
    """A row per user (approve/deny, revoke, or approve again), the pager, then the views."""
    rows = [_user_buttons(row, listing, lang) for row in listing.rows]
    pager = []
    if listing.page > 0:
        pager.append(_button(t_plain("button.prev", lang), f"v:{listing.status}:{listing.page - 1}"))
    if listing.page < listing.pages - 1:
        pager.append(_button(t_plain("button.next", lang), f"v:{listing.status}:{listing.page + 1}"))
    if pager:
        rows.append(pager)
    rows.append(_tabs(listing.counts, lang))
    return InlineKeyboardMarkup(rows)


def _user_buttons(row: UserRow, listing: UsersPage, lang: str) -> list[InlineKeyboardButton]:
    name = truncate_text(row.name or str(row.id), _BUTTON_NAME)
    back = f"{row.id}:{listing.status}:{listing.page}"
    if row.status == PENDING:
        return [
            _button(f"✅ {name}", f"a:{back}"),
            _button(f"❌ {name}", f"d:{back}"),
        ]
    if row.status == APPROVED:
        return [_button(f"{t_plain('button.users_revoke', lang)}: {name}", f"d:{back}")]
    return [_button(f"{t_plain('button.users_reapprove', lang)}: {name}", f"a:{back}")]


def _tabs(counts: dict[str, int], lang: str) -> list[InlineKeyboardButton]:
    tabs = [_button(f"{t_plain(_TAB_KEY[s], lang)} ({counts[s]})", f"v:{s}:0") for s in (PENDING, APPROVED, DENIED)]
    return [*tabs, _button(t_plain("button.users_log", lang), f"v:{LOG}:0")]


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=f"usr:{data}")


def render_log(rows: list[AuditRow], ctx: BotContext) -> str:
    """The newest audit rows (≤ 15 lines of bounded length)."""
    lang, tz = ctx.lang, ctx.config.organization.tz
    lines = [t("users.log_title", lang)]
    now = datetime.now(UTC)
    for row in rows:
        target = truncate_text(" ".join((row.target or "").split()), _LOG_FIELD)
        actor = str(row.actor_id) if row.actor_id is not None else "—"
        when = local_time(datetime.fromisoformat(row.at), tz, now)
        lines.append(t("users.log_row", lang, when=when, actor=actor, action=row.action[:40], target=target))
    if not rows:
        lines.append(t("users.log_none", lang))
    return "\n".join(lines)
