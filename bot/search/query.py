"""The query language shared by /search, chat questions, campaigns and subscriptions.

    chuyen doi so                 words: all must match (no accents → every accented form)
    "Đền Hùng"                    a phrase; with accents it matches that spelling only
    a b OR c                      OR binds tighter than the implicit AND: a AND (b OR c)
    -word  -"a phrase"            exclusion
    source:vnexpress              outlet filter (repeatable → any of); also nguồn:
    since:7d  since:24h  since:2w  since:2026-11-01  since:25/11/2026
                                  recency filter (a date is local midnight; months are refused:
                                  `2m` could be minutes or months, write since:60d)
    UBND, TP.HCM, CĐS …           an abbreviation also finds its expansions and back
                                  (bot.search.abbreviations)

One lexer (`lex`) reads the operator syntax into items; `build_query` turns items into a
`Query` (AND of OR-groups, exclusions, outlet and time filters). /search parses its text
with `parse`; bot.search.question reads a chat question with the same `lex`, `read_since`,
`read_source` and `build_query`, so both mean the same by every operator. `compile_query`
then compiles the words once (`CompiledWords`: AND of units, each an OR of alternatives of
phrases with their column sets, abbreviations expanded), and from that one form come both
the FTS5 MATCH string and the in-memory matcher (bot.saved_queries.percolator). The MATCH
string is built from tokens, never from the user's text: every term
becomes a string of letters and digits inside a column filter, so no input can be an FTS5
syntax error (raw text failed on 55 of 74 hand-written inputs, see design.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.errors import QueryError
from bot.ids import is_valid_id
from bot.search.abbreviations import DEFAULT_ABBREVIATIONS, Abbreviations, folded_key
from bot.textnorm import canonical_tones, has_diacritics, nfc

# Straight and typographic quotes: phone keyboards turn " into “ ” by themselves.
_QUOTES = frozenset('"“”„‟«»＂″')
_FILTER = re.compile(r"^(source|since|nguồn|nguon):(.*)$", re.IGNORECASE | re.DOTALL)
_FILTER_NAMES = {"source": "source", "nguồn": "source", "nguon": "source", "since": "since"}
_RELATIVE = re.compile(r"^(\d{1,5})([hdw])$")
_MONTHS = re.compile(r"^(\d{1,4})(m|mo|th|tháng)?$")  # since:2m, since:3 — refused with a hint
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # day/month/year, as written in Vietnam
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_MAX_SPAN = timedelta(days=36_600)  # a century: larger spans are typos, and datetime must not underflow

EXACT_COLUMNS = "{title body}"
# An accent-free term is matched against every column: the folded columns give recall
# (`dong` finds `Đồng`), the exact ones score a literal `dong` higher through bm25 weights.
ALL_COLUMNS = "{title body title_fold body_fold}"
MAX_TOKENS = 64  # a pasted headline is ~20 syllables; thousands of terms only cost time
OR = "OR"

_EMPTY = "Nothing to search for: type some words, e.g. chuyển đổi số"
_ONLY_EXCLUDED = "Exclusions (-word) need at least one word to search for, e.g. bão -lũ"


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase: its unicode61 tokens as typed (case and accents kept)."""

    tokens: tuple[str, ...]
    phrase: bool = False  # typed in quotes (or a name kept whole): never split by a suggestion

    def text(self) -> str:
        """The term in the query language."""
        joined = " ".join(self.tokens)
        return f'"{joined}"' if self.phrase or len(self.tokens) > 1 else joined


@dataclass(frozen=True, slots=True)
class Query:
    """A structured query: AND of OR-groups of terms, exclusions, outlet and time filters."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    @property
    def has_words(self) -> bool:
        return bool(self.groups or self.excluded)

    def token_count(self) -> int:
        return sum(len(t.tokens) for g in self.groups for t in g) + sum(len(t.tokens) for t in self.excluded)

    def text(self) -> str:
        """The words (not the filters) in the query language, e.g. `bão OR lũ "miền Trung" -"sạt lở"`."""
        parts = [f" {OR} ".join(t.text() for t in group) for group in self.groups]
        return " ".join(parts + [f"-{t.text()}" for t in self.excluded])


@dataclass(frozen=True, slots=True)
class Phrase:
    """One FTS5 phrase: the text FTS5 tokenizes, and the columns it may match in."""

    text: str  # tokens joined by spaces; canonical tone placement when typed with accents
    exact_only: bool  # typed with accents: the exact columns only; otherwise all four

    def expression(self) -> str:
        """The phrase inside its column filter, as it appears in a MATCH string."""
        return f'{EXACT_COLUMNS if self.exact_only else ALL_COLUMNS} : "{self.text}"'


# Every phrase of an alternative must match (words typed as an expansion's run); mostly one.
Alternative = tuple[Phrase, ...]


@dataclass(frozen=True, slots=True)
class CompiledWords:
    """The words of a query, compiled: what both the FTS5 MATCH string and the percolator are built from.

    An article matches when every unit of `required` matches (a unit: any of its
    alternatives; an alternative: all of its phrases) and no phrase of `excluded` does.
    """

    required: tuple[tuple[Alternative, ...], ...]
    excluded: tuple[Phrase, ...] = ()

    def fts_match(self) -> str:
        """The FTS5 MATCH string (never a syntax error: every phrase is letters and digits)."""
        match = " AND ".join(_either([_all_of(alt) for alt in unit]) for unit in self.required)
        if self.excluded:
            match = f"({match}) NOT (" + " OR ".join(p.expression() for p in self.excluded) + ")"
        return match


def _all_of(alternative: Alternative) -> str:
    if len(alternative) == 1:
        return alternative[0].expression()
    return "(" + " AND ".join(p.expression() for p in alternative) + ")"


def _either(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A compiled query: its words (None when only filters) and MATCH string, filters, display terms."""

    words: CompiledWords | None
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    terms: tuple[str, ...] = field(default=())
    match: str | None = field(init=False)  # derived from `words`: one source of truth

    def __post_init__(self) -> None:
        object.__setattr__(self, "match", self.words.fts_match() if self.words else None)


@dataclass(frozen=True, slots=True)
class Item:
    """One piece of lexed query text; `start`/`end` locate it in the text."""

    kind: str  # "term" | "or" | "and" | "filter"
    start: int
    end: int
    tokens: tuple[str, ...] = ()
    negated: bool = False
    phrase: bool = False
    name: str = ""  # filter: "source" | "since"
    value: str = ""


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


def _scan_to(text: str, start: int, stop: frozenset[str], space: bool) -> int:
    end = start
    while end < len(text) and text[end] not in stop and not (space and text[end].isspace()):
        end += 1
    return end


def lex(text: str) -> list[Item]:
    """Items of NFC `text`; raises QueryError only for an excluded filter (`-source:x`)."""
    items: list[Item] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and text[i] == "-":
            i += 1
        negated = i > start
        if i >= n or text[i].isspace():
            continue  # a lone "-" means nothing
        if text[i] in _QUOTES:  # an unbalanced quote closes itself at the end
            end = _scan_to(text, i + 1, _QUOTES, space=False)
            items.append(Item("term", start, end + 1, fts_tokens(text[i + 1 : end]), negated, phrase=True))
            i = end + 1
            continue
        end = _scan_to(text, i, _QUOTES, space=True)
        items.append(_classify(text[i:end], start, end, negated))
        i = end
    return items


def _classify(chunk: str, start: int, end: int, negated: bool) -> Item:
    if not negated and chunk in (OR, "AND"):
        return Item(chunk.lower(), start, end)  # AND is implicit
    found = _FILTER.match(chunk)
    if found:
        name = _FILTER_NAMES[found.group(1).lower()]
        if negated:
            raise QueryError(f"-{name}: cannot be excluded; use {name}:…", "not_excludable", name=name)
        return Item("filter", start, end, name=name, value=found.group(2))
    return Item("term", start, end, fts_tokens(chunk), negated)


def _shown(value: str) -> str:
    """A user's value quoted back in a message: printable and short."""
    clean = "".join(c if c.isprintable() else "?" for c in value)
    return clean if len(clean) <= 30 else clean[:30] + "…"


def read_since(value: str, now: datetime, tz: tzinfo | None) -> tuple[datetime, timedelta | None]:
    """`since:` value → (moment, span back from now; None for a date); QueryError with a hint."""
    value = value.strip().lower()
    relative = _RELATIVE.match(value)
    if relative:
        span = min(int(relative.group(1)) * _UNITS[relative.group(2)], _MAX_SPAN)
        return now - span, span
    months = _MONTHS.match(value)
    if months:
        days = min(int(months.group(1)) * (30 if months.group(2) else 1), _MAX_SPAN.days)
        raise QueryError(
            f"since:{_shown(value)} needs a unit of days, weeks or hours: e.g. since:{days}d",
            "since_unit",
            value=_shown(value),
            days=days,
        )
    return datetime.combine(_date(value), time(0), tzinfo=tz), None


def _date(value: str) -> date:
    iso, vn = _ISO_DATE.match(value), _VN_DATE.match(value)
    try:
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if vn:
            return date(int(vn.group(3)), int(vn.group(2)), int(vn.group(1)))
    except ValueError:
        pass
    raise QueryError(
        f"since:{_shown(value)} is not a time: use since:7d, since:24h, since:2w, since:2026-11-01 or since:25/11/2026",
        "bad_since",
        value=_shown(value),
    )


def read_source(value: str) -> str:
    """`source:` value → an outlet id (not yet checked against the outlets: see ArchiveService)."""
    source_id = value.strip().lower()
    if not is_valid_id(source_id):
        raise QueryError(
            f"source:{_shown(value)} is not an outlet id (letters, digits, - _ .), e.g. source:vtv",
            "bad_source",
            value=_shown(value),
        )
    return source_id


def group_terms(items: Iterable[Item]) -> tuple[tuple[tuple[Term, ...], ...], tuple[Term, ...]]:
    """Positive OR-groups (AND-ed together) and exclusions; dangling ORs and empty terms are dropped."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for item in items:
        if item.kind == "or":
            join_next = bool(groups)
            continue
        if item.kind != "term" or not item.tokens:
            continue
        term = Term(item.tokens, item.phrase)
        if item.negated:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return tuple(tuple(g) for g in groups), tuple(excluded)


def build_query(items: Sequence[Item], *, now: datetime, tz: ZoneInfo) -> Query:
    """Items → Query: filters read (QueryError for a bad value), terms grouped."""
    sources: list[str] = []
    since: datetime | None = None
    for item in items:
        if item.kind == "filter" and item.name == "source":
            sources.append(read_source(item.value))
        elif item.kind == "filter":
            moment = read_since(item.value, now, tz)[0]
            since = moment if since is None else max(since, moment)
    groups, excluded = group_terms(items)
    return Query(groups, excluded, tuple(dict.fromkeys(sources)), since)


def parse(text: str, *, now: datetime, tz: ZoneInfo) -> Query:
    """Query text → Query (QueryError for a bad filter value; empty queries are refused at compile)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=tz)
    return build_query(lex(nfc(text or "")), now=now, tz=tz)


def term_phrase(tokens: Sequence[str]) -> Phrase:
    """One word or phrase, in the columns its accents call for."""
    text = " ".join(tokens)
    if has_diacritics(text):
        return Phrase(canonical_tones(text), exact_only=True)
    return Phrase(text, exact_only=False)


def term_expression(tokens: Sequence[str]) -> str:
    """One word or phrase as an FTS5 string inside the column filter its accents call for."""
    return term_phrase(tokens).expression()


def _alternatives(term: Term, abbreviations: Abbreviations) -> list[Alternative]:
    """The term itself, then every other form of it when it is a known abbreviation or expansion."""
    return [(term_phrase(term.tokens),), *map(_form, abbreviations.other_forms(term.tokens))]


def _form(key: tuple[str, ...]) -> Alternative:
    return (Phrase(" ".join(key), exact_only=False),)


def _positive(groups: Sequence[tuple[Term, ...]], abbreviations: Abbreviations) -> list[tuple[Alternative, ...]]:
    """One unit (alternatives) per AND-ed group; single words that spell an expansion become one unit."""
    out: list[tuple[Alternative, ...]] = []
    words = [folded_key(g[0].tokens) if len(g) == 1 and not g[0].phrase else None for g in groups]
    i = 0
    while i < len(groups):
        run = abbreviations.longest_run(words, i)
        if run > 1:  # "ủy ban nhân dân" typed as words: those words, or any other form
            typed = tuple(term_phrase(g[0].tokens) for g in groups[i : i + run])
            key = tuple(tok for word in words[i : i + run] for tok in word or ())
            out.append((typed, *map(_form, abbreviations.others_of(key))))
            i += run
            continue
        word = words[i]
        if word is not None:  # its folded key is known already
            out.append(((term_phrase(groups[i][0].tokens),), *map(_form, abbreviations.others_of(word))))
        else:
            out.append(tuple(alt for term in groups[i] for alt in _alternatives(term, abbreviations)))
        i += 1
    return out


def _display(term: Term) -> str:
    text = " ".join(term.tokens).lower()
    return canonical_tones(text) if has_diacritics(text) else text


def compile_query(query: Query, abbreviations: Abbreviations = DEFAULT_ABBREVIATIONS) -> ParsedQuery:
    """Query → MATCH string and filters; QueryError (with a message for the user) when it means nothing."""
    if query.token_count() > MAX_TOKENS:
        raise QueryError(f"Query too long: at most {MAX_TOKENS} words", "too_long", max=MAX_TOKENS)
    if not query.groups:
        if query.excluded:
            raise QueryError(_ONLY_EXCLUDED, "only_excluded")
        if not query.sources and query.since is None and query.until is None:
            raise QueryError(_EMPTY, "empty")
        return ParsedQuery(None, query.sources, query.since, ())
    # Every alternative of an excluded term is a single phrase (runs are formed only by
    # positive words), so the exclusions flatten to one OR of phrases.
    excluded = tuple(p for term in query.excluded for alt in _alternatives(term, abbreviations) for p in alt)
    words = CompiledWords(tuple(_positive(query.groups, abbreviations)), excluded)
    terms = tuple(dict.fromkeys(_display(t) for g in query.groups for t in g))
    return ParsedQuery(words, query.sources, query.since, terms)


def parse_query(
    text: str, *, now: datetime, tz: ZoneInfo, abbreviations: Abbreviations = DEFAULT_ABBREVIATIONS
) -> ParsedQuery:
    """Compile query text; QueryError (with a message for the user) only when it cannot mean anything."""
    return compile_query(parse(text, now=now, tz=tz), abbreviations)
