"""Campaigns (feeds.yaml `campaigns:`): compiled from the configuration, their matches stored.

A campaign's matches are rows of `campaign_articles`, written by the after-insert hook
(through the percolator) inside the transaction that stores the articles and rebuilt by `retag` when its query
changes; `/campaigns`, campaign questions and (issue #8) reports read these rows instead
of searching again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.config import Config
from bot.errors import ConfigError, QueryError
from bot.saved_queries.percolator import match_new_articles, percolator_for
from bot.saved_queries.saved_query import CAMPAIGN, SavedQuery, compile_saved_query
from bot.search.abbreviations import abbreviations_for
from bot.search.plan import first_id_since

_INSERT = "INSERT OR IGNORE INTO campaign_articles (campaign_id, article_id) VALUES (?, ?)"


def compile_campaigns(config: Config, *, now: datetime | None = None) -> tuple[SavedQuery, ...]:
    """Every campaign of the configuration, compiled; ConfigError naming `campaigns[i].query`.

    The one validation of campaign queries: `check-config`, start and `/reload` all call it,
    so a query one of them accepts, none refuses.
    """
    tz = config.organization.tz
    abbreviations = abbreviations_for(config.organization.abbreviations)
    compiled = []
    for i, campaign in enumerate(config.campaigns):
        try:
            compiled.append(
                compile_saved_query(
                    CAMPAIGN,
                    campaign.id,
                    campaign.name,
                    campaign.query,
                    since=campaign.since,
                    tz=tz,
                    abbreviations=abbreviations,
                    now=now,
                )
            )
        except QueryError as err:
            raise ConfigError(f"{config.path}: campaigns[{i}].query: {err}") from None
    return tuple(compiled)


def record_campaign_matches(conn: sqlite3.Connection, campaigns: Sequence[SavedQuery], new_ids: Sequence[int]) -> None:
    """Store which of the new articles each campaign matches (the percolator: the search's rules, in memory)."""
    # Measured with 20 campaigns (bench/match.py): a batch of 20 new articles 0.8 ms instead
    # of 4.3 ms with one FTS query per campaign; a backlog of 1,000, 43 ms instead of 12.
    matches = match_new_articles(conn, percolator_for(conn, campaigns), new_ids)
    conn.executemany(_INSERT, [(campaign_id, i) for campaign_id, ids in matches.items() for i in ids])


def count_campaign_matches(
    conn: sqlite3.Connection, campaign_id: str, start: datetime, end: datetime | None = None
) -> int:
    """Stored matches of a campaign published in [start, end) (end None: up to now and beyond)."""
    # Ids grow with fetch time: the id bound keeps the walk to the period's tail of the
    # campaign's rows; the published_ts test on the joined row is then exact.
    sql = """SELECT count(*) FROM campaign_articles c JOIN articles a ON a.id = c.article_id
             WHERE c.campaign_id = ? AND c.article_id >= ? AND a.published_ts >= ?"""
    params: list[object] = [campaign_id, first_id_since(conn, start.timestamp()), start.timestamp()]
    if end is not None:
        sql += " AND a.published_ts < ?"
        params.append(end.timestamp())
    return conn.execute(sql, params).fetchone()[0]
