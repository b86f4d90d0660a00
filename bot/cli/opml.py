"""OPML import/export of feed subscriptions (the format every feed reader speaks)."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from bot.config import is_http_url
from bot.errors import ConfigError
from bot.ids import slug
from bot.services.sources import NewFeed
from bot.textnorm import nfc


@dataclass(frozen=True, slots=True)
class SkippedOutline:
    """An outline that names no usable feed, and why."""

    title: str
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    """The feeds of an OPML file, in document order, and the outlines that were not feeds."""

    feeds: list[NewFeed]
    skipped: list[SkippedOutline]


def read_opml(data: bytes, name: str = "OPML") -> OpmlDocument:
    """Every outline with an http(s) xmlUrl; categories (enclosing outlines) become tags."""
    _refuse_doctype(data, name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise ConfigError(f"{name}: not valid OPML/XML ({err})") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{name}: not an OPML document (no <opml><body>)")
    document = OpmlDocument([], [])
    # An explicit stack, not recursion: a hostile file may nest outlines thousands deep.
    stack: list[tuple[Iterator[ET.Element], str | None]] = [(iter(body.findall("outline")), None)]
    while stack:
        children, category = stack[-1]
        outline = next(children, None)
        if outline is None:
            stack.pop()
        else:
            _read_outline(outline, category, document, stack)
    return document


def _refuse_doctype(data: bytes, name: str) -> None:
    """ConfigError for a DOCTYPE anywhere, before anything is expanded.

    Why expat itself, not a byte search: a search of the first 4,096 bytes was passed by a
    long comment before the DOCTYPE, and any byte search by a UTF-16 file; either let entity
    declarations in (expat caps amplification at 100x, still 5 MB of names from 3 KB).
    """

    def refuse(*_args: object) -> None:
        raise ConfigError(f"{name}: DOCTYPE declarations are not accepted in OPML")

    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = refuse
    with contextlib.suppress(expat.ExpatError):  # not XML: ElementTree says so next, with its own message
        scanner.Parse(data, True)


def _read_outline(
    outline: ET.Element,
    category: str | None,
    document: OpmlDocument,
    stack: list[tuple[Iterator[ET.Element], str | None]],
) -> None:
    title = nfc(outline.get("title") or outline.get("text") or "").strip()
    url = nfc(outline.get("xmlUrl") or "").strip()
    if url and is_http_url(url):
        tag = slug(category) if category else ""
        document.feeds.append(NewFeed(title, url, (tag,) if tag else ()))
    elif url:
        document.skipped.append(SkippedOutline(title, url, "not an http(s) URL"))
    elif outline.find("outline") is not None:
        stack.append((iter(outline.findall("outline")), title or category))
    else:
        document.skipped.append(SkippedOutline(title, "", "no xmlUrl"))


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
