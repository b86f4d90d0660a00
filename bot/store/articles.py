"""Store normalized articles: dedup, FTS rows, story clusters and after-insert hooks, in one transaction.

The moment an article is stored is the moment everything that hangs off it happens
(campaign tags, subscription matches → outbox rows): hooks run inside the same
transaction, so a crash either keeps the article and all its consequences or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.models import Article
from bot.normalize import story_text_key, story_title_key, url_key
from bot.textnorm import index_forms

# Called inside the insert transaction with the ids of the articles just stored.
AfterInsertHook = Callable[[sqlite3.Connection, Sequence[int]], None]

STORY_WINDOW_S = 3 * 86400  # "same normalised title within 3 days" is one story


@dataclass(frozen=True, slots=True)
class StoreResult:
    new_ids: tuple[int, ...]
    duplicates: int


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with an explicit offset, second precision."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _find_story(conn: sqlite3.Connection, title_key: str, text_key: str | None, ts: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM stories WHERE title_key = ? AND first_ts BETWEEN ? AND ? ORDER BY first_ts LIMIT 1",
        (title_key, ts - STORY_WINDOW_S, ts + STORY_WINDOW_S),
    ).fetchone()
    if row is None and text_key is not None:
        row = conn.execute("SELECT id FROM stories WHERE text_key = ? LIMIT 1", (text_key,)).fetchone()
    return row[0] if row else None


def _assign_story(conn: sqlite3.Connection, article: Article, ts: int) -> int:
    title_key = story_title_key(article.title)
    text_key = story_text_key(article.summary)
    story_id = _find_story(conn, title_key, text_key, ts)
    if story_id is None:
        return conn.execute(
            "INSERT INTO stories (title_key, text_key, first_ts) VALUES (?, ?, ?)", (title_key, text_key, ts)
        ).lastrowid
    conn.execute("UPDATE stories SET articles = articles + 1 WHERE id = ?", (story_id,))
    return story_id


def _insert_one(conn: sqlite3.Connection, article: Article, feed_id: int | None) -> int | None:
    """Insert one article with its FTS row; None when it is a duplicate (URL or source+guid)."""
    published_ts = int(article.published_at.timestamp())
    cursor = conn.execute(
        """INSERT OR IGNORE INTO articles (source_id, feed_id, url, url_key, guid, title, summary,
               image_url, author, published_at, published_ts, fetched_ts)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            article.source_id, feed_id, article.url, url_key(article.url), article.guid, article.title,
            article.summary, article.image_url, article.author, iso_utc(article.published_at),
            published_ts, int(article.fetched_at.timestamp()),
        ),
    )
    if cursor.rowcount == 0:
        return None
    article_id = cursor.lastrowid
    story_id = _assign_story(conn, article, published_ts)
    conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article_id))
    title, title_fold = index_forms(article.title)
    body, body_fold = index_forms(article.summary)
    conn.execute(
        "INSERT INTO articles_fts (rowid, title, body, title_fold, body_fold) VALUES (?, ?, ?, ?, ?)",
        (article_id, title, body, title_fold, body_fold),
    )
    return article_id


def store_articles(
    conn: sqlite3.Connection,
    batches: Iterable[tuple[Sequence[Article], int | None]],
    hooks: Sequence[AfterInsertHook] = (),
) -> StoreResult:
    """Insert batches of (articles, feed_id) in ONE transaction and run `hooks` on the new ids."""
    new_ids: list[int] = []
    duplicates = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for articles, feed_id in batches:
            for article in articles:
                article_id = _insert_one(conn, article, feed_id)
                if article_id is None:
                    duplicates += 1
                else:
                    new_ids.append(article_id)
        if new_ids:
            for hook in hooks:
                hook(conn, new_ids)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return StoreResult(tuple(new_ids), duplicates)


def delete_articles(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete articles and their FTS rows (retention, tests)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for article_id in ids:
            conn.execute("DELETE FROM articles_fts WHERE rowid = ?", (article_id,))
            conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(ids)
