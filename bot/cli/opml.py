"""OPML import/export of feed subscriptions (the format every feed reader speaks)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from bot.config import Source, is_http_url
from bot.errors import ConfigError
from bot.ids import slug, suggest_source_id
from bot.textnorm import nfc

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    url: str
    category: str | None = None


def read_opml(data: bytes, name: str = "OPML") -> list[OpmlFeed]:
    """Every outline with an xmlUrl; categories come from enclosing outlines."""
    if _DOCTYPE.search(data[:4096]):
        raise ConfigError(f"{name}: DOCTYPE declarations are not accepted in OPML")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ConfigError(f"{name}: not valid OPML/XML ({err})") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{name}: not an OPML document (no <opml><body>)")
    feeds: list[OpmlFeed] = []

    def walk(node: ET.Element, category: str | None) -> None:
        for outline in node.findall("outline"):
            title = nfc(outline.get("title") or outline.get("text") or "").strip()
            url = (outline.get("xmlUrl") or "").strip()
            if url:
                if is_http_url(url):
                    feeds.append(OpmlFeed(title or url, url, category))
            else:
                walk(outline, title or category)

    walk(body, None)
    return feeds


def feeds_to_sources(feeds: list[OpmlFeed], taken: set[str]) -> list[Source]:
    """One source per feed, with a unique id derived from its title (the rule `/addsource` uses)."""
    sources = []
    for feed in feeds:
        host = urlsplit(feed.url).hostname or ""
        source_id = suggest_source_id(feed.title, host, taken)
        taken.add(source_id)
        tags = (slug(feed.category),) if feed.category and slug(feed.category) else ()
        sources.append(Source(id=source_id, name=feed.title, urls=(feed.url,), tags=tags))
    return sources


def write_opml(sources: list[tuple[str, str, list[str]]], title: str) -> str:
    """OPML 2.0 for (id, name, urls); an outlet with several feeds becomes one outline per feed."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_text(title)}</title></head>",
        "  <body>",
    ]
    for _source_id, name, urls in sources:
        for url in urls:
            lines.append(
                f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} xmlUrl={quoteattr(url)}/>'
            )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
