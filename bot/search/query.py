"""The query language shared by search, campaigns and subscriptions, compiled to an FTS5 MATCH string.

    chuyen doi so                 words: all must match (no accents → every accented form)
    "Đền Hùng"                    a phrase; with accents it matches that spelling only
    a b OR c                      OR binds tighter than the implicit AND: a AND (b OR c)
    -word  -"a phrase"            exclusion
    source:vnexpress              outlet filter (repeatable → any of)
    since:7d  since:24h  since:2026-11-01   recency filter (a date is local midnight)

The MATCH string is built from tokens, never from the user's text: every term becomes an
FTS5 string of letters and digits only inside a column filter, so no input can be an FTS5
syntax error (raw text failed on 55 of 74 hand-written inputs, see design.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import QueryError
from bot.ids import is_valid_id
from bot.textnorm import canonical_tones, has_diacritics, nfc

# Straight and typographic quotes: phone keyboards turn " into “ ” by themselves.
_QUOTES = frozenset('"“”„‟')
_FILTER = re.compile(r"^(source|since):(.*)$", re.IGNORECASE | re.DOTALL)
_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # day/month/year, as written in Vietnam
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

EXACT_COLUMNS = "{title body}"
# An accent-free term is matched against every column: the folded columns give recall
# (`dong` finds `Đồng`), the exact ones score a literal `dong` higher through bm25 weights.
ALL_COLUMNS = "{title body title_fold body_fold}"
MAX_TOKENS = 64  # a pasted headline is ~20 syllables; thousands of terms only cost time

_EMPTY = "Nothing to search for: type some words, e.g. chuyển đổi số"
_ONLY_EXCLUDED = "Exclusions (-word) need at least one word to search for, e.g. bão -lũ"


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A compiled query: the MATCH string (None when only filters) plus filters and display terms."""

    match: str | None
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    terms: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class _Term:
    """One word or phrase as typed: its unicode61 tokens and whether it is negated."""

    tokens: tuple[str, ...]
    negated: bool


_OR = "OR"


def _is_token_char(char: str) -> bool:
    # unicode61's default token characters: letters, numbers and private-use (L*, N*, Co).
    category = unicodedata.category(char)
    return category[0] in "LN" or category == "Co"


def fts_tokens(text: str) -> tuple[str, ...]:
    """Split text the way FTS5 unicode61 does: runs of letters and digits (`COVID-19` → covid, 19)."""
    tokens, current = [], []
    for char in nfc(text):
        if _is_token_char(char):
            current.append(char)
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tuple(tokens)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Text up to the next quote mark (or the end: an unbalanced quote closes itself)."""
    end = start
    while end < len(text) and text[end] not in _QUOTES:
        end += 1
    return text[start:end], end + 1


def _read_chunk(text: str, start: int) -> tuple[str, int]:
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in _QUOTES:
        end += 1
    return text[start:end], end


def _lex(text: str) -> list[_Term | str | tuple[str, str]]:
    """Items: a _Term, the string "OR", or a (key, value) filter."""
    items: list[_Term | str | tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        dashes = i
        while i < n and text[i] == "-":
            i += 1
        negated = i > dashes
        if i >= n or text[i].isspace():
            continue  # a lone "-" means nothing
        if text[i] in _QUOTES:
            phrase, i = _read_quoted(text, i + 1)
            items.append(_Term(fts_tokens(phrase), negated))
            continue
        chunk, i = _read_chunk(text, i)
        items.append(_classify(chunk, negated))
    return items


def _classify(chunk: str, negated: bool) -> _Term | str | tuple[str, str]:
    if not negated and chunk == _OR:
        return _OR
    if not negated and chunk == "AND":
        return _Term((), False)  # AND is implicit; an empty term is dropped later
    found = _FILTER.match(chunk)
    if found:
        if negated:
            name = found.group(1).lower()
            raise QueryError(f"-{name}: cannot be excluded; use {name}:…", "not_excludable", name=name)
        return found.group(1).lower(), found.group(2)
    return _Term(fts_tokens(chunk), negated)


def _shown(value: str) -> str:
    """A user's value quoted back in a message: printable and short."""
    clean = "".join(c if c.isprintable() else "?" for c in value)
    return clean if len(clean) <= 30 else clean[:30] + "…"


def _since(value: str, now: datetime, tz: ZoneInfo) -> datetime:
    value = value.strip().lower()
    relative = _RELATIVE.match(value)
    if relative:
        return now - int(relative.group(1)) * _UNITS[relative.group(2)]
    iso, vn = _ISO_DATE.match(value), _VN_DATE.match(value)
    try:
        if iso:
            day = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        elif vn:
            day = date(int(vn.group(3)), int(vn.group(2)), int(vn.group(1)))
        else:
            raise ValueError(value)
    except ValueError:
        raise QueryError(
            f"since:{_shown(value)} is not a time: use since:7d, since:24h or since:2026-11-01",
            "bad_since",
            value=_shown(value),
        ) from None
    return datetime.combine(day, time(0), tzinfo=tz)


def _source(value: str) -> str:
    source_id = value.strip().lower()
    if not is_valid_id(source_id):
        raise QueryError(
            f"source:{_shown(value)} is not an outlet id (letters, digits, - _ .), e.g. source:vtv",
            "bad_source",
            value=_shown(value),
        )
    return source_id


def term_expression(tokens: tuple[str, ...]) -> str:
    """One word or phrase as an FTS5 string inside the column filter its accents call for."""
    text = " ".join(tokens)
    if has_diacritics(text):
        return f'{EXACT_COLUMNS} : "{canonical_tones(text)}"'
    return f'{ALL_COLUMNS} : "{text}"'


def _groups(items: list[_Term | str | tuple[str, str]]) -> tuple[list[list[_Term]], list[_Term]]:
    """Positive OR-groups (AND-ed together) and exclusions; dangling ORs and empty terms are dropped."""
    groups: list[list[_Term]] = []
    excluded: list[_Term] = []
    join_next = False
    for item in items:
        if item == _OR:
            join_next = bool(groups)
            continue
        if not isinstance(item, _Term) or not item.tokens:
            continue
        if item.negated:
            excluded.append(item)
        elif join_next:
            groups[-1].append(item)
        else:
            groups.append([item])
        join_next = False
    return groups, excluded


def _display(term: _Term) -> str:
    text = " ".join(term.tokens).lower()
    return canonical_tones(text) if has_diacritics(text) else text


def _match_string(groups: list[list[_Term]], excluded: list[_Term]) -> str:
    ands = []
    for group in groups:
        alternatives = [term_expression(t.tokens) for t in group]
        ands.append(alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")")
    match = " AND ".join(ands)
    if excluded:
        match = f"({match}) NOT (" + " OR ".join(term_expression(t.tokens) for t in excluded) + ")"
    return match


def parse_query(text: str, *, now: datetime, tz: ZoneInfo) -> ParsedQuery:
    """Compile a user query; QueryError (with a message for the user) only when it cannot mean anything."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    items = _lex(nfc(text or ""))
    sources: list[str] = []
    since: datetime | None = None
    for item in items:
        if isinstance(item, tuple):
            key, value = item
            if key == "source":
                sources.append(_source(value))
            else:
                moment = _since(value, now, tz)
                since = moment if since is None else max(since, moment)
    groups, excluded = _groups(items)
    if sum(len(t.tokens) for g in groups for t in g) + sum(len(t.tokens) for t in excluded) > MAX_TOKENS:
        raise QueryError(f"Query too long: at most {MAX_TOKENS} words", "too_long", max=MAX_TOKENS)
    if not groups:
        if excluded:
            raise QueryError(_ONLY_EXCLUDED, "only_excluded")
        if not sources and since is None:
            raise QueryError(_EMPTY, "empty")
        return ParsedQuery(None, tuple(dict.fromkeys(sources)), since, ())
    terms = tuple(dict.fromkeys(_display(t) for g in groups for t in g))
    return ParsedQuery(_match_string(groups, excluded), tuple(dict.fromkeys(sources)), since, terms)
