"""Campaigns: tag every stored article that matches a campaign's query (feeds.yaml `campaigns:`).

Tags are written by a store hook, inside the transaction that stores the articles, so an
article is never stored without its campaign tags; `retag_campaigns` rebuilds them all
when the configuration changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.config import Campaign
from bot.errors import ConfigError, QueryError
from bot.search.plan import SearchPlan, id_column, matching_ids, matching_sql, plan_query
from bot.search.query import parse_query
from bot.store.articles import AfterInsertHook

_INSERT = "INSERT OR IGNORE INTO campaign_articles (campaign_id, article_id) VALUES (?, ?)"


def compile_campaign(campaign: Campaign, tz: ZoneInfo) -> SearchPlan:
    """The campaign's query and start date as a plan; ConfigError naming the campaign if meaningless."""
    # A relative since: inside a campaign query is taken from the moment it is compiled.
    try:
        parsed = parse_query(campaign.query, now=datetime.now(UTC), tz=tz)
    except QueryError as err:
        raise ConfigError(f"campaigns: {campaign.id}: query: {err}") from None
    since = datetime.combine(campaign.since, time(0), tzinfo=tz) if campaign.since else None
    return plan_query(parsed, since=since)


def campaign_tagger(campaigns: Sequence[Campaign], tz: ZoneInfo) -> AfterInsertHook:
    """A store hook that tags the newly stored articles matching each campaign."""
    plans = [(campaign.id, compile_campaign(campaign, tz)) for campaign in campaigns]

    def tag_new_articles(conn: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        for campaign_id, plan in plans:
            matched = matching_ids(conn, plan, new_ids)
            conn.executemany(_INSERT, [(campaign_id, article_id) for article_id in matched])

    return tag_new_articles


def retag_campaigns(conn: sqlite3.Connection, campaigns: Sequence[Campaign], tz: ZoneInfo) -> dict[str, int]:
    """Rebuild campaign_articles from scratch in one transaction; return articles tagged per campaign."""
    plans = [(campaign.id, compile_campaign(campaign, tz)) for campaign in campaigns]  # fail before deleting
    own_transaction = not conn.in_transaction
    if own_transaction:
        conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM campaign_articles")
        counts: dict[str, int] = {}
        for campaign_id, plan in plans:
            base, params = matching_sql(conn, plan)
            cursor = conn.execute(
                f"INSERT OR IGNORE INTO campaign_articles (campaign_id, article_id) SELECT ?, {id_column(plan)} {base}",
                [campaign_id, *params],
            )
            counts[campaign_id] = cursor.rowcount
        if own_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if own_transaction:
            conn.execute("ROLLBACK")
        raise
    return counts
