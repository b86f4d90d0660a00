"""Understand a question typed like to a colleague ("có bài nào về chuyển đổi số tuần này không?").

`understand()` reads free text into a `Question`: the same structured `Query` that /search
produces (bot.search.query), plus the period, outlets and campaign it named. It is a pure
function of the text, the clock and the configured names, so the bot and the CLI read
questions the same way.

The text is lexed by the query language's own lexer, so every operator means what it
means in /search: "phrases", OR, -exclusion, source:ID (nguồn:ID), since:7d|24h|2w|date;
a bad operator value raises the same QueryError /search raises (the handler explains it).
The words between operators are then read left to right, longest phrase first at each
word: time expressions, campaign names/ids, outlet names/ids, organization aliases,
protected compounds (content words that contain a filler: "công nghệ thông tin"), then
filler. Whatever is left are the query's terms (at most MAX_TOKENS words: a longer
question keeps its first ones and says how many it dropped).

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
- tháng 9 / in September: that month of this year, or of last year while it is still ahead;
  tháng 9/2026, tháng 9 năm 2026, September 2026: that month
- quý 3 / quý III / Q3 (also /2026, năm 2026): a calendar quarter, the same way
- năm 2025 / in 2025: that calendar year
- từ 1/9 đến 30/9 / from 1/9 to 30/9 (years optional): [1/9 00:00, 1/10 00:00), the end day included
- từ 1/9, từ 1/9/2026 / from 1/9: since that day
- since:… as in /search: since:7d / since:2w (last N days), since:24h / since:36h, since:2026-11-01
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.search.lexicon import (
    EN_FILLER,
    EN_MARKERS,
    EN_SOFT,
    OUTLET_PREFIXES,
    PROTECTED,
    REPORT_PHRASES,
    TIME_PHRASES,
    VI_FILLER,
    VI_FILLER_ACCENTED_ONLY,
    VI_MARKERS,
    VI_SOFT,
)
from bot.search.periods import Period, last_days, last_hours, period
from bot.search.query import MAX_TOKENS, Item, Query, group_terms, lex, read_since, read_source
from bot.textnorm import canonical_tones, fold_vietnamese, has_diacritics, nfc

_MAX_INPUT = 4096  # Telegram's own message limit; longer text is cut, not refused
_MAX_CONTENT_WORDS = 4


@dataclass(frozen=True)
class Question:
    """What a free-text question asks for: a Query, plus what the answer should say about it."""

    query: Query = field(default_factory=Query)
    period: str | None = None  # catalogue key, e.g. period.this_week
    period_days: int | None = None  # the N of period.last_n_days (of hours for period.last_n_hours)
    campaign_id: str | None = None
    language: str | None = None
    dropped_words: int = 0  # words beyond MAX_TOKENS, left out of the search
    # A report word ("báo cáo", "thống kê", "report") was typed: `topic` is the query without
    # it (the campaign may be named by its words); `query` keeps it as words to search for.
    report: bool = False
    topic: Query | None = None

    @property
    def since(self) -> datetime | None:
        return self.query.since

    @property
    def until(self) -> datetime | None:
        return self.query.until

    @property
    def source_ids(self) -> tuple[str, ...]:
        return self.query.sources


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # as typed; "" for the place of a phrase, OR, AND or filter (a barrier)
    item: int  # index of the lexed item it comes from
    exact: str  # lowercase, NFC, canonical tone placement
    folded: str  # exact without any diacritic
    accented: bool
    negated: bool = False  # typed as -word
    glued: bool = False  # not the first token of its item (19 in COVID-19, HCM in TP.HCM)

    @property
    def barrier(self) -> bool:
        return not self.text


@dataclass(frozen=True, slots=True)
class _Entry:
    keys: tuple[tuple[str, str, bool], ...]  # per word: (exact, folded, accented); "#" = any number
    kind: str
    payload: str = ""
    strict: bool = False  # unaccented input never matches


@dataclass(slots=True)
class _Reading:
    """Mutable state while one question is read."""

    period: Period | None = None
    since: datetime | None = None  # from since: operators (the latest wins, as in /search)
    sources: list[str] = field(default_factory=list)
    campaign: str | None = None
    aliases: dict[int, int] = field(default_factory=dict)  # first token → token count


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
    out += [_entry(p, "report") for p in REPORT_PHRASES]
    out += [_entry(p, "soft", "vi") for p in VI_SOFT]
    out += [_entry(p, "soft", "en") for p in EN_SOFT]
    return out


_STATIC = _index(_static_entries())
_PREFIXES = {_key(w)[1]: _key(w) for w in OUTLET_PREFIXES}
_PRIORITY = {"time": 0, "campaign": 1, "outlet": 2, "alias": 3, "report": 4, "protected": 5, "filler": 6, "soft": 7}
_CONTENT = ("", "protected", "soft")


def understand(
    text: str,
    *,
    now: datetime,
    outlets: Sequence[tuple[str, str]],
    campaigns: Sequence[tuple[str, str]],
    aliases: Sequence[str] = (),
) -> Question:
    """Read a free-text question; QueryError only for an operator typed with a bad value."""
    text = _clean_input(text)
    items = lex(text)
    reading = _Reading()
    _read_operators(items, reading, now)
    tokens = _tokens(items)
    language = _guess_language(tokens, text)
    dynamic = _dynamic_index(
        tuple((str(i), str(n)) for i, n in outlets),
        tuple((str(i), str(n)) for i, n in campaigns),
        tuple(str(a) for a in aliases),
    )
    kinds = _scan(tokens, dynamic, language, now)
    _apply(tokens, kinds, reading, now)
    content, dropped = _limit(_content(items, tokens, kinds, reading, (*_CONTENT, "report")))
    groups, excluded = group_terms(content)
    found = reading.period
    since = max((m for m in (reading.since, found[2] if found else None) if m is not None), default=None)
    query = Query(groups, excluded, tuple(dict.fromkeys(reading.sources)), since, found[3] if found else None)
    report = any(entry is not None and entry.kind == "report" for entry, _ in kinds)
    topic = None
    if report:
        topic_groups, topic_excluded = group_terms(_limit(_content(items, tokens, kinds, reading, _CONTENT))[0])
        topic = replace(query, groups=topic_groups, excluded=topic_excluded)
    return Question(
        query=query,
        period=found[0] if found else None,
        period_days=found[1] if found else None,
        campaign_id=reading.campaign,
        language=language,
        dropped_words=dropped,
        report=report,
        topic=topic,
    )


def _clean_input(text: str) -> str:
    if not isinstance(text, str):
        return ""
    text = nfc(text[:_MAX_INPUT])
    # Control and format characters (zero-width joiners, bidi marks) only ever hide words.
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)


def _read_operators(items: Sequence[Item], reading: _Reading, now: datetime) -> None:
    """source: and since: exactly as /search reads them; the first since: names the period."""
    for item in items:
        if item.kind == "filter" and item.name == "source":
            reading.sources.append(read_source(item.value))
        elif item.kind == "filter":
            moment, span = read_since(item.value, now, now.tzinfo)
            reading.since = moment if reading.since is None else max(reading.since, moment)
            if reading.period is None:
                reading.period = _since_period(item.value, moment, span, now)


def _since_period(value: str, moment: datetime, span: timedelta | None, now: datetime) -> Period:
    if span is None:
        return "period.since_date", None, moment, None
    if value.strip().lower().endswith("h"):
        return last_hours(now, int(span.total_seconds() // 3600))
    return last_days(now, span.days)


def _tokens(items: Sequence[Item]) -> list[_Token]:
    """The words of the question in order; phrases, OR, AND and filters leave a barrier."""
    out: list[_Token] = []
    for index, item in enumerate(items):
        if item.kind != "term" or item.phrase:
            out.append(_Token("", index, "", "", False))
            continue
        for k, word in enumerate(item.tokens):
            exact, folded, accented = _key(word)
            out.append(_Token(word, index, exact, folded, accented, item.negated, k > 0))
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
    if token.folded != key[1] or token.barrier:
        return False
    if strict and not token.accented:
        return False
    return token.exact == key[0] if token.accented else True  # "nhà" is not the filler "nha"


def _match_at(tokens: Sequence[_Token], i: int, entry: _Entry) -> bool:
    if i + len(entry.keys) > len(tokens):
        return False
    return all(
        not tokens[i + k].negated and _word_matches(tokens[i + k], key, entry.strict)
        for k, key in enumerate(entry.keys)
    )


def _numbers(tokens: Sequence[_Token], i: int, entry: _Entry) -> list[int]:
    return [int(t.text[:6]) for t in tokens[i : i + len(entry.keys)] if t.text.isascii() and t.text.isdigit()]


def _period_at(tokens: Sequence[_Token], i: int, entry: _Entry, now: datetime) -> Period | None:
    return period(entry.payload, _numbers(tokens, i, entry), now)


def _best_at(
    tokens: Sequence[_Token], i: int, indexes: Sequence[dict[str, list[_Entry]]], lang: str | None, now: datetime
) -> _Entry | None:
    candidates = [
        entry
        for index in indexes
        for first in _first_keys(tokens[i])
        for entry in index.get(first, ())
        if (entry.kind not in ("filler", "soft") or lang in (None, entry.payload))
        and _match_at(tokens, i, entry)
        and (entry.kind != "time" or _period_at(tokens, i, entry, now) is not None)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda e: (-len(e.keys), _PRIORITY[e.kind]))


def _first_keys(token: _Token) -> tuple[str, ...]:
    return (token.folded, "#") if token.text.isascii() and token.text.isdigit() else (token.folded,)


def _scan(
    tokens: Sequence[_Token], dynamic: dict[str, list[_Entry]], lang: str | None, now: datetime
) -> list[tuple[_Entry | None, int]]:
    """Leftmost-longest reading: for each token, the phrase it belongs to and the phrase's first index."""
    kinds: list[tuple[_Entry | None, int]] = []
    i = 0
    while i < len(tokens):
        # -word, barriers and the tail of a word (19 in COVID-19) never start a phrase.
        token = tokens[i]
        free = not (token.negated or token.glued or token.barrier)
        entry = _best_at(tokens, i, (dynamic, _STATIC), lang, now) if free else None
        span = len(entry.keys) if entry else 1
        kinds += [(entry, i)] * span
        i += span
    return kinds


def _apply(tokens: Sequence[_Token], kinds: list[tuple[_Entry | None, int]], reading: _Reading, now: datetime) -> None:
    for i, (entry, first) in enumerate(kinds):
        if entry is None or i != first:
            continue
        if entry.kind == "time" and reading.period is None:
            reading.period = _period_at(tokens, i, entry, now)
        elif entry.kind == "campaign" and reading.campaign is None:
            reading.campaign = entry.payload
        elif entry.kind == "outlet":
            reading.sources.append(entry.payload)
            _drop_prefixes(tokens, i, kinds)
        elif entry.kind == "alias":
            reading.aliases[i] = len(entry.keys)


def _drop_prefixes(tokens: Sequence[_Token], i: int, kinds: list[tuple[_Entry | None, int]]) -> None:
    """Drop "trên báo" / "của" / "on" just before an outlet name."""
    marker = _Entry((), "filler")
    for j in range(i - 1, -1, -1):
        entry, token = kinds[j][0], tokens[j]
        key = _PREFIXES.get(token.folded)
        if (entry is not None and entry.kind != "soft") or key is None or token.negated or token.barrier:
            return
        if token.accented and key[2] and token.exact != key[0]:
            return
        kinds[j] = (marker, j)


def _content(
    items: Sequence[Item],
    tokens: Sequence[_Token],
    kinds: list[tuple[_Entry | None, int]],
    reading: _Reading,
    content_kinds: tuple[str, ...],
) -> list[Item]:
    """What is left to search for, in order: words, phrases, aliases (as phrases) and ORs."""
    kind = [e.kind if e is not None else "" for e, _ in kinds]
    words = [i for i, k in enumerate(kind) if k in content_kinds]
    if sum(not tokens[i].barrier for i in words) > _MAX_CONTENT_WORDS:
        words = [i for i in words if kind[i] != "soft"]
    keep = set(words)
    out: list[Item] = []
    run: list[int] = []
    for i, token in enumerate(tokens):
        if run and (i not in keep or token.barrier or token.item != tokens[run[-1]].item):
            out.append(_word_item(items, tokens, run))
            run = []
        if token.barrier:
            if items[token.item].kind in ("term", "or"):
                out.append(items[token.item])
        elif i in reading.aliases:
            last = tokens[i + reading.aliases[i] - 1]
            words_typed = tuple(t.text for t in tokens[i : i + reading.aliases[i]])
            out.append(Item("term", items[token.item].start, items[last.item].end, words_typed, phrase=True))
        elif i in keep:
            run.append(i)
    if run:
        out.append(_word_item(items, tokens, run))
    return out


def _word_item(items: Sequence[Item], tokens: Sequence[_Token], run: Sequence[int]) -> Item:
    item = items[tokens[run[0]].item]
    return Item("term", item.start, item.end, tuple(tokens[i].text for i in run), item.negated)


def _limit(content: list[Item]) -> tuple[list[Item], int]:
    """The first MAX_TOKENS words (phrases count their words) and how many words were left out."""
    kept: list[Item] = []
    used = dropped = 0
    for item in content:
        if dropped or used + len(item.tokens) > MAX_TOKENS:
            dropped += len(item.tokens)
            continue
        used += len(item.tokens)
        kept.append(item)
    return kept, dropped
