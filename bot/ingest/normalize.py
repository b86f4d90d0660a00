"""Raw feed entries → clean `Article`s: NFC text, real dates, canonical URLs, dedup keys.

Pure functions of their inputs. Everything a reader or the store compares
(URLs, titles, story keys) is computed here, once, the same way for every outlet.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bot.ingest.dates import parse_date
from bot.ingest.htmltext import collapse_spaces, html_text_and_image, strip_markup
from bot.models import Article, ParsedFeed, RawEntry
from bot.textnorm import fold_vietnamese, nfc

# Future-dated items (wrong zone, CMS scheduling) would sit at the top of "newest"
# forever and break the store's assumption that ids grow with publication time
# (its rowid-range recency optimisation); a small allowance covers clock skew.
FUTURE_ALLOWANCE = timedelta(minutes=10)
# Further ahead than a day no zone mistake reaches (a 2999 placeholder, a scheduled post):
# the date is not used at all, the article counts as undated (shown as such in chat).
FUTURE_LIMIT = timedelta(days=1)

_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "zarsrc",
        "gidzl",
    }
)
# utm_* everywhere; zalo* are the parameters Zalo (Vietnam's main messenger) appends.
_TRACKING_PREFIXES = ("utm_", "zalo")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ABSOLUTE = ("http://", "https://")
_URL_LAYOUT = re.compile(r"[\t\r\n]")  # WHATWG: tabs and newlines inside a URL are dropped
# Controls and bidi controls left in a link are percent-encoded: shown raw they drive a
# terminal or reverse what the link appears to say.
_URL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# A URL canonical_url would give back unchanged: lowercase http(s) scheme and host (no
# credentials, port or trailing dot), a path, no query, fragment, space or control character.
_ALREADY_CANONICAL = re.compile(
    "https?://[0-9a-z](?:[0-9a-z.-]*[0-9a-z-])?/"
    "[^\\s?#\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*\\Z"
)

_BLOCK_TAG = re.compile(r"(?=</?\s*(?:br|p|div|li|h[1-6]|tr|td)\b)", re.IGNORECASE)  # sub(" "): see htmltext
_MAX_UNESCAPE = 4
_WORD = re.compile(r"[^\W_]+")
_TEXT_KEY_MIN = 80
_TEXT_KEY_SPAN = 300
# A hostile or broken feed can put megabytes in one element; nothing we show or search needs more.
MAX_TITLE = 300  # what chat shows (bot.telegram.format.MAX_TITLE); real titles stay under 150
MAX_SUMMARY = 5_000
MAX_AUTHOR = 200
_DERIVED_TITLE = 120  # a title-less item (allowed in RSS 2.0) is shown by the start of its text
# Raw input is cut before any cleaning so the work per item is bounded whatever the feed holds.
# Generous multiples: entities (`&#7899;` is 7 characters for one letter) and markup shrink
# a field a lot on the way to text, and a cut in raw HTML must not lose the text we keep.
_RAW_TITLE = 32 * MAX_TITLE
_RAW_HTML = 256 * 1024
_RAW_AUTHOR = 32 * MAX_AUTHOR
_RAW_DATE = 200
MAX_URL = 8 * 1024  # longer links are refused by browsers and servers alike


def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute http(s) URL without fragment, tracking parameters or credentials; "" if unusable."""
    if len(url) <= MAX_URL and _ALREADY_CANONICAL.match(url):
        return url  # the common case, 10x cheaper than taking it apart and together again
    return _rebuilt_url(url, base)


def _rebuilt_url(url: str, base: str | None) -> str:
    url = _URL_UNSAFE.sub(_percent_encoded, _URL_LAYOUT.sub("", url).strip()).replace(" ", "%20")
    if not url or len(url) > MAX_URL:
        return ""
    try:
        if base and not url.startswith(_ABSOLUTE):  # urljoin costs ~15 µs even when there is nothing to join
            url = urljoin(base, url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    host = parts.hostname.rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", _strip_tracking(parts.query), ""))


def _percent_encoded(match: re.Match[str]) -> str:
    return quote(match.group(), safe="")


def _strip_tracking(query: str) -> str:
    """Drop tracking parameters, keeping the others byte for byte and in order (`?fl` stays `?fl`)."""
    if not query:
        return ""
    kept = [pair for pair in query.split("&") if pair and not _is_tracking(pair.partition("=")[0])]
    return "&".join(kept)


def _is_tracking(key: str) -> bool:
    key = unquote(key).lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def url_key(url: str, *, canonical: bool = False) -> str:
    """Dedup key: canonical URL without scheme and leading `www.` (http and https alike).

    `canonical=True` says `url` already came from canonical_url (the store's case), which
    skips parsing it a second time.
    """
    if not canonical:
        url = canonical_url(url) or url.strip()
    rest = url.split("://", 1)[-1]
    return rest[4:] if rest.startswith("www.") else rest


def clean_text(text: str) -> str:
    """Plain NFC text: entities decoded until stable (feeds double-encode), tags stripped, one-spaced."""
    if not text:
        return ""
    for _ in range(_MAX_UNESCAPE):  # bounded: `&amp;amp;…` chains end, and no loop can run away
        if "&" not in text:
            break
        decoded = htmllib.unescape(text)
        if decoded == text:
            break
        text = decoded
    if "<" in text:
        text = strip_markup(_BLOCK_TAG.sub(" ", text))
    return collapse_spaces(text)


def story_title_key(title: str, *, folded: bool = False) -> str:
    """Key clustering one story across outlets: accents folded, lowercase, no punctuation.

    `folded=True`: `title` is already fold_vietnamese output (the store has it from indexing).
    """
    text = (title if folded else fold_vietnamese(nfc(title))).casefold()
    return " ".join(_WORD.findall(text))  # the runs between non-word characters, one pass


def story_text_key(summary: str, *, folded: bool = False) -> str | None:
    """Hash of the folded start of a summary (near-identical texts); None when too short to mean it."""
    key = story_title_key(summary, folded=folded)
    if len(key) < _TEXT_KEY_MIN:
        return None
    return hashlib.blake2b(key[:_TEXT_KEY_SPAN].encode(), digest_size=16).hexdigest()


def normalize_entries(
    feed: ParsedFeed, *, source_id: str, feed_url: str, fetched_at: datetime, tz: ZoneInfo
) -> list[Article]:
    """Clean articles from a parsed feed, in feed order, one per URL (the first wins).

    GUIDs shared by items with different links (a CMS giving every item the same one) are
    made distinct by the link, so the store keeps each item; a lone GUID stays as it is.
    """
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    base = _base_url(feed, feed_url)
    seen: set[str] = set()
    articles: list[Article] = []
    for entry in feed.entries:
        article = _article(entry, base=base, source_id=source_id, feed_url=feed_url, fetched_at=fetched_at, tz=tz)
        if article is None:
            continue
        key = url_key(article.url, canonical=True)
        if key in seen:
            continue
        seen.add(key)
        articles.append(article)
    return _distinct_guids(articles)


def _distinct_guids(articles: list[Article]) -> list[Article]:
    """Articles of one feed with each shared GUID extended by the article's URL (URLs have no spaces)."""
    shared = {guid for guid, times in Counter(a.guid for a in articles).items() if times > 1}
    if not shared:
        return articles
    return [replace(a, guid=f"{a.guid} {a.url}") if a.guid in shared else a for a in articles]


def _base_url(feed: ParsedFeed, feed_url: str) -> str:
    """Relative item links are resolved against the channel link (the site), else the feed URL."""
    channel = canonical_url(feed.link, feed_url) if feed.link else ""
    return channel or feed_url


def _article(
    entry: RawEntry, *, base: str, source_id: str, feed_url: str, fetched_at: datetime, tz: ZoneInfo
) -> Article | None:
    entry = _bounded(entry)
    url = _entry_url(entry, base)
    if not url:
        # Without an http(s) URL there is nothing to link to and no url_key to store.
        return None
    summary, image = _summary_and_image(entry, base)
    title = _shorten(clean_text(entry.title), MAX_TITLE) or _shorten(summary, _DERIVED_TITLE) or url
    guid = nfc(entry.guid.strip())
    published = parse_date(entry.published_raw, tz, fallback=fetched_at)
    if published > fetched_at + FUTURE_LIMIT:
        published = fetched_at
    return Article(
        source_id=source_id,
        url=url,
        # feedparser fills a missing id with the raw (maybe relative, tracked) link
        guid=url if not guid or guid == entry.link.strip() else guid,
        title=title,
        summary=summary,
        published_at=min(published, fetched_at + FUTURE_ALLOWANCE).astimezone(tz),
        fetched_at=fetched_at,
        dated=published is not fetched_at,  # parse_date returns the fallback object itself when it found no date
        image_url=_image_url(entry.image_url, base) or image,
        author=_shorten(clean_text(entry.author), MAX_AUTHOR),
        feed_url=feed_url,
    )


def _bounded(entry: RawEntry) -> RawEntry:
    """`entry` with every field cut to what cleaning may read (a no-op for real items)."""
    return RawEntry(
        title=entry.title[:_RAW_TITLE],
        link=entry.link[: MAX_URL + 1],
        guid=entry.guid[: MAX_URL + 1],
        summary_html=entry.summary_html[:_RAW_HTML],
        content_html=entry.content_html[:_RAW_HTML],
        published_raw=entry.published_raw[:_RAW_DATE] if entry.published_raw else entry.published_raw,
        author=entry.author[:_RAW_AUTHOR],
        image_url=entry.image_url[: MAX_URL + 1] if entry.image_url else entry.image_url,
    )


def _summary_and_image(entry: RawEntry, base: str) -> tuple[str, str | None]:
    """Plain summary from the description (else the content) and the first image of either."""
    summary, image = html_text_and_image(entry.summary_html or entry.content_html, base)
    if entry.content_html and not image:
        image = html_text_and_image(entry.content_html, base)[1]
    return _shorten(clean_text(summary[: 8 * MAX_SUMMARY]), MAX_SUMMARY), image


def _entry_url(entry: RawEntry, base: str) -> str:
    url = canonical_url(entry.link, base) if entry.link else ""
    if not url and entry.guid.strip().lower().startswith(("http://", "https://")):
        url = canonical_url(entry.guid)
    return url


def _image_url(raw: str | None, base: str) -> str | None:
    if not raw:
        return None
    url = _URL_LAYOUT.sub("", raw).strip()
    if len(url) > MAX_URL:
        return None
    try:
        resolved = url if url.startswith(_ABSOLUTE) else urljoin(base, url)
    except ValueError:  # `HTTPS://[`: urljoin parses it, and refuses a bracket that closes nothing
        return None
    return resolved if resolved.startswith(_ABSOLUTE) else None


def _shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] or cut) + "…"
