"""A typed handler context: `ctx.archive`, `ctx.subscriptions`, `ctx.lang` … instead of raw bot_data lookups.

PTB's `ContextTypes(context=BotContext)` makes every callback receive this class
(the pattern of PTB's `contexttypesbot` example). The services are created in
`post_init` (bot.telegram.app) and stored once under one key.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from telegram.ext import Application, CallbackContext, ExtBot

from bot.alerts.service import Spec, SubscriptionService
from bot.config import Config
from bot.runtime import Runtime
from bot.services.access import AccessService
from bot.services.admin import AdminService, FeedPreview
from bot.services.archive import ArchiveService, PageRequest
from bot.services.press_review import PressReviewService
from bot.services.reports import ReportService
from bot.telegram.limiter import CourtesyBudget

T = TypeVar("T")
SERVICES_KEY = "mediabot.services"
LANG_KEY = "lang"  # user_data: the language this user is answered in, set by the access gate
PREF_KEY = "lang_pref"  # user_data: the language stored with /lang (None: none chosen), read once


class TokenStore(Generic[T]):
    """A small bounded map from short random tokens to values, for inline button callback data.

    Telegram limits callback data to 64 bytes, so buttons carry a token; the oldest
    entries are forgotten first, and a forgotten token means "this list expired".
    A token belongs to the chat it was shown in: callback data is written by the client, so
    a token seen in a group and pressed in another chat must not open that group's answer,
    preview or query there (the hostile chat suite replayed them and read another chat's state).
    """

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[int, T]] = OrderedDict()

    def put(self, chat_id: int, value: T) -> str:
        """Store `value` for buttons in `chat_id`; return its token (8 URL-safe characters)."""
        token = secrets.token_urlsafe(6)
        self._items[token] = (chat_id, value)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return token

    def get(self, chat_id: int, token: str) -> T | None:
        """The value of `token` pressed in `chat_id`; None when it expired, never existed or is another chat's."""
        item = self._items.get(token)
        if item is None or item[0] != chat_id:
            return None
        self._items.move_to_end(token)
        return item[1]

    def pop(self, chat_id: int, token: str) -> T | None:
        """Remove and return the value of `token` (one-shot buttons such as Add/Cancel); another chat's stays."""
        if self.get(chat_id, token) is None:
            return None
        return self._items.pop(token)[1]

    def clear(self) -> None:
        """Forget every token (their buttons then say the list expired)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Services:
    """Everything handlers need, owned by the application (built in post_init)."""

    runtime: Runtime
    archive: ArchiveService
    admin: AdminService
    access: AccessService
    subscriptions: SubscriptionService
    reports: ReportService
    press_review: PressReviewService
    pages: TokenStore[PageRequest] = field(default_factory=TokenStore)
    follows: TokenStore[Spec] = field(default_factory=TokenStore)  # what each answer's Follow button subscribes to
    previews: TokenStore[FeedPreview] = field(default_factory=lambda: TokenStore(200))
    courtesy: CourtesyBudget = field(default_factory=CourtesyBudget)  # refusals and access requests


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context every mediabot callback receives."""

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES_KEY]

    @property
    def archive(self) -> ArchiveService:
        return self.services.archive

    @property
    def admin(self) -> AdminService:
        return self.services.admin

    @property
    def access(self) -> AccessService:
        return self.services.access

    @property
    def subscriptions(self) -> SubscriptionService:
        return self.services.subscriptions

    @property
    def reports(self) -> ReportService:
        return self.services.reports

    @property
    def press_review(self) -> PressReviewService:
        return self.services.press_review

    @property
    def config(self) -> Config:
        return self.services.runtime.config

    @property
    def lang(self) -> str:
        """The language to answer this update's user in (the gate resolved it)."""
        data = self.user_data
        return (data or {}).get(LANG_KEY) or self.config.organization.language


def install_services(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Make `services` reachable from every BotContext of `application`."""
    application.bot_data[SERVICES_KEY] = services
