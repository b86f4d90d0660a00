"""Department news and early warning: the organization's saved queries, their stored matches.

An article naming the organization (its name or an alias: `news_query`, as /news and news
subscriptions read it) is department news; one that also names a warning term
(`organization.warning_terms`, e.g. `sai phạm`, `khiếu nại`) is a warning. Both are decided
inside the transaction that stores the article, by the percolator, from saved queries
compiled once (at start and on /reload):

    news          the organization's names
    warning:<i>   the names AND the i-th warning term

One saved query per term (their union is exactly "names AND (any term)") so the percolator
says which term an article names; the first term of the configuration wins. The matches are
rows of `organization_articles` (warning_term NULL: plain department news); each new warning
becomes an alert to every admin's private chat through the outbox, in the same transaction
(exactly once per chat and article: the outbox's unique keys), and the alert renderer marks
it ⚠ with its term. When the names or terms change, the rows are rebuilt from the whole
archive (no alerts for old articles), as campaigns are re-tagged.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from bot.alerts.outbox import AlertMatch, enqueue_alerts
from bot.alerts.subscriptions import news_query
from bot.config import Config
from bot.errors import ConfigError, QueryError
from bot.saved_queries.percolator import match_new_articles, percolator_for
from bot.saved_queries.retag import store_fingerprint
from bot.saved_queries.saved_query import ORGANIZATION, SavedQuery, compile_saved_query
from bot.search.abbreviations import abbreviations_for
from bot.search.plan import first_id_since, id_column, matching_sql
from bot.store.db import iso_utc, transaction

NEWS_ID = "news"
_INSERT = "INSERT OR IGNORE INTO organization_articles (article_id, warning_term) VALUES (?, ?)"


@dataclass(frozen=True, slots=True)
class OrganizationQuery(SavedQuery):
    """The organization's names, or its names AND one warning term; who hears of a warning at once."""

    warning_term: str | None  # None: the names alone (department news)
    notify: tuple[int, ...]  # the admins' private chats


@dataclass(frozen=True, slots=True)
class OrganizationMatch:
    """One stored article about the organization."""

    id: int
    source_id: str
    published_ts: int
    story_id: int
    warning_term: str | None


def compile_organization(config: Config, *, now: datetime | None = None) -> tuple[OrganizationQuery, ...]:
    """The news query and one warning query per term; ConfigError naming the key that means nothing."""
    organization = config.organization
    names = news_query(organization)
    wanted: list[tuple[str, str, str | None, str]] = [(NEWS_ID, names, None, "organization.name")]
    for i, word in enumerate(organization.warning_terms):
        wanted.append((f"warning:{i}", f'{names} "{word}"', word, f"organization.warning_terms[{i}]"))
    compiled = []
    for query_id, text, term, key in wanted:
        try:
            saved = compile_saved_query(
                ORGANIZATION, query_id, term or organization.name, text, since=None, tz=organization.tz,
                abbreviations=abbreviations_for(organization.abbreviations), now=now,
            )  # fmt: skip
        except QueryError as err:
            raise ConfigError(f"{config.path}: {key}: {err}") from None
        base = {f.name: getattr(saved, f.name) for f in fields(SavedQuery)}
        compiled.append(OrganizationQuery(**base, warning_term=term, notify=config.access.admins))
    return tuple(compiled)


def record_organization_matches(
    conn: sqlite3.Connection, saved_queries: Sequence[SavedQuery], new_ids: Sequence[int]
) -> None:
    """Inside the store transaction: department news and warnings rows, warnings → admins' outbox."""
    queries = [q for q in saved_queries if isinstance(q, OrganizationQuery)]
    found = match_new_articles(conn, percolator_for(conn, queries), new_ids)
    terms: dict[int, str | None] = dict.fromkeys(found.get(NEWS_ID, ()))
    for query in queries:  # configuration order: the first term named wins
        for article_id in found.get(query.id, ()):
            if query.warning_term and terms.get(article_id) is None:
                terms[article_id] = query.warning_term
    conn.executemany(_INSERT, sorted(terms.items()))
    warnings = sorted(a for a, term in terms.items() if term)
    notify = queries[0].notify if queries else ()
    enqueue_alerts(conn, [AlertMatch(None, chat, None, a) for a in warnings for chat in notify])


def retag_organization(
    conn: sqlite3.Connection, queries: Sequence[OrganizationQuery], *, now: datetime | None = None
) -> int | None:
    """Rebuild the stored matches when the names or terms changed (one transaction); rows stored, or None."""
    fingerprint = hashlib.sha256("|".join(q.fingerprint for q in queries).encode()).hexdigest()[:32]
    with transaction(conn):
        stored = conn.execute(
            "SELECT fingerprint FROM saved_query_fingerprints WHERE kind = ? AND id = ?", (ORGANIZATION, NEWS_ID)
        ).fetchone()
        if stored is not None and stored[0] == fingerprint:
            return None
        conn.execute("DELETE FROM organization_articles")
        for query in queries:
            base, params = matching_sql(conn, query.plan)
            if query.warning_term is None:
                conn.execute(f"INSERT OR IGNORE INTO organization_articles SELECT {id_column(query.plan)}, NULL {base}",
                             params)  # fmt: skip
                continue
            conn.execute(
                f"""UPDATE organization_articles SET warning_term = ?
                    WHERE warning_term IS NULL AND article_id IN (SELECT {id_column(query.plan)} {base})""",
                [query.warning_term, *params],
            )
        store_fingerprint(conn, ORGANIZATION, NEWS_ID, fingerprint, iso_utc(now or datetime.now(UTC)))
        return int(conn.execute("SELECT count(*) FROM organization_articles").fetchone()[0])


# ---- reading the stored matches


def organization_matches(
    conn: sqlite3.Connection, start_ts: float, end_ts: float, *, warnings_only: bool = False
) -> list[OrganizationMatch]:
    """Stored articles about the organization published in [start_ts, end_ts), oldest first."""
    only = " AND o.warning_term IS NOT NULL" if warnings_only else ""
    rows = conn.execute(
        f"""SELECT a.id, a.source_id, a.published_ts, coalesce(a.story_id, a.id), o.warning_term
            FROM organization_articles o JOIN articles a ON a.id = o.article_id
            WHERE o.article_id >= ? AND a.published_ts >= ? AND a.published_ts < ?{only}
            ORDER BY a.published_ts, a.id""",
        (first_id_since(conn, start_ts), start_ts, end_ts),
    )
    return [OrganizationMatch(*row) for row in rows]


def count_organization_matches(conn: sqlite3.Connection, start_ts: float, end_ts: float) -> int:
    """How many stored articles about the organization were published in [start_ts, end_ts)."""
    return int(
        conn.execute(
            """SELECT count(*) FROM organization_articles o JOIN articles a ON a.id = o.article_id
               WHERE o.article_id >= ? AND a.published_ts >= ? AND a.published_ts < ?""",
            (first_id_since(conn, start_ts), start_ts, end_ts),
        ).fetchone()[0]
    )


def warning_terms(conn: sqlite3.Connection, article_ids: Sequence[int]) -> dict[int, str]:
    """Which of these articles are warnings, and the term each names."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    sql = f"""SELECT article_id, warning_term FROM organization_articles
              WHERE warning_term IS NOT NULL AND article_id IN ({marks})"""
    return dict(conn.execute(sql, ids))


def recent_warnings(conn: sqlite3.Connection, since_ts: float, limit: int) -> list[int]:
    """The newest warnings published since `since_ts`, newest first."""
    rows = conn.execute(
        """SELECT a.id FROM organization_articles o JOIN articles a ON a.id = o.article_id
           WHERE o.warning_term IS NOT NULL AND o.article_id >= ? AND a.published_ts >= ?
           ORDER BY a.published_ts DESC, a.id DESC LIMIT ?""",
        (first_id_since(conn, since_ts), since_ts, limit),
    )
    return [row[0] for row in rows]
