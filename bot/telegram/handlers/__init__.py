"""Every handler of the bot, registered in one place, plus the one error handler.

Group -2 takes Telegram's "this group became a supergroup" service message (which the gate
would drop: it is addressed to no one); group -1 is the access gate (it stops updates that are
not for us or not allowed); group 0 holds the commands, the buttons and the free-text question handler.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler, filters

from bot.telegram.context import SERVICES_KEY, BotContext
from bot.telegram.handlers import access, admin, chat, migration, press_review, reports, subscriptions, users
from bot.telegram.handlers.common import ADMIN_COMMANDS, thread_of
from bot.telegram.i18n import LANGUAGES, t, t_plain

log = logging.getLogger(__name__)

COMMANDS = {
    "start": chat.start,
    "help": chat.help_command,
    "search": chat.search,
    "latest": chat.latest,
    "news": chat.news,
    "sources": chat.sources,
    "campaigns": chat.campaigns,
    "subscribe": subscriptions.subscribe,
    "subscriptions": subscriptions.list_subscriptions,
    "unsubscribe": subscriptions.unsubscribe,
    "campaign": reports.campaign,
    "compare": reports.compare,
    "export": reports.export,
    "diembao": press_review.diembao,
    "lang": chat.lang,
    "addsource": admin.addsource,
    "removesource": admin.removesource,
    "pause": admin.pause,
    "resume": admin.resume,
    "reload": admin.reload,
    "stats": admin.stats,
    "users": users.users_command,
}


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Attach the gate, the commands, the buttons, the question handler and the error handler."""
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migration.chat_migrated), group=-2)
    application.add_handler(TypeHandler(Update, access.gate), group=-1)
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(chat.on_page, pattern=r"^pg:"))
    application.add_handler(CallbackQueryHandler(access.on_decision, pattern=r"^acc:"))
    application.add_handler(CallbackQueryHandler(admin.on_confirm, pattern=r"^src:"))
    application.add_handler(CallbackQueryHandler(users.on_press, pattern=r"^usr:"))
    application.add_handler(CallbackQueryHandler(subscriptions.on_button, pattern=r"^sub:"))
    application.add_handler(CallbackQueryHandler(_ignore_button))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, chat.unknown_command))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, chat.ask))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE, chat.unknown_command))
    application.add_error_handler(on_error)


async def _ignore_button(update: Update, _ctx: BotContext) -> None:
    """A button we do not know (an old keyboard): stop the client's spinner, do nothing."""
    if update.callback_query:
        await update.callback_query.answer()


async def set_bot_commands(bot: Bot, default_language: str, admins: Sequence[int] = ()) -> None:
    """setMyCommands: the default list in the organization's language, one per other language; each
    admin's own chat gets the admin commands too (nobody else sees them in the menu)."""
    for lang in LANGUAGES:
        code = None if lang == default_language else lang
        try:
            await bot.set_my_commands(command_menu(lang), language_code=code)
        except (TelegramError, KeyError) as err:  # a menu is a nicety: never a reason not to start
            log.error("setMyCommands (%s) failed: %s", lang, err)
            continue
        for admin_id in admins:
            try:
                await bot.set_my_commands(admin_menu(lang), scope=BotCommandScopeChat(admin_id), language_code=code)
            except TelegramError as err:  # an admin who never opened the bot has no chat yet
                log.warning("setMyCommands for admin %s (%s) failed: %s", admin_id, lang, err)


def admin_menu(lang: str) -> list[BotCommand]:
    """An admin's menu: everyone's commands, then the admin commands."""
    return command_menu(lang) + [BotCommand(name, t_plain(f"command.{name}", lang)) for name in ADMIN_COMMANDS]


def command_menu(lang: str) -> list[BotCommand]:
    """The command list shown in Telegram's menu, described in `lang`."""
    return [
        BotCommand("start", t_plain("command.start", lang)),
        BotCommand("help", t_plain("command.help", lang)),
        BotCommand("search", t_plain("command.search", lang)),
        BotCommand("latest", t_plain("command.latest", lang)),
        BotCommand("news", t_plain("command.news", lang)),
        BotCommand("sources", t_plain("command.sources", lang)),
        BotCommand("campaigns", t_plain("command.campaigns", lang)),
        BotCommand("subscribe", t_plain("command.subscribe", lang)),
        BotCommand("subscriptions", t_plain("command.subscriptions", lang)),
        BotCommand("unsubscribe", t_plain("command.unsubscribe", lang)),
        BotCommand("campaign", t_plain("command.campaign", lang)),
        BotCommand("compare", t_plain("command.compare", lang)),
        BotCommand("export", t_plain("command.export", lang)),
        BotCommand("diembao", t_plain("command.diembao", lang)),
        BotCommand("lang", t_plain("command.lang", lang)),
    ]


async def on_error(update: object, ctx: BotContext) -> None:
    """The one error handler: log with context (never the token), tell the user briefly."""
    unreachable = _unreachable(ctx.error)  # bot.telegram.reachability logs an outage once: no traceback
    if not isinstance(update, Update):
        if unreachable:  # a getUpdates retry
            log.debug("polling: Telegram unreachable: %s", ctx.error)
        else:
            log.error("error outside an update: %s", type(ctx.error).__name__, exc_info=ctx.error)
        return
    chat, user = update.effective_chat, update.effective_user
    log.log(
        logging.WARNING if unreachable else logging.ERROR,
        "update %s failed (chat %s, user %s)%s",
        update.update_id,
        chat.id if chat else None,
        user.id if user else None,
        f": {ctx.error}" if unreachable else "",
        exc_info=None if unreachable else ctx.error,
    )
    if SERVICES_KEY not in ctx.bot_data or chat is None:
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(t_plain("error.generic", ctx.lang))
        else:
            thread = thread_of(update.effective_message)
            await ctx.bot.send_message(chat.id, t("error.generic", ctx.lang), message_thread_id=thread)
    except TelegramError as err:
        log.warning("could not tell chat %s about the error: %s", chat.id, err)


def _unreachable(error: BaseException | None) -> bool:
    """No answer from Telegram, or a 5xx (PTB: NetworkError; BadRequest is one too, but Telegram answered)."""
    return isinstance(error, NetworkError) and not isinstance(error, BadRequest)
