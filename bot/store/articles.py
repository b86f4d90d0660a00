"""Store normalized articles: dedup, FTS rows, story clusters and after-insert hooks, in one transaction.

The moment an article is stored is the moment everything that hangs off it happens
(campaign tags, subscription matches → outbox rows): hooks run inside the same
transaction, so a crash either keeps the article and all its consequences or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bot.ingest.normalize import story_text_key, story_title_key, url_key
from bot.models import Article
from bot.store.db import iso_utc, transaction
from bot.textnorm import index_forms

# Called inside the insert transaction with the ids of the articles just stored.
AfterInsertHook = Callable[[sqlite3.Connection, Sequence[int]], None]

STORY_WINDOW_S = 3 * 86400  # "same normalised title within 3 days" is one story
# articles.undated. An undated article's published_at is when it was first seen: a good
# guess for an item that appears in a feed already watched (within one poll interval),
# none for the backlog of a feed's first fetch, which may be years old. Newest-first
# listings put that backlog below every article whose time is known (bot.search.engine).
DATED, UNDATED_SEEN, UNDATED_BACKLOG = 0, 1, 2


@dataclass(frozen=True, slots=True)
class StoreResult:
    new_ids: tuple[int, ...]
    duplicates: int
    new_per_batch: tuple[int, ...] = ()  # new articles of each (articles, feed_id) batch, in order


def _find_story(conn: sqlite3.Connection, title_key: str, text_key: str | None, ts: int) -> int | None:
    row = conn.execute(
        "SELECT id FROM stories WHERE title_key = ? AND first_ts BETWEEN ? AND ? ORDER BY first_ts LIMIT 1",
        (title_key, ts - STORY_WINDOW_S, ts + STORY_WINDOW_S),
    ).fetchone()
    if row is None and text_key is not None:
        row = conn.execute("SELECT id FROM stories WHERE text_key = ? LIMIT 1", (text_key,)).fetchone()
    return row[0] if row else None


class _Inserter:
    """Inserts articles with ids it chooses, so each row is written once, story included.

    Choosing the id is safe: BEGIN IMMEDIATE holds the database's only write lock. It is
    above every story id too, so an id freed by deleting the newest article is never reused
    while that article's story still exists.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.next_id = conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM articles), 0), coalesce((SELECT max(id) FROM stories), 0)) + 1"
        ).fetchone()[0]

    def insert(self, article: Article, feed_id: int | None, backlog: bool = False) -> int | None:
        """Insert one article with its FTS row and story; None when it is a duplicate (URL or source+guid).

        `backlog`: the batch is its feed's first fetch."""
        published_ts = int(article.published_at.timestamp())
        title, title_fold = index_forms(article.title)
        body, body_fold = index_forms(article.summary)
        title_key = story_title_key(title_fold, folded=True)
        text_key = story_text_key(body_fold, folded=True)
        article_id = self.next_id
        story_id = _find_story(self.conn, title_key, text_key, published_ts)
        cursor = self.conn.execute(
            """INSERT OR IGNORE INTO articles (id, source_id, feed_id, url, url_key, guid, title, summary,
                   image_url, author, published_at, published_ts, fetched_ts, story_id, undated)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                article_id,
                article.source_id,
                feed_id,
                article.url,
                url_key(article.url, canonical=True),
                article.guid,
                article.title,
                article.summary,
                article.image_url,
                article.author,
                iso_utc(article.published_at),
                published_ts,
                int(article.fetched_at.timestamp()),
                story_id or article_id,
                DATED if article.dated else UNDATED_BACKLOG if backlog else UNDATED_SEEN,
            ),
        )
        if cursor.rowcount == 0:
            return None
        self.next_id += 1
        if story_id is None:
            self.conn.execute(
                "INSERT INTO stories (id, title_key, text_key, first_ts) VALUES (?, ?, ?, ?)",
                (article_id, title_key, text_key, published_ts),
            )
        self.conn.execute(
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
    per_batch: list[int] = []
    duplicates = 0
    with transaction(conn):
        inserter = _Inserter(conn)
        for articles, feed_id in batches:
            before = len(new_ids)
            backlog = any(not a.dated for a in articles) and _first_fetch(conn, articles[0].source_id, feed_id)
            for article in articles:
                article_id = inserter.insert(article, feed_id, backlog)
                if article_id is None:
                    duplicates += 1
                else:
                    new_ids.append(article_id)
            per_batch.append(len(new_ids) - before)
        if new_ids:
            for hook in hooks:
                hook(conn, new_ids)
    return StoreResult(tuple(new_ids), duplicates, tuple(per_batch))


def _first_fetch(conn: sqlite3.Connection, source_id: str, feed_id: int | None) -> bool:
    """No article of this feed (of this source when the feed is unknown) is stored yet."""
    row = conn.execute(
        "SELECT 1 FROM articles WHERE source_id = ? AND (? IS NULL OR feed_id = ?) LIMIT 1",
        (source_id, feed_id, feed_id),
    ).fetchone()
    return row is None
