"""Subscriptions: saved queries with a destination (a chat, and in a forum the topic it was made in).

A row of `subscriptions` follows one of four things (its `kind`):

    query     the search language, as /search reads it            (query = the text)
    campaign  a campaign of feeds.yaml, optionally with more words (target = campaign id)
    source    one outlet                                           (target = source id)
    news      what the press writes about the organization (its name and aliases)
    diembao   the daily press review at alerts.press_review_time (bot.alerts.scheduled; not a
              saved query: nothing is matched for it)

Each active, unpaused row is compiled into a `Subscription` (a SavedQuery of kind SUBSCRIPTION
plus where its matches go) and kept in the registry by `SubscriptionSet`; the recorder below
runs inside the transaction that stores new articles: instant subscriptions get outbox rows,
daily ones digest items (bot.alerts.digest sends those at their local time).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from bot.alerts.outbox import REASON_BLOCKED, AlertMatch, enqueue_alerts, move_chat_rows, unblock_chat
from bot.config import Config, Organization
from bot.errors import QueryError
from bot.saved_queries.percolator import match_new_articles, percolator_for
from bot.saved_queries.saved_query import SUBSCRIPTION, SavedQuery, compile_saved_query
from bot.search.abbreviations import abbreviations_for
from bot.store.db import iso_utc, transaction

if TYPE_CHECKING:  # the registry imports this module's recorder
    from bot.saved_queries.registry import Registry

log = logging.getLogger(__name__)
QUERY, CAMPAIGN, SOURCE, NEWS, DIEMBAO = "query", "campaign", "source", "news", "diembao"
KINDS = (QUERY, CAMPAIGN, SOURCE, NEWS, DIEMBAO)
INSTANT, DAILY = "instant", "daily"
USER_PAUSED = "user"  # paused_reason of /subscriptions' pause and the alert's mute; delivery sets 'blocked'
_NAMES = str.maketrans({c: " " for c in '"“”„‟«»'})
_COLUMNS = """id, chat_id, thread_id, kind, target, query, label, mode, digest_time, last_digest_date,
              paused, paused_reason, created_by, chat_type, language, created_at"""


class TooManySubscriptions(Exception):
    """The chat already has its configured maximum of subscriptions."""


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """One row of `subscriptions` (active ones only are ever returned)."""

    id: int
    chat_id: int
    thread_id: int | None
    kind: str
    target: str | None
    query: str
    label: str
    mode: str
    digest_time: str | None
    last_digest_date: str | None
    paused: bool
    paused_reason: str | None
    created_by: int | None
    chat_type: str
    language: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What to store for a new subscription (the service has validated it)."""

    chat_id: int
    thread_id: int | None
    chat_type: str
    created_by: int
    language: str | None
    kind: str
    target: str | None
    query: str
    label: str
    mode: str
    digest_time: str | None


@dataclass(frozen=True, slots=True)
class Subscription(SavedQuery):
    """A compiled subscription: its saved query plus where and how its matches are delivered."""

    chat_id: int
    thread_id: int | None
    mode: str
    created_by: int | None
    # The configuration lets this chat in (public mode, a configured admin, user or group): no
    # need to look up the creator's approval for each match.
    trusted: bool
    # A private chat: an approval by /users lets it in. A group is let in by configuration only.
    approval_counts: bool = False


# ---- the table


def _row(values: Sequence[object]) -> SubscriptionRow:
    row = list(values)
    row[10] = bool(row[10])
    return SubscriptionRow(*row)  # type: ignore[arg-type]


def insert_subscription(conn: sqlite3.Connection, new: NewSubscription, limit: int, now: datetime) -> int:
    """Store a subscription; TooManySubscriptions when the chat has `limit` already (one transaction)."""
    with transaction(conn):
        count = conn.execute("SELECT count(*) FROM subscriptions WHERE chat_id = ? AND active = 1", (new.chat_id,))
        if count.fetchone()[0] >= limit:
            raise TooManySubscriptions(new.chat_id)
        cursor = conn.execute(
            """INSERT INTO subscriptions (chat_id, thread_id, query, created_by, created_at, kind, target,
                   label, mode, digest_time, language, chat_type, last_digest_date)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                new.chat_id,
                new.thread_id,
                new.query,
                new.created_by,
                iso_utc(now),
                new.kind,
                new.target,
                new.label,
                new.mode,
                new.digest_time,
                new.language,
                new.chat_type,
                None,
            ),
        )
        return int(cursor.lastrowid or 0)


def get_subscription(conn: sqlite3.Connection, subscription_id: int) -> SubscriptionRow | None:
    """An active (not deleted) subscription by id."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM subscriptions WHERE id = ? AND active = 1", (subscription_id,))
    found = row.fetchone()
    return _row(found) if found else None


def chat_subscriptions(conn: sqlite3.Connection, chat_id: int) -> list[SubscriptionRow]:
    """A chat's subscriptions, oldest first (the order /subscriptions numbers them in)."""
    sql = f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id = ? AND active = 1 ORDER BY id"
    rows = conn.execute(sql, (chat_id,))
    return [_row(r) for r in rows]


def live_subscriptions(conn: sqlite3.Connection) -> list[SubscriptionRow]:
    """Every subscription that is neither deleted nor paused."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 AND paused = 0 ORDER BY id")
    return [_row(r) for r in rows]


def update_subscription(conn: sqlite3.Connection, subscription_id: int, **changes: object) -> bool:
    """Set columns of an active subscription (paused, paused_reason, mode, digest_time, active)."""
    allowed = {"paused", "paused_reason", "mode", "digest_time", "active", "last_digest_date"}
    if not changes or set(changes) - allowed:
        raise ValueError(f"cannot change {sorted(set(changes) - allowed)}")
    assignments = ", ".join(f"{name} = ?" for name in changes)
    with transaction(conn):
        cursor = conn.execute(
            f"UPDATE subscriptions SET {assignments} WHERE id = ? AND active = 1", [*changes.values(), subscription_id]
        )
        if changes.get("mode") == INSTANT or changes.get("active") == 0:
            conn.execute("DELETE FROM digest_items WHERE subscription_id = ?", (subscription_id,))
    return cursor.rowcount > 0


def welcome_back(conn: sqlite3.Connection, chat_id: int) -> list[int]:
    """The chat acted again after a 403 (it subscribed or resumed): deliver there again and resume
    what the 403 paused; the ids resumed (empty when the chat was not blocked)."""
    with transaction(conn):
        if not unblock_chat(conn, chat_id):
            return []
        where = "chat_id = ? AND active = 1 AND paused_reason = ?"
        ids = [row[0] for row in conn.execute(f"SELECT id FROM subscriptions WHERE {where}", (chat_id, REASON_BLOCKED))]
        conn.execute(
            f"UPDATE subscriptions SET paused = 0, paused_reason = NULL WHERE {where}", (chat_id, REASON_BLOCKED)
        )
    return ids


def move_chat(conn: sqlite3.Connection, old_id: int, new_id: int) -> list[int]:
    """A group became a supergroup with a new id: its subscriptions, pending outbox rows and 403
    mark move there, in one transaction. Returns the subscriptions moved (to recompile).

    Idempotent (Telegram tells twice, and delivery may find out first). A moved subscription
    the new chat already has (made there before the move was known) is deleted, not doubled.
    """
    with transaction(conn):
        ids = [r[0] for r in conn.execute("SELECT id FROM subscriptions WHERE chat_id = ? AND active = 1", (old_id,))]
        conn.execute(
            """UPDATE subscriptions SET active = 0 WHERE chat_id = ? AND active = 1 AND EXISTS (
                   SELECT 1 FROM subscriptions n WHERE n.chat_id = ? AND n.active = 1
                   AND n.thread_id IS subscriptions.thread_id AND n.kind = subscriptions.kind
                   AND n.target IS subscriptions.target AND n.query = subscriptions.query)""",
            (old_id, new_id),
        )
        conn.execute(
            "UPDATE subscriptions SET chat_id = ?, chat_type = 'supergroup' WHERE chat_id = ?", (new_id, old_id)
        )
        move_chat_rows(conn, old_id, new_id)
    return ids


# ---- compiling


def news_query(organization: Organization) -> str:
    """`"name" OR "alias" OR …`: the organization under any of its names."""
    names = [" ".join(n.translate(_NAMES).split()) for n in (organization.name, *organization.aliases)]
    return " OR ".join(f'"{n}"' for n in dict.fromkeys(n for n in names if n))


def query_text(row: SubscriptionRow, config: Config) -> str | None:
    """The search-language text a subscription follows today (None: its campaign is gone)."""
    if row.kind == SOURCE:
        return f"source:{row.target}"
    if row.kind == NEWS:
        return news_query(config.organization)
    if row.kind == CAMPAIGN:
        campaign = config.campaign(row.target or "")
        # Appending is AND in this language: `"a" OR "b"` then `c d` reads (a OR b) AND c AND d.
        return None if campaign is None else f"{campaign.query} {row.query}".strip()
    return row.query


def is_trusted(config: Config, chat_id: int, chat_type: str, created_by: int | None) -> bool:
    """Does the configuration alone let this chat receive alerts (no approval to look up)?

    The same rule as answers in chat (`AccessService.verdict`): a group is in `access.chats`,
    or the subscription is an admin's; a member's subscription in any other group is not sent,
    as every member of that group would read it.
    """
    access = config.access
    if access.mode == "public" or (created_by is not None and created_by in access.admins):
        return True
    if chat_type != "private":
        return chat_id in access.chats
    return created_by is not None and created_by in access.users


def compile_subscription(row: SubscriptionRow, config: Config, *, now: datetime | None = None) -> Subscription:
    """A row → its compiled Subscription; QueryError when its query no longer means anything."""
    text = query_text(row, config)
    if text is None:
        raise QueryError(f"campaign {row.target} is no longer configured", "unknown_campaign")
    saved = compile_saved_query(
        SUBSCRIPTION,
        str(row.id),
        row.label,
        text,
        since=None,
        tz=config.organization.tz,
        abbreviations=abbreviations_for(config.organization.abbreviations),
        now=now,
    )
    base = {f.name: getattr(saved, f.name) for f in fields(SavedQuery)}
    trusted = is_trusted(config, row.chat_id, row.chat_type, row.created_by)
    return Subscription(**base, chat_id=row.chat_id, thread_id=row.thread_id, mode=row.mode,
                        created_by=row.created_by, trusted=trusted,
                        approval_counts=row.chat_type == "private")  # fmt: skip


class SubscriptionSet:
    """The compiled live subscriptions, published to the registry; used on the writer thread only.

    A change recompiles one subscription and swaps the registry's tuple (10,000 entries: see
    README), so no batch of articles is stored between a change and the registry seeing it.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._compiled: dict[int, Subscription] = {}

    def load(self, conn: sqlite3.Connection, config: Config) -> int:
        """Compile every live subscription (at start, and on /reload: campaigns, names, access change)."""
        compiled = {}
        for row in live_subscriptions(conn):
            subscription = self._compile(row, config)
            if subscription is not None:
                compiled[row.id] = subscription
        self._compiled = compiled
        self._publish()
        return len(compiled)

    def refresh(self, conn: sqlite3.Connection, config: Config, subscription_id: int) -> None:
        """One subscription changed (created, paused, resumed, switched, deleted): recompile it alone."""
        row = get_subscription(conn, subscription_id)
        subscription = self._compile(row, config) if row is not None and not row.paused else None
        if subscription is None:
            self._compiled.pop(subscription_id, None)
        else:
            self._compiled[subscription_id] = subscription
        self._publish()

    def move_chat(self, conn: sqlite3.Connection, config: Config, old_id: int, new_id: int) -> list[int]:
        """The chat has a new id: move everything of it (`move_chat`) and recompile what moved."""
        moved = move_chat(conn, old_id, new_id)
        for subscription_id in moved:
            self.refresh(conn, config, subscription_id)
        return moved

    def __len__(self) -> int:
        return len(self._compiled)

    def _compile(self, row: SubscriptionRow, config: Config) -> Subscription | None:
        if row.kind == DIEMBAO:
            return None  # a scheduled message, not a saved query
        try:
            return compile_subscription(row, config)
        except QueryError as err:  # e.g. its campaign was removed from feeds.yaml: it waits, unmatched
            log.warning("subscription %s is not matched: %s", row.id, err)
            return None

    def _publish(self) -> None:
        self.registry.replace(SUBSCRIPTION, self._compiled.values())


# ---- the recorder (inside the store transaction)


def match_subscriptions(
    conn: sqlite3.Connection, subscriptions: Sequence[Subscription], new_ids: Sequence[int]
) -> list[tuple[Subscription, int]]:
    """Which subscription matches which new article, with exactly the search rules (the percolator)."""
    found = match_new_articles(conn, percolator_for(conn, subscriptions), new_ids)
    return [(s, article_id) for s in subscriptions for article_id in found.get(s.id, ())]


def record_subscription_matches(
    conn: sqlite3.Connection, saved_queries: Sequence[SavedQuery], new_ids: Sequence[int]
) -> None:
    """Instant subscriptions' matches → outbox rows; daily ones' → digest items. Same transaction."""
    subscriptions = [s for s in saved_queries if isinstance(s, Subscription)]
    matches = _allowed(conn, match_subscriptions(conn, subscriptions, new_ids))
    instant = [AlertMatch(int(s.id), s.chat_id, s.thread_id, a) for s, a in matches if s.mode == INSTANT]
    if instant:
        enqueue_alerts(conn, instant)
    daily = [(int(s.id), a) for s, a in matches if s.mode == DAILY]
    conn.executemany("INSERT OR IGNORE INTO digest_items (subscription_id, article_id) VALUES (?, ?)", daily)


def may_receive(conn: sqlite3.Connection, config: Config, row: SubscriptionRow) -> bool:
    """May this subscription's chat still get alerts (the same rule as the recorder's)?"""
    if is_trusted(config, row.chat_id, row.chat_type, row.created_by):
        return True
    if row.chat_type != "private" or row.created_by is None:
        return False
    return bool(_approved(conn, {row.created_by}))


def subscription_may_receive(conn: sqlite3.Connection, config: Config, subscription_id: int) -> bool:
    """Delivery's last look before sending a row of this subscription: `may_receive`, now.

    Access may have been withdrawn after the row was queued (a user denied, dropped from
    `access` by /reload): the row must then never be sent. A deleted subscription is judged
    by delivery itself (its alerts are skipped as not live), not here.
    """
    row = get_subscription(conn, subscription_id)
    return row is None or may_receive(conn, config, row)


def _approved(conn: sqlite3.Connection, user_ids: set[int]) -> set[int]:
    marks = ",".join("?" * len(user_ids))
    sql = f"SELECT id FROM users WHERE status = 'approved' AND id IN ({marks})"
    return {row[0] for row in conn.execute(sql, list(user_ids))}


def _allowed(conn: sqlite3.Connection, matches: list[tuple[Subscription, int]]) -> list[tuple[Subscription, int]]:
    """Drop matches whose chat lost access: a creator trusted by no configuration must be approved now."""
    creators = {s.created_by for s, _ in matches if not s.trusted and s.approval_counts and s.created_by is not None}
    if not creators:
        return [(s, a) for s, a in matches if s.trusted]
    approved = _approved(conn, creators)
    return [(s, a) for s, a in matches if s.trusted or (s.approval_counts and s.created_by in approved)]
