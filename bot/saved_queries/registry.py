"""The active saved queries of every kind, and the one after-insert hook that records their matches.

The registry is filled at start, refilled on `/reload` (campaigns, subscriptions) and whenever
a subscription changes: `replace(kind, saved_queries)` swaps one kind's set whole.

`record_matches` is the store's after-insert hook: it runs inside the transaction that
stores new articles, so an article is never stored without its matches. Each kind has
one recorder, a function `(conn, saved_queries, new_ids) -> None`, given to the registry by
the process that builds it (bot.runtime: the registry never imports the packages it serves):

    campaign      → campaign_articles rows   (campaigns.record_campaign_matches)
    subscription  → outbox rows (instant) and digest items (daily)
                                             (bot.alerts.subscriptions.record_subscription_matches)
    organization  → organization_articles rows (department news, warnings), warnings → admins' outbox
                                             (bot.alerts.department_news.record_organization_matches)

A recorder finds its matches with `percolator.match_new_articles(conn, percolator_for(conn,
saved_queries), new_ids)`: one percolator per set of saved queries, built when the set is
first seen, so 10,000 subscriptions cost one pass over the new articles, not 10,000 FTS
queries. Kinds are recorded in the order the recorders are given (campaigns first), so a
subscription to a campaign sees the campaign's rows of the same batch; the organization's
last, so an admin who follows the news keeps that subscription's alert (and its buttons).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

from bot.saved_queries.campaigns import record_campaign_matches
from bot.saved_queries.percolator import forget_batch
from bot.saved_queries.saved_query import CAMPAIGN, SavedQuery

Recorder = Callable[[sqlite3.Connection, Sequence[SavedQuery], Sequence[int]], None]


class Registry:
    """Saved queries by kind; read by the writer thread, replaced from anywhere."""

    def __init__(self, recorders: Mapping[str, Recorder] | None = None) -> None:
        # Campaigns are this package's own kind; other kinds (subscriptions) bring their recorder.
        self._recorders = MappingProxyType(dict(recorders or {CAMPAIGN: record_campaign_matches}))
        self._by_kind: dict[str, tuple[SavedQuery, ...]] = {}

    def replace(self, kind: str, saved_queries: Iterable[SavedQuery]) -> None:
        """Make `saved_queries` the active set of their kind (ValueError for a kind nothing records)."""
        if kind not in self._recorders:
            raise ValueError(f"no recorder for saved queries of kind {kind!r}")
        chosen = tuple(saved_queries)
        if any(q.kind != kind for q in chosen):
            raise ValueError(f"replace({kind!r}) given saved queries of another kind")
        # One reference swap: a hook running on the writer thread sees the old set or the
        # new one, never a mix.
        self._by_kind = {**self._by_kind, kind: chosen}

    def active(self, kind: str) -> tuple[SavedQuery, ...]:
        """The active saved queries of one kind, in configuration order."""
        return self._by_kind.get(kind, ())

    def find(self, kind: str, query_id: str) -> SavedQuery | None:
        """The active saved query of this kind and id."""
        return next((q for q in self.active(kind) if q.id == query_id), None)

    def record_matches(self, conn: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        """The after-insert hook: record every active saved query's matches among `new_ids`."""
        by_kind = self._by_kind
        try:
            for kind, recorder in self._recorders.items():  # campaigns first: subscriptions to a campaign read its rows
                if by_kind.get(kind):
                    recorder(conn, by_kind[kind], new_ids)
        finally:
            forget_batch()  # the recorders shared one read-back of the batch; it ends with the hook
