"""Re-tagging the archive when a campaign's query changes.

Each campaign's fingerprint (its query, start date and compiled plan) is stored beside its
matches; at start and on `/reload` only the campaigns whose fingerprint differs are
re-tagged (their rows deleted and re-selected in one transaction) and the rows of
campaigns no longer configured are dropped. Runs on the writer thread, so no batch of
new articles is stored halfway through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.saved_queries.saved_query import CAMPAIGN, SavedQuery
from bot.search.plan import id_column, matching_sql
from bot.store.db import iso_utc, transaction


@dataclass(frozen=True, slots=True)
class RetagReport:
    """What a re-tag changed: matches now stored per re-tagged campaign, campaigns dropped."""

    retagged: dict[str, int] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the audit log, e.g. `re-tagged cds (12), bao (3); dropped old`."""
        parts = []
        if self.retagged:
            parts.append("re-tagged " + ", ".join(f"{cid} ({n})" for cid, n in self.retagged.items()))
        if self.dropped:
            parts.append("dropped " + ", ".join(self.dropped))
        return "; ".join(parts)


def retag_changed(
    conn: sqlite3.Connection, campaigns: Sequence[SavedQuery], *, now: datetime | None = None
) -> RetagReport:
    """Re-tag the campaigns whose fingerprint changed, drop removed ones; one transaction."""
    at = iso_utc(now or datetime.now(UTC))
    with transaction(conn):
        stored = dict(conn.execute("SELECT id, fingerprint FROM saved_query_fingerprints WHERE kind = ?", (CAMPAIGN,)))
        wanted = {c.id for c in campaigns}
        dropped = tuple(sorted(set(stored) - wanted))
        for campaign_id in dropped:
            conn.execute("DELETE FROM campaign_articles WHERE campaign_id = ?", (campaign_id,))
            conn.execute("DELETE FROM saved_query_fingerprints WHERE kind = ? AND id = ?", (CAMPAIGN, campaign_id))
        retagged = {c.id: _retag(conn, c, at) for c in campaigns if stored.get(c.id) != c.fingerprint}
    return RetagReport(retagged, dropped)


def _retag(conn: sqlite3.Connection, campaign: SavedQuery, at: str) -> int:
    """Replace one campaign's stored matches by a fresh search of the whole archive."""
    conn.execute("DELETE FROM campaign_articles WHERE campaign_id = ?", (campaign.id,))
    base, params = matching_sql(conn, campaign.plan)
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO campaign_articles (campaign_id, article_id) "
        f"SELECT ?, {id_column(campaign.plan)} {base}",
        [campaign.id, *params],
    )
    store_fingerprint(conn, CAMPAIGN, campaign.id, campaign.fingerprint, at)
    return cursor.rowcount


def store_fingerprint(conn: sqlite3.Connection, kind: str, query_id: str, fingerprint: str, at: str) -> None:
    """Record what a saved query's stored matches were made from (compared at the next start or /reload)."""
    conn.execute(
        """INSERT INTO saved_query_fingerprints (kind, id, fingerprint, tagged_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, id) DO UPDATE SET fingerprint = excluded.fingerprint, tagged_at = excluded.tagged_at""",
        (kind, query_id, fingerprint, at),
    )
