"""What feedparser does on every element that we never read, made cheaper in the parser workers.

feedparser is a fixed dependency: these are exact shortcuts of five of its steps (same
result for every input; tests/test_ingest_shortcuts.py compares each with the original),
installed once per worker process by `make_lean()`:

- its own date parsing (`*_parsed`, ~10 % of its time): we read dates ourselves (dates.py).
  A handler registered first that always answers ends its search (documented API), so
  `*_parsed` fields hold a placeholder nobody reads;
- `_urljoin(base, uri)` runs at every start tag and on every link: with no base (we parse
  bytes, so there is none unless the feed sets `xml:base`) `urllib.parse.urljoin` returns
  `uri` as is, so only its slash fixer runs (~4 % of its time);
- `copy.deepcopy` of the content parameters for every title and description (`*_detail`):
  those hold strings and None only, so a new dict with the same items is the same copy
  (~12 % of its time);
- `text.translate(_cp1252)` on every element's text (C1 controls → Windows-1252 letters): a
  dict table makes CPython raise and clear a KeyError for every character it does not map
  (27 µs for a 280-character description); a list indexed by code point answers the same
  without exceptions (12 µs), and anything past its end is kept as is, as with the dict;
- `FeedParserDict` lookups (thousands per feed, from its own code): each tests five special
  keys and its alias map before reaching the dict; a key that is neither goes straight to it
  (~17 % of what is left).

Measured on 50-item feeds: 8.1 → 4.9 ms per feed with sanitize_html and
resolve_relative_uris off (feedparser.parse with its defaults: 15.5 ms).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import feedparser
import feedparser.html
import feedparser.mixin
import feedparser.urls
from feedparser.util import FeedParserDict

UNUSED_DATE = (1970, 1, 1, 0, 0, 0, 3, 1, 0)
_urljoin: Callable[[str, str], str] = feedparser.urls._urljoin
_URI_FIXER = feedparser.urls._urifixer
_KEYMAP = FeedParserDict.keymap
_CP1252: dict[int, str] = feedparser.html._cp1252
# Up to the end of General Punctuation (dashes, quotes), which Vietnamese news uses a lot.
CP1252_TABLE: list[int | str] = [_CP1252.get(point, point) for point in range(0x2070)]
_installed = False
# Keys FeedParserDict answers with more than a plain lookup (aliases, derived values).
_SPECIAL_KEYS = frozenset({"category", "enclosures", "license", "updated", "updated_parsed", *_KEYMAP})
_GETITEM, _GET, _CONTAINS = FeedParserDict.__getitem__, FeedParserDict.get, FeedParserDict.__contains__


def urljoin_without_base(base: str, uri: str) -> str:
    """feedparser's `_urljoin`, without `urllib.parse.urljoin` when there is no base to join."""
    if base:
        return _urljoin(base, uri)
    return _URI_FIXER.sub(r"\1\3", uri) if uri else uri  # urljoin("", uri) is uri


class FlatCopy:
    """Stands in for the `copy` module inside feedparser.mixin, whose only use is `copy.deepcopy`."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        """`copy.deepcopy(value)`, without its generic machinery for a dict of strings."""
        if (
            type(value) is FeedParserDict
            and _KEYMAP.keys().isdisjoint(value)  # deepcopy re-sets items through __setitem__
            and all(item is None or type(item) is str for item in value.values())
        ):
            return FeedParserDict(value)
        return copy.deepcopy(value)


def getitem(self: FeedParserDict, key: Any) -> Any:
    """`FeedParserDict.__getitem__`, a plain dict lookup for a key it has no rule for."""
    if key in _SPECIAL_KEYS:
        return _GETITEM(self, key)
    return dict.__getitem__(self, key)


def get(self: FeedParserDict, key: Any, default: Any = None) -> Any:
    """`FeedParserDict.get`, likewise."""
    if key in _SPECIAL_KEYS:
        return _GET(self, key, default)
    return dict.get(self, key, default)


def contains(self: FeedParserDict, key: Any) -> bool:
    """`FeedParserDict.__contains__`, likewise."""
    if key in _SPECIAL_KEYS:
        return bool(_CONTAINS(self, key))
    return dict.__contains__(self, key)


def make_lean() -> None:
    """Install the shortcuts in this process (a parser worker's setup); idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    feedparser.registerDateHandler(_unused_date)
    mixin: Any = feedparser.mixin
    if getattr(mixin, "_urljoin", None) is _urljoin:
        mixin._urljoin = urljoin_without_base
    if getattr(mixin, "copy", None) is copy:
        mixin.copy = FlatCopy
    if getattr(mixin, "_cp1252", None) is _CP1252:
        mixin._cp1252 = CP1252_TABLE
    if (FeedParserDict.__getitem__, FeedParserDict.get, FeedParserDict.__contains__) == (_GETITEM, _GET, _CONTAINS):
        patched: Any = FeedParserDict
        patched.__getitem__, patched.get, patched.__contains__ = getitem, get, contains


def _unused_date(_text: str) -> tuple[int, ...]:
    return UNUSED_DATE
