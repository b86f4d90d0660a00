"""Adding outlets the way `/addsource` does, for callers without Telegram or a running poller.

OPML import and `/addsource` share the duplicate key (`url_key`, through `SourceAdder`), the
id rule (`choose_source_id`), the name rule (`clean_name`) and the audit row, so a feed is
the same outlet with the same id whichever way it arrives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.config import Config, Source
from bot.ids import suggest_source_id
from bot.ingest.normalize import clean_text, url_key
from bot.store.db import transaction
from bot.store.queries import FeedOwner, SourceAdder
from bot.textnorm import nfc

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed someone wants monitored: its title as given (may be empty), its URL, its tags."""

    title: str
    url: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedResult:
    """What became of one feed: added as `source_id`, or skipped for `reason`."""

    feed: NewFeed
    source_id: str | None
    reason: str | None = None

    @property
    def added(self) -> bool:
        return self.reason is None


def clean_name(title: str, url: str) -> str:
    """An outlet's display name: the feed's title as plain NFC text, else its host."""
    return clean_text(nfc(title))[:MAX_NAME] or (urlsplit(url).hostname or url)


def choose_source_id(owner: FeedOwner | None, name: str, url: str, taken: set[str]) -> str:
    """A removed outlet coming back keeps its id (its old articles stay with it); else a free id from the name."""
    if owner is not None:
        return owner.source_id
    return suggest_source_id(name, urlsplit(url).hostname or "", taken)


def add_feeds(
    conn: sqlite3.Connection,
    feeds: Iterable[NewFeed],
    config: Config,
    *,
    origin: str,
    actor_id: int | None,
    detail: str,
    now: datetime,
) -> list[FeedResult]:
    """Add each feed not known yet as an outlet (one transaction, one audit row per outlet added).

    feeds.yaml's outlets count as known even before the next poll stores them, so an
    import never duplicates them nor takes their ids.
    """
    results: list[FeedResult] = []
    with transaction(conn):
        adder = SourceAdder(conn)
        for source in config.sources:
            adder.know(source)
        earlier: dict[str, NewFeed] = {}
        for feed in feeds:
            results.append(_add_one(adder, feed, earlier, origin, actor_id, detail, now))
    return results


def _add_one(
    adder: SourceAdder,
    feed: NewFeed,
    earlier: dict[str, NewFeed],
    origin: str,
    actor_id: int | None,
    detail: str,
    now: datetime,
) -> FeedResult:
    key = url_key(feed.url)
    if key in earlier:
        first = earlier[key].title or earlier[key].url
        return FeedResult(feed, None, f"duplicate of an earlier entry in this file ({first})")
    earlier[key] = feed
    owner = adder.owner(feed.url)
    if owner is not None and owner.active:
        return FeedResult(feed, owner.source_id, f"duplicate of source {owner.source_id}")
    name = clean_name(feed.title, feed.url)
    source_id = choose_source_id(owner, name, feed.url, adder.taken)
    source = Source(id=source_id, name=name, urls=(feed.url,), tags=feed.tags)
    outcome = adder.add(source, origin, actor_id, detail, now)
    # The checks above are add()'s own, in the same transaction: nothing else can refuse it.
    assert outcome == "added", outcome
    return FeedResult(feed, source_id)
