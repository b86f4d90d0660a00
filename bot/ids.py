"""Source and campaign ids: the one pattern every layer checks, and the one slug rule that makes them.

An id is what people type (`source:vnexpress`, `/pause baophutho`), so it is short,
lowercase ASCII and free of spaces; feeds.yaml, `/addsource`, OPML import and the query
language all use this module, never a copy of the rule.
"""

from __future__ import annotations

import re

from bot.textnorm import fold_vietnamese, nfc

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
ID_RULE = "use lowercase letters, digits, '-', '_' or '.' (max 64)"
SLUG_LENGTH = 40
_SLUG_GAPS = re.compile(r"[^a-z0-9]+")


def is_valid_id(text: str) -> bool:
    """True when `text` is a usable source or campaign id."""
    return bool(ID_PATTERN.match(text))


def slug(text: str, *, length: int = SLUG_LENGTH) -> str:
    """An id-shaped slug of a title, cut at a word boundary: `Báo Đồng Tháp` → `bao-dong-thap` ("" if none)."""
    value = _SLUG_GAPS.sub("-", fold_vietnamese(nfc(text)).lower()).strip("-")
    if len(value) > length:
        cut = value[: length + 1]  # one more: a "-" just after the limit ends a whole word
        value = cut.rsplit("-", 1)[0] if "-" in cut else cut[:length]
    return value


def free_id(base: str, taken: set[str] | frozenset[str]) -> str:
    """`base`, or `base-2`, `base-3` … whichever is not taken yet."""
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    return candidate


def suggest_source_id(title: str, host: str, taken: set[str] | frozenset[str]) -> str:
    """A free, valid source id from a feed's title, else its host, else `nguon`."""
    host_slug = slug(host.lower().removeprefix("www.").replace(".", "-"))
    return free_id(slug(title) or host_slug or "nguon", taken)
