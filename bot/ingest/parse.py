"""Feed bytes → `ParsedFeed` (feedparser, on bytes only) → articles, in a process pool.

feedparser costs ~23 ms CPU per 50-item feed (about half with sanitize_html and
resolve_relative_uris off, which we can do because normalize makes its own text),
so parsing runs in worker processes: inline it blocked the event loop for up to
1.5 s, and a thread does not help (the GIL). Each parse has a time budget
(polling.parse_timeout): past it the worker is killed and the feed fails.

Two hazards of feedparser on untrusted bytes are closed here:
- its loose fallback parser expands internal DTD entities without limit (a 214 KB
  feed reached 5.7 GB and 37 s), so `sanitize_xml` removes the DOCTYPE first;
- given `bytes`, it tries `open(body)` as a file name, so it only ever gets a stream.

And one of its habits loses data: on a single invalid UTF-8 byte it reads the whole feed
as windows-1252 (every Vietnamese letter garbled), and NUL or other control bytes end
its strict parse. `repair_encoding` fixes the bytes first, so a bad byte costs at most
the item it sits in; `as_utf8` then hands feedparser UTF-8 only, so the DOCTYPE scan,
which runs last, reads exactly the bytes feedparser parses.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import os
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from bot.errors import ParseError
from bot.ingest.charset import as_utf8, decode_by_http_charset, repair_encoding, set_declared_utf8
from bot.ingest.lean_feedparser import make_lean
from bot.ingest.normalize import normalize_entries
from bot.ingest.workers import JobTimeout, WorkerDied, WorkerPool
from bot.models import Article, ParsedFeed, RawEntry

_UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks and the `<?` pattern of BOM-less UTF-16/32 (XML 1.0, appendix F).
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
    (b"\x00<\x00?", "utf-16-be", 0),
    (b"<\x00?\x00", "utf-16-le", 0),
)
_SPACE = re.compile(rb"[ \t\r\n]*")
_DOCTYPE_TOKEN = re.compile(rb"""["'\[\]>]|<!--|<\?""")
# feedparser reads DTD declarations from everything before the first `<` + word
# character; nothing declaration-like may remain there after sanitizing.
_FEEDPARSER_HEAD_END = re.compile(rb"<\w")
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_HTML_HINT = re.compile(rb"<html[\s>]|<!doctype\s+html", re.IGNORECASE)
_PROLOG_SCAN_LIMIT = 64
DEFAULT_PARSE_BUDGET = 10.0  # polling.parse_timeout


def sanitize_xml(body: bytes) -> bytes:
    """Remove the DOCTYPE (and with it every internal entity) from the prolog of a feed.

    Bytes in, bytes out; only the prolog before the root element is examined.
    UTF-16/32 bodies are transcoded to UTF-8 first so the scan sees ASCII markup.
    Raises ParseError when DTD declarations sit where they cannot be removed safely.
    """
    body = _ascii_compatible(body)
    pos = len(_UTF8_BOM) if body.startswith(_UTF8_BOM) else 0
    kept = [body[:pos]]  # the prolog without its comments and DOCTYPE
    for _ in range(_PROLOG_SCAN_LIMIT):
        start, pos = pos, _skip_space(body, pos)
        kept.append(body[start:pos])
        if body.startswith(b"<?", pos):
            start, pos = pos, _skip_past(body, b"?>", pos + 2)
            kept.append(body[start:pos])
        elif body.startswith(b"<!--", pos):
            # Dropped: a comment before the root carries nothing, and feedparser reads the
            # declarations it mentions (`<!-- <!DOCTYPE rss …> -->` made a valid feed "not a feed").
            pos = _skip_past(body, b"-->", pos + 4)
        elif body[pos : pos + 9].upper() == b"<!DOCTYPE":
            pos = _doctype_end(body, pos)
        else:
            break
    if sum(map(len, kept)) < pos:
        body = b"".join((*kept, body[pos:]))
    head_end = _FEEDPARSER_HEAD_END.search(body)
    if _DECLARATION.search(body, 0, head_end.start() if head_end else len(body)):
        raise ParseError("not a feed: DTD declarations outside a well-formed prolog")
    return body


def _skip_space(body: bytes, start: int) -> int:
    match = _SPACE.match(body, start)
    return match.end() if match else start


def _skip_past(body: bytes, marker: bytes, start: int) -> int:
    end = body.find(marker, start)
    if end < 0:
        raise ParseError("not a feed: unterminated declaration in the XML prolog")
    return end + len(marker)


def _doctype_end(body: bytes, start: int) -> int:
    """Index just past the DOCTYPE at `start`, skipping quoted literals, comments and the subset."""
    pos, in_subset = start + len(b"<!DOCTYPE"), False
    while match := _DOCTYPE_TOKEN.search(body, pos):
        token, pos = match.group(), match.end()
        if token in (b'"', b"'"):
            pos = _skip_past(body, token, pos)
        elif token == b"<!--":
            pos = _skip_past(body, b"-->", pos)
        elif token == b"<?":
            pos = _skip_past(body, b"?>", pos)
        elif token == b"[":
            in_subset = True
        elif token == b"]":
            in_subset = False
        elif not in_subset:  # `>` closing the DOCTYPE itself
            return pos
    raise ParseError("not a feed: unterminated DOCTYPE")


def _ascii_compatible(body: bytes) -> bytes:
    """UTF-16/32 bodies re-encoded as UTF-8 with the declaration saying so; others untouched."""
    for marker, encoding, bom_length in _WIDE_ENCODINGS:
        if body.startswith(marker):
            text = body[bom_length:].decode(encoding, errors="replace")
            return set_declared_utf8(text.encode("utf-8"))
    return body


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> ParsedFeed:
    """Read RSS 2.0, Atom or RDF from bytes (served with `content_type`); ParseError when not a feed."""
    if not body or not body.strip():
        raise ParseError("not a feed: empty body")
    # Every step that removes or reinterprets bytes runs before the DOCTYPE scan: a control
    # byte deleted afterwards (`<!DOC\x01TYPE`) or a charset feedparser decodes differently
    # (UTF-7, ISO-2022, EBCDIC) once rebuilt a declaration the scan had not seen.
    wide_free = _ascii_compatible(decode_by_http_charset(body, content_type))
    clean = sanitize_xml(as_utf8(repair_encoding(wide_free)))
    try:
        # A stream, never bytes: feedparser would try `open(body)` as a local file name.
        result = feedparser.parse(io.BytesIO(clean), sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser on hostile bytes: any failure means "not readable"
        raise ParseError(f"not a feed: parser failed ({type(exc).__name__})") from exc
    version = result.get("version") or ""
    if not version and not result.entries:
        raise ParseError(_not_a_feed_reason(clean, result))
    channel = result.get("feed", {})
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    return ParsedFeed(
        title=channel.get("title", ""),
        link=channel.get("link", "") or base_url,
        entries=tuple(_raw_entry(entry) for entry in result.entries),
        kind=_kind(version),
        bozo_message=str(bozo)[:300] if bozo else None,
    )


def _not_a_feed_reason(body: bytes, result: Any) -> str:
    if _HTML_HINT.search(body, 0, 4096):
        return "not a feed: the server sent an HTML page"
    if result.get("bozo"):
        return f"not a feed: {str(result.get('bozo_exception'))[:200]}"
    return "not a feed: no RSS, Atom or RDF root element"


def _kind(version: str) -> str:
    if version.startswith("atom"):
        return "atom"
    if version in ("rss090", "rss10"):
        return "rdf"
    return "rss"


def _raw_entry(entry: Any) -> RawEntry:
    # dict.get, not FeedParserDict.get: none of these keys is one it maps to another
    # (`guid`, `description`, `url`…), and its mapping costs ~1 µs a lookup. For `updated`
    # it would answer `published`, which is read first anyway.
    get = dict.get
    link = get(entry, "link") or ""
    contents = get(entry, "content") or []
    return RawEntry(
        title=get(entry, "title") or "",
        link=link,
        guid=get(entry, "id") or link,
        summary_html=get(entry, "summary") or "",
        content_html=(contents[0].get("value", "") or "") if contents else "",
        published_raw=get(entry, "published") or get(entry, "updated") or get(entry, "created"),
        author=get(entry, "author") or "",
        image_url=_media_image(entry),
    )


def _media_image(entry: Any) -> str | None:
    """First image named by media:content, media:thumbnail or an image enclosure."""
    for media in entry.get("media_content") or []:
        url = media.get("url")
        kind = (media.get("medium") or media.get("type") or "image").lower()
        if url and kind.startswith("image"):
            return url
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return thumb["url"]
    for link in entry.get("links") or []:
        is_image = (link.get("type") or "").startswith("image/")
        if link.get("rel") == "enclosure" and is_image and link.get("href"):
            return link["href"]
    return None


def parse_and_normalize(
    body: bytes,
    *,
    feed_url: str,
    source_id: str,
    fetched_at: datetime,
    tz_name: str,
    content_type: str | None = None,
    max_items: int | None = None,
) -> list[Article]:
    """Bytes → clean articles; pure, with picklable arguments, so it can run in a worker process.

    At most `max_items` items, the first in the feed's order (newest first, in every real feed):
    one feed of 115,000 items stored them all in one poll and queued an alert for each.
    """
    feed = parse_feed(body, feed_url, content_type)
    if max_items is not None and len(feed.entries) > max_items:
        feed = dataclasses.replace(feed, entries=feed.entries[:max_items])
    return normalize_entries(feed, source_id=source_id, feed_url=feed_url, fetched_at=fetched_at, tz=ZoneInfo(tz_name))


class Parser:
    """Runs `parse_and_normalize` in worker processes under a time budget (inline with `workers=0`)."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = (os.cpu_count() or 2) if workers is None else workers
        self._pool: WorkerPool | None = None

    async def parse_articles(
        self,
        body: bytes,
        *,
        feed_url: str,
        source_id: str,
        fetched_at: datetime,
        tz_name: str,
        budget: float = DEFAULT_PARSE_BUDGET,
        content_type: str | None = None,
        max_items: int | None = None,
    ) -> list[Article]:
        """Parse and normalize one feed body off the event loop; ParseError past `budget` seconds."""
        args = (body, feed_url, source_id, fetched_at, tz_name, content_type, max_items)
        if self._workers <= 0:  # the same job, in this process (tests, tiny installs)
            return [Article(*values) for values in _parse_job(*args)]
        if self._pool is None:
            self._pool = WorkerPool(_parse_job, self._workers, setup=make_lean)
        try:
            packed: list[tuple[Any, ...]] = await self._pool.run(*args, budget=budget)
        except JobTimeout as exc:
            raise ParseError(f"parse took longer than {budget:g}s (the parser was stopped)") from exc
        except WorkerDied as exc:
            raise ParseError("not a feed: the parser process died while reading it") from exc
        return [Article(*values) for values in packed]

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (benchmarks read their CPU time and peak memory)."""
        return self._pool.pids() if self._pool else []

    def close(self) -> None:
        """Kill the worker processes, even mid-parse (idempotent)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


# Articles cross the process boundary as plain tuples, in field order: pickling a slotted
# dataclass runs Python code for every object both ways (0.68 → 0.33 ms per 50-item feed).
_pack_article = operator.attrgetter(*(f.name for f in dataclasses.fields(Article)))


def _parse_job(
    body: bytes,
    feed_url: str,
    source_id: str,
    fetched_at: datetime,
    tz_name: str,
    content_type: str | None,
    max_items: int | None,
) -> list[tuple[Any, ...]]:
    articles = parse_and_normalize(
        body,
        feed_url=feed_url,
        source_id=source_id,
        fetched_at=fetched_at,
        tz_name=tz_name,
        content_type=content_type,
        max_items=max_items,
    )
    return [_pack_article(article) for article in articles]
