"""Understand a question typed like to a colleague ("có bài nào về chuyển đổi số tuần này không?").

`understand()` turns free text into a `Question`: a query in our search language plus
the period, outlets and campaign it named. It is a pure function of the text, the
clock and the configured names, so the bot and the CLI read questions the same way.

How a question is read, left to right, longest phrase first at each word:
time expressions, campaign names/ids, outlet names/ids, organization aliases,
protected compounds (content words that contain a filler: "công nghệ thông tin"),
then filler  Whatever is left is the query.

Accents: a word typed without accents matches every accented form ("tuan nay"
reads as "tuần này"); a word typed with accents must match the accented spelling,
so "Hà Nội" never loses "Nội" to the filler "nói", nor "Đảng" to "đăng". A few
fillers whose unaccented form is also a common content word ("noi", "dang", "da",
"cua", ...) are dropped only when typed with accents.

Periods (all bounds in the timezone of `now`; `until` is exclusive, None = open):
- hôm nay / today: today 00:00 →
- hôm qua / yesterday: [yesterday 00:00, today 00:00)
- tuần này / this week: Monday 00:00 →
- tuần qua / past week: the last 7 days, rolling (now − 7 days →), like `since:7d`
- tuần trước / tuần rồi / last week: the previous calendar week, [Monday, Monday)
- N ngày qua / last N days: now − N days → (also N tuần qua = 7N, N tháng qua = 30N)
- tháng này / tháng trước, năm nay / năm ngoái: calendar month / year
- 24 giờ qua / last 24 hours: now − 24 h →
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from bot.ids import is_valid_id
from bot.search.lexicon import (
    EN_FILLER,
    EN_MARKERS,
    EN_SOFT,
    OUTLET_PREFIXES,
    PROTECTED,
    TIME_PHRASES,
    VI_FILLER,
    VI_FILLER_ACCENTED_ONLY,
    VI_MARKERS,
    VI_SOFT,
)
from bot.textnorm import canonical_tones, fold_vietnamese, has_diacritics, nfc

_MAX_DAYS = 3660  # ten years: larger numbers are typos, and timedelta must not overflow
_MAX_INPUT = 4096  # Telegram's own message limit; longer text is cut, not refused
_WORD = re.compile(r"[^\W_]+")
_QUOTED = re.compile(r'(-?)"([^"]*)"')
_OPERATOR = re.compile(r"(?<!\S)(source|since|nguồn|nguon):(\S*)", re.IGNORECASE)
_SINCE_DAYS = re.compile(r"^(\d{1,6})([dwm]?)$", re.IGNORECASE)
_QUOTE_CHARS = str.maketrans({c: '"' for c in "“”„‟«»＂″"})
_MAX_CONTENT_WORDS = 4


@dataclass(frozen=True)
class Question:
    """What a free-text question asks for, ready for the search service."""

    query: str
    since: datetime | None = None
    until: datetime | None = None
    period: str | None = None
    period_days: int | None = None
    source_ids: tuple[str, ...] = ()
    campaign_id: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # as typed
    start: int
    end: int
    exact: str  # lowercase, NFC, canonical tone placement
    folded: str  # exact without any diacritic
    accented: bool
    negated: bool = False  # typed as -word
    glued: bool = False  # joined to the previous token by "-" (COVID-19)


@dataclass(frozen=True, slots=True)
class _Entry:
    keys: tuple[tuple[str, str, bool], ...]  # per word: (exact, folded, accented); "#" = any number
    kind: str
    payload: str = ""
    strict: bool = False  # unaccented input never matches


@dataclass(slots=True)
class _Reading:
    """Mutable state while one question is read."""

    items: list[tuple[int, str]] = field(default_factory=list)  # (position, query item)
    period: tuple[str, int | None, datetime | None, datetime | None] | None = None
    sources: list[str] = field(default_factory=list)
    campaign: str | None = None


def _key(word: str) -> tuple[str, str, bool]:
    exact = canonical_tones(word).lower()
    return exact, fold_vietnamese(exact), has_diacritics(exact)


def _entry(phrase: str, kind: str, payload: str = "", strict: bool = False) -> _Entry | None:
    keys = tuple(("#", "#", False) if w == "#" else _key(w) for w in re.findall(r"[^\W_]+|#", nfc(phrase)))
    return _Entry(keys, kind, payload, strict) if keys else None


def _index(entries: Sequence[_Entry | None]) -> dict[str, list[_Entry]]:
    index: dict[str, list[_Entry]] = {}
    for entry in entries:
        if entry is not None:
            index.setdefault(entry.keys[0][1], []).append(entry)
    for bucket in index.values():
        bucket.sort(key=lambda e: -len(e.keys))
    return index


def _static_entries() -> list[_Entry | None]:
    out: list[_Entry | None] = []
    for phrase, key in TIME_PHRASES:
        out.append(_entry(phrase, "time", key))
    out += [_entry(p, "protected") for p in PROTECTED]
    for lang, fillers, strict in (
        ("vi", VI_FILLER, VI_FILLER_ACCENTED_ONLY),
        ("en", EN_FILLER, ()),
    ):
        out += [_entry(p, "filler", lang) for p in fillers]
        out += [_entry(p, "filler", lang, strict=True) for p in strict]
    out += [_entry(p, "soft", "vi") for p in VI_SOFT]
    out += [_entry(p, "soft", "en") for p in EN_SOFT]
    return out


_STATIC = _index(_static_entries())
_PREFIXES = {_key(w)[1]: _key(w) for w in OUTLET_PREFIXES}
_PRIORITY = {"time": 0, "campaign": 1, "outlet": 2, "alias": 3, "protected": 4, "filler": 5, "soft": 6}


def understand(
    text: str,
    *,
    now: datetime,
    outlets: Sequence[tuple[str, str]],
    campaigns: Sequence[tuple[str, str]],
    aliases: Sequence[str] = (),
) -> Question:
    """Read a free-text question into a `Question` (never raises on any text)."""
    text = _clean_input(text)
    reading = _Reading()
    text = _take_operators(text, reading, now)
    text = _take_quoted(text, reading)
    tokens = _tokens(text)
    language = _guess_language(tokens, text)
    dynamic = _dynamic_index(
        tuple((str(i), str(n)) for i, n in outlets),
        tuple((str(i), str(n)) for i, n in campaigns),
        tuple(str(a) for a in aliases),
    )
    kinds = _scan(tokens, dynamic, language)
    _apply(tokens, kinds, reading, now, text)
    period = reading.period
    return Question(
        query=_assemble(reading.items),
        since=period[2] if period else None,
        until=period[3] if period else None,
        period=period[0] if period else None,
        period_days=period[1] if period else None,
        source_ids=tuple(dict.fromkeys(reading.sources)),
        campaign_id=reading.campaign,
        language=language,
    )


def _clean_input(text: str) -> str:
    if not isinstance(text, str):
        return ""
    text = nfc(text[:_MAX_INPUT]).translate(_QUOTE_CHARS)
    # Control and format characters (zero-width joiners, bidi marks) only ever hide words.
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


def _blank(text: str, match: re.Match[str]) -> str:
    """Replace a consumed span by spaces so later positions still refer to the input."""
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]


def _take_operators(text: str, reading: _Reading, now: datetime) -> str:
    for match in list(_OPERATOR.finditer(text)):
        name, value = match.group(1).lower(), match.group(2).lower()
        if name == "since":
            if reading.period is None:
                reading.period = _since_operator(value, now)
        elif is_valid_id(value):
            reading.sources.append(value)
        text = _blank(text, match)
    return text


def _since_operator(value: str, now: datetime) -> tuple[str, int | None, datetime | None, None] | None:
    match = _SINCE_DAYS.match(value)
    if match:
        days = int(match.group(1)) * {"": 1, "d": 1, "w": 7, "m": 30}[match.group(2).lower()]
        return _last_days(now, days)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return "period.since_date", None, _midnight(day, now.tzinfo), None


def _take_quoted(text: str, reading: _Reading) -> str:
    for match in list(_QUOTED.finditer(text)):
        phrase = _clean_words(match.group(2))
        if phrase:
            reading.items.append((match.start(), f'{match.group(1)}"{phrase}"'))
        text = _blank(text, match)
    return text.replace('"', " ")  # an unbalanced quote means nothing


def _clean_words(text: str) -> str:
    return " ".join(_WORD.findall(text))


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        glued = before == "-" and bool(out) and out[-1].end == start - 1
        negated = before == "-" and not glued and (start < 2 or text[start - 2].isspace())
        exact, folded, accented = _key(match.group())
        out.append(_Token(match.group(), start, end, exact, folded, accented, negated, glued))
    return out


def _guess_language(tokens: Sequence[_Token], text: str) -> str | None:
    vi = sum(t.folded in VI_MARKERS for t in tokens) + (1 if has_diacritics(text) else 0)
    en = sum(t.exact in EN_MARKERS for t in tokens)
    if vi == en:
        return None
    return "vi" if vi > en else "en"


@functools.lru_cache(maxsize=8)
def _dynamic_index(
    outlets: tuple[tuple[str, str], ...], campaigns: tuple[tuple[str, str], ...], aliases: tuple[str, ...]
) -> dict[str, list[_Entry]]:
    # Names change only on a config reload; rebuilding the index costs ~20 ms for 1,000 outlets.
    return _index(_dynamic_entries(outlets, campaigns, aliases))


def _dynamic_entries(
    outlets: Sequence[tuple[str, str]], campaigns: Sequence[tuple[str, str]], aliases: Sequence[str]
) -> list[_Entry | None]:
    out: list[_Entry | None] = []
    for source_id, name in outlets:
        out += [_entry(str(source_id), "outlet", str(source_id)), _entry(str(name), "outlet", str(source_id))]
    for campaign_id, name in campaigns:
        out += [
            _entry(str(campaign_id), "campaign", str(campaign_id)),
            _entry(str(name), "campaign", str(campaign_id)),
        ]
    out += [_entry(str(alias), "alias") for alias in aliases]
    return out


def _word_matches(token: _Token, key: tuple[str, str, bool], strict: bool) -> bool:
    if key[0] == "#":
        return token.text.isascii() and token.text.isdigit()
    if token.folded != key[1]:
        return False
    if strict and not token.accented:
        return False
    return token.exact == key[0] if token.accented and key[2] else True


def _match_at(tokens: Sequence[_Token], i: int, entry: _Entry) -> bool:
    if i + len(entry.keys) > len(tokens):
        return False
    return all(
        not tokens[i + k].negated and _word_matches(tokens[i + k], key, entry.strict)
        for k, key in enumerate(entry.keys)
    )


def _best_at(
    tokens: Sequence[_Token], i: int, indexes: Sequence[dict[str, list[_Entry]]], lang: str | None
) -> _Entry | None:
    candidates = [
        entry
        for index in indexes
        for first in _first_keys(tokens[i])
        for entry in index.get(first, ())
        if (entry.kind not in ("filler", "soft") or lang in (None, entry.payload)) and _match_at(tokens, i, entry)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (-len(e.keys), _PRIORITY[e.kind]))


def _first_keys(token: _Token) -> tuple[str, ...]:
    return (token.folded, "#") if token.text.isascii() and token.text.isdigit() else (token.folded,)


def _scan(
    tokens: Sequence[_Token], dynamic: dict[str, list[_Entry]], lang: str | None
) -> list[tuple[_Entry | None, int]]:
    """Leftmost-longest reading: for each token, the phrase it belongs to and the phrase's first index."""
    kinds: list[tuple[_Entry | None, int]] = []
    i = 0
    while i < len(tokens):
        # -word, OR and the tail of a hyphenated word ("19" in COVID-19) never start a phrase.
        free = not (tokens[i].negated or tokens[i].glued or tokens[i].text == "OR")
        entry = _best_at(tokens, i, (dynamic, _STATIC), lang) if free else None
        span = len(entry.keys) if entry else 1
        kinds += [(entry, i)] * span
        i += span
    return kinds


def _apply(
    tokens: Sequence[_Token],
    kinds: list[tuple[_Entry | None, int]],
    reading: _Reading,
    now: datetime,
    text: str,
) -> None:
    for i, (entry, first) in enumerate(kinds):
        if entry is not None and i == first:
            _apply_phrase(tokens, i, entry, reading, now, text, kinds)
    content = [i for i, (entry, _) in enumerate(kinds) if entry is None or entry.kind in ("protected", "soft")]
    if sum(tokens[i].text != "OR" for i in content) > _MAX_CONTENT_WORDS:
        content = [i for i in content if (entry := kinds[i][0]) is None or entry.kind != "soft"]
    reading.items += _content_items(tokens, content)


def _apply_phrase(
    tokens: Sequence[_Token],
    i: int,
    entry: _Entry,
    reading: _Reading,
    now: datetime,
    text: str,
    kinds: list[tuple[_Entry | None, int]],
) -> None:
    if entry.kind == "time" and reading.period is None:
        number = next((int(t.text[:6]) for t in tokens[i : i + len(entry.keys)] if t.text.isdigit()), None)
        reading.period = _period(entry.payload, number, now)
    elif entry.kind == "campaign" and reading.campaign is None:
        reading.campaign = entry.payload
    elif entry.kind == "outlet":
        reading.sources.append(entry.payload)
        _drop_prefixes(tokens, i, kinds)
    elif entry.kind == "alias":
        last = tokens[i + len(entry.keys) - 1]
        reading.items.append((tokens[i].start, f'"{_clean_words(text[tokens[i].start : last.end])}"'))


def _drop_prefixes(tokens: Sequence[_Token], i: int, kinds: list[tuple[_Entry | None, int]]) -> None:
    """Drop "trên báo" / "của" / "on" just before an outlet name."""
    marker = _Entry((), "filler")
    for j in range(i - 1, -1, -1):
        entry, token = kinds[j][0], tokens[j]
        key = _PREFIXES.get(token.folded)
        if (entry is not None and entry.kind != "soft") or key is None or token.negated:
            return
        if token.accented and key[2] and token.exact != key[0]:
            return
        kinds[j] = (marker, j)


def _content_items(tokens: Sequence[_Token], content: Sequence[int]) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    previous = -2
    for i in content:
        token = tokens[i]
        if token.glued and previous == i - 1 and items:
            position, word = items[-1]
            items[-1] = (position, f"{word}-{token.text}")
        else:
            items.append((token.start, f"-{token.text}" if token.negated else token.text))
        previous = i
    return items


def _assemble(items: list[tuple[int, str]]) -> str:
    ordered = [item for _, item in sorted(items, key=lambda pair: pair[0])]
    kept: list[str] = []
    for k, item in enumerate(ordered):
        # OR only means something between two terms.
        if item == "OR" and (not kept or kept[-1] == "OR" or k + 1 >= len(ordered) or ordered[k + 1] == "OR"):
            continue
        kept.append(item)
    return " ".join(kept)


def _midnight(day: date, tz: tzinfo | None) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _last_days(now: datetime, days: int) -> tuple[str, int, datetime, None]:
    days = max(1, min(days, _MAX_DAYS))
    return "period.last_n_days", days, now - timedelta(days=days), None


def _month_start(year: int, month: int, tz: tzinfo | None) -> datetime:
    year, month = (year - 1, 12) if month == 0 else (year, month)
    return datetime(year, month, 1, tzinfo=tz)


def _period(key: str, number: int | None, now: datetime) -> tuple[str, int | None, datetime | None, datetime | None]:
    tz = now.tzinfo
    today = _midnight(now.date(), tz)
    monday = _midnight(now.date() - timedelta(days=now.weekday()), tz)
    if key.startswith("days:"):  # "days:N" fixed length, "days:N*" N per number typed
        days = int(key[5:].rstrip("*"))
        return _last_days(now, days * (number or 1) if key.endswith("*") else days)
    spans: dict[str, tuple[datetime | None, datetime | None]] = {
        "period.today": (today, None),
        "period.yesterday": (_midnight(now.date() - timedelta(days=1), tz), today),
        "period.this_week": (monday, None),
        "period.last_week": (_midnight(monday.date() - timedelta(days=7), tz), monday),
        "period.this_month": (_month_start(now.year, now.month, tz), None),
        "period.last_month": (
            _month_start(now.year, now.month - 1, tz),
            _month_start(now.year, now.month, tz),
        ),
        "period.this_year": (datetime(now.year, 1, 1, tzinfo=tz), None),
        "period.last_year": (datetime(now.year - 1, 1, 1, tzinfo=tz), datetime(now.year, 1, 1, tzinfo=tz)),
        "period.last_24_hours": (now - timedelta(hours=24), None),
    }
    since, until = spans[key]
    return key, None, since, until
