"""Who may use the bot, pending access requests, refusals, the admins' user list, and each user's language.

Nothing about a user's standing is cached: every check reads the database, so an admin's
decision applies to the very next message.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.errors import MediabotError
from bot.runtime import Runtime
from bot.store import access as store
from bot.textnorm import nfc

LANGUAGES = ("vi", "en")
_GROUP_CHATS = ("group", "supergroup", "channel")
ALLOWED, STRANGER, GROUP_NOT_ALLOWED = "allowed", "stranger", "group_not_allowed"
PAGE_SIZE = 10  # users per page of /users: 10 lines of name, username, id and date stay far below 4,096
ATTEMPT_GAP = timedelta(minutes=1)  # one audit row a minute per user for refused admin attempts
_MAX_TEXT = 200  # characters of a command or button data kept in an audit row


class NotAdmin(MediabotError):
    """Someone who is not a configured admin tried an admin-only action."""


@dataclass(frozen=True, slots=True)
class Ask:
    """What a stranger's message led to: ask the admins now? May they ask again, and from when?"""

    notify_admins: bool
    retry_at: datetime | None  # a denied user may ask again from then (None: not denied)


@dataclass(frozen=True, slots=True)
class UsersPage:
    """One page of /users: the users of one state, and how many there are in each state."""

    status: str
    page: int
    pages: int
    rows: list[store.UserRow]
    counts: dict[str, int]


class AttemptThrottle:
    """Remembers, in bounded memory, when each user's refused admin attempt was last audited."""

    def __init__(self, gap: timedelta = ATTEMPT_GAP, capacity: int = 10_000) -> None:
        self.gap, self.capacity = gap, capacity
        self._last: OrderedDict[int, datetime] = OrderedDict()

    def allow(self, user_id: int, now: datetime) -> bool:
        """True at most once per `gap` for a user (a flood of forged presses costs one row a minute)."""
        last = self._last.get(user_id)
        if last is not None and now - last < self.gap:
            return False
        self._last[user_id] = now
        self._last.move_to_end(user_id)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        return True


class AccessService:
    """Access decisions for private mode; everyone is allowed in public mode."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(UTC))
        self._attempts = AttemptThrottle()

    def is_admin(self, user_id: int) -> bool:
        """True for an admin listed in the configuration."""
        return user_id in self.runtime.config.access.admins

    async def verdict(self, user_id: int, chat_id: int, chat_type: str) -> str:
        """ALLOWED, STRANGER (a private chat with someone not admitted) or GROUP_NOT_ALLOWED.

        In private mode a group is answered only when it is in `access.chats`: an answer in a
        group is read by all its members, admitted or not. Admins are the exception (they
        choose where the bot speaks, as they may manage a group's subscriptions anywhere).
        """
        access = self.runtime.config.access
        if access.mode == "public" or user_id in access.admins:
            return ALLOWED
        if chat_type in _GROUP_CHATS:
            return ALLOWED if chat_id in access.chats else GROUP_NOT_ALLOWED
        if user_id in access.users:
            return ALLOWED
        status = await self.runtime.read(lambda rt: store.user_status(rt.reader(), user_id))
        return ALLOWED if status == store.APPROVED else STRANGER

    async def is_allowed(self, user_id: int, chat_id: int, chat_type: str) -> bool:
        """May this user use the bot in this chat right now?"""
        return await self.verdict(user_id, chat_id, chat_type) == ALLOWED

    async def refusal_due(self, chat_id: int) -> bool:
        """Was this chat not refused within the last hour? (A read: a flood costs no writes.)"""
        last = await self.runtime.read(lambda rt: store.last_refusal(rt.reader(), chat_id))
        return store.refusal_due(last, self._clock())

    async def claim_refusal(self, chat_id: int) -> bool:
        """Take this hour's refusal for a chat; False when another message took it first."""
        return await self.runtime.write(store.note_refusal, chat_id, self._clock())

    async def ask(self, user_id: int, name: str, username: str | None) -> Ask:
        """Record a stranger's message as a request: new users, and denied ones after the cool-down."""
        cooldown = timedelta(seconds=self.runtime.config.access.request_cooldown)
        notify = await self.runtime.write(store.ask_again, user_id, nfc(name), username, self._clock(), cooldown)
        user = await self.runtime.read(lambda rt: store.get_user(rt.reader(), user_id))
        retry_at = None
        if user is not None and user.status == store.DENIED and user.decided_at:
            retry_at = datetime.fromisoformat(user.decided_at) + cooldown
        return Ask(notify, retry_at)

    async def request_access(self, user_id: int, name: str, username: str | None) -> bool:
        """Record a pending request; True when the admins are to be asked (notify them once)."""
        return (await self.ask(user_id, name, username)).notify_admins

    async def decide(self, admin_id: int, user_id: int, approve: bool, *, action: str | None = None) -> bool:
        """Approve or deny a user (audited as `action`, default user.approved/denied); False if nothing changed."""
        if not self.is_admin(admin_id):
            raise NotAdmin(f"user {admin_id} is not an admin")
        status = store.APPROVED if approve else store.DENIED
        return await self.runtime.write(store.record_decision, admin_id, user_id, status, self._clock(), action)

    async def revoke(self, admin_id: int, user_id: int) -> bool:
        """Take an approved user's access away (they count as denied: the cool-down applies)."""
        return await self.decide(admin_id, user_id, approve=False, action="user.revoked")

    async def pending(self) -> list[store.UserRow]:
        """Users waiting for a decision, oldest first."""
        return await self.runtime.read(lambda rt: store.users_with_status(rt.reader(), store.PENDING))

    async def user(self, user_id: int) -> store.UserRow | None:
        """One user's row, if known."""
        return await self.runtime.read(lambda rt: store.get_user(rt.reader(), user_id))

    async def users_page(self, status: str, page: int) -> UsersPage:
        """Page `page` (0-based, clamped) of the users in `status`, with the count of every state."""
        if status not in store.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        counts = await self.runtime.read(lambda rt: store.count_users(rt.reader()))
        pages = max(1, -(-counts[status] // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        rows = await self.runtime.read(lambda rt: store.users_page(rt.reader(), status, page * PAGE_SIZE, PAGE_SIZE))
        return UsersPage(status, page, pages, rows, counts)

    async def recent_audit(self, limit: int = 15) -> list[store.AuditRow]:
        """The newest audit rows, newest first."""
        return await self.runtime.read(lambda rt: store.recent_audit(rt.reader(), limit))

    async def refused_attempt(self, user_id: int, what: str) -> bool:
        """Audit a non-admin's try at an admin command or button (at most one row a minute per user)."""
        now = self._clock()
        if not self._attempts.allow(user_id, now):
            return False
        await self.runtime.write(store.insert_audit, user_id, "admin.refused", what[:_MAX_TEXT], None, now)
        return True

    async def language(self, user_id: int) -> str | None:
        """The language the user chose with /lang, if any."""
        return await self.runtime.read(lambda rt: store.get_language(rt.reader(), user_id))

    async def set_language(self, user_id: int, lang: str) -> None:
        """Remember the user's language (vi or en)."""
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r} (use vi or en)")
        await self.runtime.write(store.set_language, user_id, lang)
