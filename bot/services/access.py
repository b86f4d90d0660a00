"""Who may use the bot, pending access requests, and each user's language.

Nothing here is cached: every check reads the database, so an admin's decision
applies to the very next message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.errors import MediabotError
from bot.runtime import Runtime
from bot.store import access as store
from bot.textnorm import nfc

LANGUAGES = ("vi", "en")
_GROUP_CHATS = ("group", "supergroup", "channel")


class NotAdmin(MediabotError):
    """Someone who is not a configured admin tried an admin-only action."""


class AccessService:
    """Access decisions for private mode; everyone is allowed in public mode."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(UTC))

    def is_admin(self, user_id: int) -> bool:
        """True for an admin listed in the configuration."""
        return user_id in self.runtime.config.access.admins

    async def is_allowed(self, user_id: int, chat_id: int, chat_type: str) -> bool:
        """May this user use the bot in this chat right now?"""
        access = self.runtime.config.access
        if access.mode == "public" or user_id in access.admins or user_id in access.users:
            return True
        # A configured group is trusted as a whole: its members were admitted by the office.
        if chat_type in _GROUP_CHATS and chat_id in access.chats:
            return True
        status = await self.runtime.read(lambda rt: store.user_status(rt.reader(), user_id))
        return status == store.APPROVED

    async def request_access(self, user_id: int, name: str, username: str | None) -> bool:
        """Record a pending request; True only the first time (notify admins once)."""
        return await self.runtime.write(store.record_request, user_id, nfc(name), username, self._clock())

    async def decide(self, admin_id: int, user_id: int, approve: bool) -> bool:
        """Approve or deny a user (audited); False if it was already decided the same way."""
        if not self.is_admin(admin_id):
            raise NotAdmin(f"user {admin_id} is not an admin")
        status = store.APPROVED if approve else store.DENIED
        return await self.runtime.write(store.record_decision, admin_id, user_id, status, self._clock())

    async def pending(self) -> list[store.UserRow]:
        """Users waiting for a decision, oldest first."""
        return await self.runtime.read(lambda rt: store.users_with_status(rt.reader(), store.PENDING))

    async def language(self, user_id: int) -> str | None:
        """The language the user chose with /lang, if any."""
        return await self.runtime.read(lambda rt: store.get_language(rt.reader(), user_id))

    async def set_language(self, user_id: int, lang: str) -> None:
        """Remember the user's language (vi or en)."""
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r} (use vi or en)")
        await self.runtime.write(store.set_language, user_id, lang)
