"""The outbox's door to Telegram: PTB calls behind bot.alerts.delivery's Transport, errors translated.

The calls pass `rate_limit_args=PACED`: delivery took the slot from the shared pacer
already, so the shared rate limiter (bot.telegram.limiter) lets them through at once.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot

from bot.alerts.delivery import Blocked, Migrated, Rejected, Rendered, RetryLater, TelegramRefused, Unavailable
from bot.telegram.limiter import PACED, retry_seconds


class BotTransport:
    """Sends and edits messages with a PTB Bot; raises bot.alerts.delivery's TelegramRefused."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send(self, chat_id: int, thread_id: int | None, message: Rendered) -> int:
        """Send; returns the new message's id."""
        try:
            sent = await self.bot.send_message(
                chat_id,
                message.text,
                message_thread_id=thread_id,
                reply_markup=_markup(message),
                rate_limit_args=PACED,
            )
        except TelegramError as err:
            raise _refusal(err) from None
        return sent.message_id

    async def edit(self, chat_id: int, message_id: int, message: Rendered) -> None:
        """Replace a sent message's text and buttons."""
        try:
            await self.bot.edit_message_text(
                message.text,
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=_markup(message),
                rate_limit_args=PACED,
            )
        except TelegramError as err:
            raise _refusal(err) from None


def _markup(message: Rendered) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in message.buttons]
    )


def _refusal(err: TelegramError) -> TelegramRefused:
    """PTB's error → what delivery does about it (BadRequest is a NetworkError in PTB: test it first)."""
    if isinstance(err, RetryAfter):
        return RetryLater(retry_seconds(err), str(err))
    if isinstance(err, InvalidToken):  # the token was revoked: the alert waits for the new one
        return Unavailable(f"token refused: {err}")
    if isinstance(err, Forbidden):
        return Blocked(str(err))
    if isinstance(err, ChatMigrated):
        return Migrated(int(err.new_chat_id), str(err))
    if isinstance(err, BadRequest):
        return Rejected(str(err))
    if isinstance(err, NetworkError):
        return Unavailable(str(err))
    return Rejected(f"{type(err).__name__}: {err}")
