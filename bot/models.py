"""Plain data passed between pipeline stages: fetch → parse → normalize → store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What `fetch` returns for one feed URL.

    `status` is 200 or 304. On 304 `body` is b"". `url` is the final URL after
    redirects; `permanent_url` is set when a 301/308 chain moved the feed for good.
    """

    url: str
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None
    content_type: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One feed item as read from the XML, before any cleaning (strings may hold HTML/entities)."""

    title: str
    link: str
    guid: str
    summary_html: str
    content_html: str
    published_raw: str | None
    author: str = ""
    image_url: str | None = None  # from media:content / enclosure / media:thumbnail, if any


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed read from bytes: channel data plus raw entries."""

    title: str
    link: str
    entries: tuple[RawEntry, ...]
    kind: str = "rss"  # rss | atom | rdf
    bozo_message: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A clean article ready to store. All text is NFC; times are timezone-aware."""

    source_id: str
    url: str  # canonical URL (see bot.ingest.normalize.canonical_url)
    guid: str
    title: str
    summary: str  # plain text, no HTML
    published_at: datetime  # when the feed gave no usable date: fetched_at
    fetched_at: datetime
    image_url: str | None = None
    author: str = ""
    feed_url: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    dated: bool = True  # False: the feed gave no usable date
