"""A group became a supergroup: Telegram's service message, handled before the access gate.

Telegram sends it twice, in the old group (`migrate_to_chat_id`) and in the new supergroup
(`migrate_from_chat_id`); both move the chat's subscriptions and queued alerts to the new id
through the one function delivery also uses when a send answers "group chat was upgraded".
Only Telegram writes these fields, so no user can move another chat's subscriptions.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


async def chat_migrated(update: Update, ctx: BotContext) -> None:
    """Move what the old group had to the supergroup; nothing else handles a service message."""
    message = update.effective_message
    if message is not None:
        if message.migrate_to_chat_id:
            old_id, new_id = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old_id, new_id = message.migrate_from_chat_id, message.chat.id
        else:
            raise ApplicationHandlerStop
        moved = await ctx.subscriptions.chat_migrated(old_id, new_id)
        log.info("chat %d became supergroup %d: %d subscriptions moved", old_id, new_id, moved)
    raise ApplicationHandlerStop
