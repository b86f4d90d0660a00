"""What a chat can do with subscriptions, without Telegram types.

The grammar of `/subscribe` (read by `read_command`, documented in README and /help):

    [daily HH:MM] QUERY               the search language, read exactly as /search reads it
    [daily HH:MM] campaign ID|NAME    a campaign of feeds.yaml
    [daily HH:MM] source ID|NAME      one outlet, as /latest resolves it
    [daily HH:MM] news                what the press writes about the organization
    diembao                           the daily press review at alerts.press_review_time

`daily HH:MM` (local time, the organization's timezone) makes it a digest; without it every
match is an instant alert. A word that would be read as a keyword is followed as a query
when quoted (`"news"`). Every change runs on the writer thread together with recompiling
that one subscription into the registry, so the next stored batch already sees it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.alerts import subscriptions as store
from bot.alerts.subscriptions import (
    CAMPAIGN,
    DAILY,
    DIEMBAO,
    INSTANT,
    NEWS,
    QUERY,
    SOURCE,
    USER_PAUSED,
    SubscriptionRow,
)
from bot.config import parse_clock
from bot.errors import MediabotError, QueryError
from bot.runtime import Runtime
from bot.search.abbreviations import abbreviations_for
from bot.search.query import Query, compile_query, parse
from bot.search.types import SearchPage
from bot.services.archive import Answer, check_sources, resolve_outlet
from bot.store import queries
from bot.textnorm import fold_vietnamese, nfc

log = logging.getLogger(__name__)
RECENT = 3  # matches shown with a confirmation: what the chat will get
MAX_LABEL = 200


class SubscriptionError(MediabotError):
    """A subscription request that cannot be done; `code` names the catalogue key `subscribe.error.<code>`."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Place:
    """Where a subscription is made and its alerts go: a chat, its forum topic, who asked."""

    chat_id: int
    thread_id: int | None
    chat_type: str
    user_id: int
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    """What to follow (before it is stored)."""

    kind: str
    target: str | None
    query: str  # the words (query and campaign kinds); "" otherwise
    label: str  # how the chat sees it named: the query, the campaign's or outlet's name
    mode: str = INSTANT
    digest_time: str | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A stored subscription and its latest matches."""

    subscription: SubscriptionRow
    recent: SearchPage


class SubscriptionService:
    """Subscribe, list, pause/resume, instant ↔ daily, delete; reads on reader threads, writes on the writer."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(self.runtime.config.organization.tz))

    # -- reading what to follow

    async def read_command(self, text: str) -> Spec:
        """`/subscribe`'s text → Spec; SubscriptionError, QueryError or UnknownOutlet (as /search, /latest)."""
        mode, digest_time, rest = _read_schedule(nfc(text or "").strip())
        spec = await self.runtime.read(lambda rt: self._what(rt, rest))
        if spec.kind == DIEMBAO:  # it has its own time (alerts.press_review_time)
            return spec if mode == INSTANT else replace(spec, mode=INSTANT)
        return replace(spec, mode=mode, digest_time=digest_time)

    def _what(self, rt: Runtime, text: str) -> Spec:
        keyword, _, value = text.partition(" ")
        keyword, value = keyword.lower(), value.strip()
        if keyword == NEWS and not value:
            return Spec(NEWS, None, "", rt.config.organization.name)
        if _fold(text) in (DIEMBAO, "diem bao"):
            return Spec(DIEMBAO, None, "", rt.config.organization.name)
        if keyword == SOURCE and value:
            outlets = queries.outlets(rt.reader())
            source_id = resolve_outlet(outlets, value)
            return Spec(SOURCE, source_id, "", next(o.name for o in outlets if o.id == source_id))
        if keyword == CAMPAIGN and value:
            return self._campaign(rt, value)
        return self._query(rt, parse(text, now=self._clock(), tz=rt.config.organization.tz), text)

    def _campaign(self, rt: Runtime, typed: str) -> Spec:
        wanted = _fold(typed)
        for campaign in rt.config.campaigns:
            if wanted in (campaign.id, _fold(campaign.name)):
                return Spec(CAMPAIGN, campaign.id, "", campaign.name)
        known = ", ".join(c.id for c in rt.config.campaigns) or "—"
        raise SubscriptionError("unknown_campaign", value=typed, known=known)

    def _query(self, rt: Runtime, query: Query, typed: str) -> Spec:
        """A query as /search reads it; `since:` is refused (a subscription follows what is new)."""
        if query.since is not None or query.until is not None:
            raise SubscriptionError("since")
        if _schedule_at_end(typed):
            raise SubscriptionError("daily_first")
        check_sources(queries.outlets(rt.reader()), query.sources)
        compile_query(query, abbreviations_for(rt.config.organization.abbreviations))  # QueryError: means nothing
        text = _query_text(query)
        if not query.has_words and len(query.sources) == 1:
            return self._what(rt, f"{SOURCE} {query.sources[0]}")
        return Spec(QUERY, None, text, _label(text))

    def follow_spec(self, answer: Answer) -> Spec | None:
        """What the Follow button under an answer subscribes to; None when it follows nothing new."""
        request, config = answer.request, self.runtime.config
        if request.kind == "news":
            return Spec(NEWS, None, "", config.organization.name)
        if request.kind == "latest":
            return Spec(SOURCE, request.text, "", _outlet_name(answer, request.text)) if request.text else None
        if request.kind == "ask" and answer.question is not None:
            query, campaign_id = answer.question.query, answer.question.campaign_id
        elif request.kind == "search":
            query, campaign_id = parse(request.text, now=self._clock(), tz=config.organization.tz), None
        else:
            return None
        text = _query_text(query)
        campaign = config.campaign(campaign_id) if campaign_id else None
        if not self._matchable(f"{campaign.query} {text}" if campaign is not None else text):
            return None
        if campaign is not None:
            return Spec(CAMPAIGN, campaign.id, text, _label(f"{campaign.name} {text}".strip()))
        if not query.has_words and len(query.sources) == 1:
            return Spec(SOURCE, query.sources[0], "", _outlet_name(answer, query.sources[0]))
        return Spec(QUERY, None, text, _label(text)) if query.has_words else None

    def _matchable(self, text: str) -> bool:
        """Will the matcher accept `text` (bot.alerts.subscriptions.query_text, then compiled)? A
        question naming a campaign plus 64 words got a Follow button; the matcher refused the
        campaign's query plus those words ("at most 64 words"): "Following …", and never an alert."""
        config = self.runtime.config
        try:
            query = parse(text, now=self._clock(), tz=config.organization.tz)
            compile_query(query, abbreviations_for(config.organization.abbreviations))
        except QueryError as err:
            return err.code == "empty"  # nothing but outlets: followed as an outlet below
        return True

    # -- changing

    async def subscribe(self, place: Place, spec: Spec) -> Subscribed:
        """Store it (SubscriptionError too_many / duplicate) and show its latest matches."""
        limit = self.runtime.config.alerts.max_subscriptions_per_chat
        new = store.NewSubscription(
            place.chat_id, place.thread_id, place.chat_type, place.user_id, place.language,
            spec.kind, spec.target, spec.query, spec.label, spec.mode, spec.digest_time,
        )  # fmt: skip
        subscription_id = await self.runtime.write(self._insert, new, limit)
        row = await self.get(subscription_id)
        assert row is not None
        return Subscribed(row, await self.recent(row))

    def _insert(self, conn: sqlite3.Connection, new: store.NewSubscription, limit: int) -> int:
        for row in store.chat_subscriptions(conn, new.chat_id):
            if (row.thread_id, row.kind, row.target, row.query) == (new.thread_id, new.kind, new.target, new.query):
                raise SubscriptionError("duplicate", label=row.label)
        try:
            subscription_id = store.insert_subscription(conn, new, limit, self._clock())
        except store.TooManySubscriptions:
            raise SubscriptionError("too_many", max=limit) from None
        for changed in (subscription_id, *store.welcome_back(conn, new.chat_id)):
            self.runtime.subscriptions.refresh(conn, self.runtime.config, changed)
        return subscription_id

    async def pause(self, subscription_id: int, paused: bool = True) -> SubscriptionRow | None:
        """Pause (or resume) a subscription; None when it no longer exists."""
        reason = USER_PAUSED if paused else None
        return await self._change(subscription_id, paused=int(paused), paused_reason=reason)

    async def switch_mode(self, subscription_id: int) -> SubscriptionRow | None:
        """Instant ↔ daily (at its own time, else `alerts.digest_time`); None when it no longer exists."""
        row = await self.get(subscription_id)
        if row is None or row.kind == DIEMBAO:
            return None if row is None else row  # the press review has one time for all
        if row.mode == DAILY:
            return await self._change(subscription_id, mode=INSTANT)
        digest_time = row.digest_time or self.runtime.config.alerts.digest_time
        return await self._change(subscription_id, mode=DAILY, digest_time=digest_time)

    async def delete(self, subscription_id: int) -> SubscriptionRow | None:
        """Delete it (its pending digest items too); the row it was, or None when already gone."""
        row = await self.get(subscription_id)
        if row is None or await self._change(subscription_id, active=0) is None:
            return None
        return row

    async def _change(self, subscription_id: int, **changes: object) -> SubscriptionRow | None:
        """Apply `changes` and recompile it into the registry in one writer job; the row after (or as deleted)."""

        def change(conn: sqlite3.Connection) -> SubscriptionRow | None:
            before = store.get_subscription(conn, subscription_id)
            if before is None or not store.update_subscription(conn, subscription_id, **changes):
                return None
            resumed = store.welcome_back(conn, before.chat_id) if changes.get("paused") == 0 else []
            for changed in (subscription_id, *resumed):
                self.runtime.subscriptions.refresh(conn, self.runtime.config, changed)
            return store.get_subscription(conn, subscription_id) or before

        return await self.runtime.write(change)

    async def chat_migrated(self, old_id: int, new_id: int) -> int:
        """Telegram made a group a supergroup (said by its service message, or by a send's 400):
        its subscriptions, pending alerts and 403 mark follow it to the new id. Returns how many
        subscriptions moved (0 when done already)."""
        runtime = self.runtime
        moved = await runtime.write(runtime.subscriptions.move_chat, runtime.config, old_id, new_id)
        runtime.notify_outbox()
        if moved and old_id in runtime.config.access.chats and new_id not in runtime.config.access.chats:
            log.warning("chat %d is now %d: put the new id into access.chats (it replaces the old one)", old_id, new_id)
        return len(moved)

    def may_receive(self, conn: sqlite3.Connection, subscription_id: int) -> bool:
        """May the subscription's chat still get what is queued for it (delivery asks, on the writer)."""
        return store.subscription_may_receive(conn, self.runtime.config, subscription_id)

    # -- reading

    async def get(self, subscription_id: int) -> SubscriptionRow | None:
        """A subscription by id (None when deleted or never made)."""
        return await self.runtime.read(lambda rt: store.get_subscription(rt.reader(), subscription_id))

    async def of_chat(self, chat_id: int) -> list[SubscriptionRow]:
        """A chat's subscriptions in /subscriptions' order."""
        return await self.runtime.read(lambda rt: store.chat_subscriptions(rt.reader(), chat_id))

    async def recent(self, row: SubscriptionRow, limit: int = RECENT) -> SearchPage:
        """Its newest matches in the archive (empty when its query no longer compiles)."""

        def newest(rt: Runtime) -> SearchPage:
            try:
                compiled = store.compile_subscription(row, rt.config)
            except QueryError:
                return SearchPage((), 0, 0, limit)
            return rt.engine().search_plan(compiled.plan, limit=limit, newest_first=True)

        return await self.runtime.read(newest)

    def query_text(self, row: SubscriptionRow) -> str | None:
        """The search-language text the subscription follows (for "more like this")."""
        return store.query_text(row, self.runtime.config)


def _read_schedule(text: str) -> tuple[str, str | None, str]:
    """A leading `daily HH:MM` → (mode, time, the rest); SubscriptionError for a bad or missing time."""
    first, _, rest = text.partition(" ")
    if first.lower() != DAILY:
        if not text:
            raise SubscriptionError("usage")
        return INSTANT, None, text
    when, _, rest = rest.strip().partition(" ")
    try:
        digest_time = parse_clock(when)
    except ValueError:
        raise SubscriptionError("bad_time", value=when[:20]) from None
    if not rest.strip():
        raise SubscriptionError("usage")
    return DAILY, digest_time, rest.strip()


def _schedule_at_end(text: str) -> bool:
    words = text.split()
    if len(words) < 2 or words[-2].lower() != DAILY:
        return False
    try:
        parse_clock(words[-1])
    except ValueError:
        return False
    return True


def _query_text(query: Query) -> str:
    """The structured query's words and outlets in the search language (periods are not followed)."""
    return " ".join([query.text(), *(f"source:{s}" for s in query.sources)]).strip()


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _outlet_name(answer: Answer, source_id: str) -> str:
    return next((h.source_name for h in answer.page.hits if h.source == source_id), source_id)


def _fold(text: str) -> str:
    return " ".join(fold_vietnamese(nfc(text)).casefold().split())
