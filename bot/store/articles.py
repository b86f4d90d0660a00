"""Store normalized articles: dedup, FTS rows, story clusters and after-insert hooks, in one transaction.

The moment an article is stored is the moment everything that hangs off it happens
(campaign tags, subscription matches → outbox rows): hooks run inside the same
transaction, so a crash either keeps the article and all its consequences or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
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


_INSERT_ARTICLE = """INSERT INTO articles (id, source_id, feed_id, url, url_key, guid, title, summary,
    image_url, author, published_at, published_ts, fetched_ts, story_id, undated)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_INSERT_STORY = "INSERT INTO stories (id, title_key, text_key, first_ts) VALUES (?, ?, ?, ?)"
_INSERT_FTS = "INSERT INTO articles_fts (rowid, title, body, title_fold, body_fold) VALUES (?, ?, ?, ?, ?)"
_CHUNK = 500  # values per IN (...): far below SQLite's limit, and a hostile feed can hold thousands


class _Stories:
    """The stories a batch's articles may join, fetched with one query per key kind, not per article.

    Answers as the per-article queries did: by title, the earliest story (then the lowest id)
    with the same title key within the window; else the lowest id with the same text key.
    Stories the batch itself starts are added as it goes.
    """

    def __init__(self, conn: sqlite3.Connection, title_keys: set[str], text_keys: set[str], lo: int, hi: int) -> None:
        self.by_title: dict[str, list[tuple[int, int]]] = {}
        self.by_text: dict[str, int] = {}
        sql = "SELECT title_key, first_ts, id FROM stories WHERE first_ts BETWEEN ? AND ? AND title_key IN "
        for chunk in _chunks(sorted(title_keys)):
            for key, first_ts, story_id in conn.execute(sql + _marks(chunk), (lo, hi, *chunk)):
                self.by_title.setdefault(key, []).append((first_ts, story_id))
        sql = "SELECT text_key, min(id) FROM stories WHERE text_key IN "
        for chunk in _chunks(sorted(text_keys)):
            for key, story_id in conn.execute(sql + _marks(chunk) + " GROUP BY text_key", chunk):
                self.by_text[key] = story_id

    def find(self, title_key: str, text_key: str | None, ts: int) -> int | None:
        near = [c for c in self.by_title.get(title_key, ()) if ts - STORY_WINDOW_S <= c[0] <= ts + STORY_WINDOW_S]
        if near:
            return min(near)[1]
        return self.by_text.get(text_key) if text_key is not None else None

    def add(self, story_id: int, title_key: str, text_key: str | None, ts: int) -> None:
        self.by_title.setdefault(title_key, []).append((ts, story_id))
        if text_key is not None:
            self.by_text.setdefault(text_key, story_id)


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

    def insert(self, articles: Sequence[Article], feed_id: int | None, backlog: bool = False) -> list[int]:
        """Insert one batch with FTS rows and stories; the new ids (duplicates by URL or source+guid are skipped).

        Duplicates are found first, with one query per key kind: in steady state nearly every
        article of a feed is already stored and costs nothing more. The rest are written with
        one `executemany` per table (measured: ~25 % less than a statement per row).
        `backlog`: the batch is its feed's first fetch."""
        fresh = self._unseen(articles)
        if not fresh:
            return []
        rows: list[tuple[object, ...]] = []
        stories: list[tuple[int, str, str | None, int]] = []
        fts: list[tuple[int, str, str, str, str]] = []
        prepared = [_prepare(a) for a in fresh]
        known = _Stories(
            self.conn,
            {p[2] for p in prepared},
            {p[3] for p in prepared if p[3] is not None},
            min(p[4] for p in prepared) - STORY_WINDOW_S,
            max(p[4] for p in prepared) + STORY_WINDOW_S,
        )
        for article, (forms, url_key_, title_key, text_key, ts) in zip(fresh, prepared, strict=True):
            article_id = self.next_id
            self.next_id += 1
            story_id = known.find(title_key, text_key, ts)
            if story_id is None:
                story_id = article_id
                known.add(article_id, title_key, text_key, ts)
                stories.append((article_id, title_key, text_key, ts))
            rows.append(_article_row(article, article_id, feed_id, url_key_, ts, story_id, backlog))
            fts.append((article_id, *forms))
        self.conn.executemany(_INSERT_ARTICLE, rows)
        self.conn.executemany(_INSERT_STORY, stories)
        self.conn.executemany(_INSERT_FTS, fts)
        return [entry[0] for entry in fts]

    def _unseen(self, articles: Sequence[Article]) -> list[Article]:
        """`articles` minus those stored already or repeating an earlier one (URL key, or source + guid)."""
        keys = [url_key(a.url, canonical=True) for a in articles]
        stored_urls = self._existing("SELECT url_key FROM articles WHERE url_key IN ", (), set(keys))
        stored_guids: dict[str, set[str]] = {}
        for source in {a.source_id for a in articles}:
            guids = {a.guid for a in articles if a.source_id == source}
            sql = "SELECT guid FROM articles WHERE source_id = ? AND guid IN "
            stored_guids[source] = self._existing(sql, (source,), guids)
        fresh = []
        for article, key in zip(articles, keys, strict=True):
            guids = stored_guids[article.source_id]
            if key in stored_urls or article.guid in guids:
                continue
            stored_urls.add(key)
            guids.add(article.guid)
            fresh.append(article)
        return fresh

    def _existing(self, sql: str, params: tuple[str, ...], values: set[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(values)):
            found.update(row[0] for row in self.conn.execute(sql + _marks(chunk), (*params, *chunk)))
        return found


Prepared = tuple[tuple[str, str, str, str], str, str, str | None, int]


def _prepare(article: Article) -> Prepared:
    """FTS forms (title, body, title_fold, body_fold), URL key, story keys and publication second."""
    title, title_fold = index_forms(article.title)
    body, body_fold = index_forms(article.summary)
    return (
        (title, body, title_fold, body_fold),
        url_key(article.url, canonical=True),
        story_title_key(title_fold, folded=True),
        story_text_key(body_fold, folded=True),
        int(article.published_at.timestamp()),
    )


def _article_row(
    article: Article, article_id: int, feed_id: int | None, key: str, ts: int, story_id: int, backlog: bool
) -> tuple[object, ...]:
    return (
        article_id,
        article.source_id,
        feed_id,
        article.url,
        key,
        article.guid,
        article.title,
        article.summary,
        article.image_url,
        article.author,
        iso_utc(article.published_at),
        ts,
        int(article.fetched_at.timestamp()),
        story_id,
        DATED if article.dated else UNDATED_BACKLOG if backlog else UNDATED_SEEN,
    )


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(values: Sequence[object]) -> str:
    return f"({', '.join('?' * len(values))})"


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
            new_ids.extend(inserter.insert(articles, feed_id, backlog))
            per_batch.append(len(new_ids) - before)
            duplicates += len(articles) - per_batch[-1]
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
