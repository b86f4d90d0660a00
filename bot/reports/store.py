"""A campaign's stored matches in a period: the rows every report number is made of.

They are the rows of `campaign_articles` (written when the article was stored, rebuilt when
the campaign's query changes), never a new search, so a report counts exactly what
`/campaigns` and campaign questions count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from bot.reports.period import ReportPeriod
from bot.search.plan import first_id_since

# Ids grow with fetch time: the id bound keeps the walk to the period's tail of the
# campaign's rows (its primary key is (campaign_id, article_id)); the published_ts test on
# the joined row is then exact.
_MATCHES = """FROM campaign_articles c JOIN articles a ON a.id = c.article_id
              WHERE c.campaign_id = ? AND c.article_id >= ? AND a.published_ts >= ? AND a.published_ts < ?"""


@dataclass(frozen=True, slots=True)
class Match:
    """One stored match, as much of it as the numbers need."""

    id: int
    source_id: str
    published_ts: int
    story_id: int  # the article's own id when it belongs to no story


@dataclass(frozen=True, slots=True)
class ArticleRow:
    """One stored match with what a person reads in an export."""

    id: int
    source_id: str
    source_name: str
    published_ts: int
    title: str
    url: str
    story_id: int


def _bounds(conn: sqlite3.Connection, campaign_id: str, period: ReportPeriod) -> list[object]:
    start, end = period.start.timestamp(), period.end.timestamp()
    return [campaign_id, first_id_since(conn, start), start, end]


def matches(conn: sqlite3.Connection, campaign_id: str, period: ReportPeriod) -> list[Match]:
    """Every stored match of the campaign published in the period."""
    sql = f"SELECT a.id, a.source_id, a.published_ts, coalesce(a.story_id, a.id) {_MATCHES}"
    return [Match(*row) for row in conn.execute(sql, _bounds(conn, campaign_id, period))]


def match_times(conn: sqlite3.Connection, campaign_id: str, period: ReportPeriod) -> list[int]:
    """Publication times of the campaign's stored matches in the period."""
    sql = f"SELECT a.published_ts {_MATCHES}"
    return [row[0] for row in conn.execute(sql, _bounds(conn, campaign_id, period))]


def article_rows(conn: sqlite3.Connection, campaign_id: str, period: ReportPeriod) -> list[ArticleRow]:
    """Every stored match in the period with outlet name, title and URL, oldest first."""
    sql = f"""SELECT a.id, a.source_id, coalesce(s.name, a.source_id), a.published_ts, a.title, a.url,
                     coalesce(a.story_id, a.id)
              {_MATCHES.replace("WHERE", "LEFT JOIN sources s ON s.id = a.source_id WHERE", 1)}
              ORDER BY a.published_ts, a.id"""
    return [ArticleRow(*row) for row in conn.execute(sql, _bounds(conn, campaign_id, period))]


def titles(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Title and URL of a few articles."""
    if not ids:
        return {}
    rows = conn.execute(f"SELECT id, title, url FROM articles WHERE id IN ({','.join('?' * len(ids))})", list(ids))
    return {row[0]: (row[1], row[2]) for row in rows}


def source_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Every outlet's display name by id (removed outlets keep theirs: their articles stay)."""
    return dict(conn.execute("SELECT id, name FROM sources"))
