"""The percolator: every saved query matched against newly stored articles in memory, by the FTS rules.

One FTS query per saved query costs ~0.2 ms, so 10,000 subscriptions would cost ~2 s per
stored batch. The percolator is built once per set of saved queries (`percolator_for`
keeps the last few sets, by identity: the registry swaps whole tuples) and matches a batch
by set algebra over the batch's own tokens, with exactly the search's rules, because it is
built from the same compiled form as the MATCH string (`bot.search.query.CompiledWords`)
and sees the same tokens FTS5 indexed (`bot.saved_queries.unicode61`, the rows read back
from `articles_fts` inside the store transaction):

- a phrase matches consecutive tokens within one column: title or body for a term typed
  with accents, any of the four (exact and folded) for a term typed without;
- a unit (an OR-group, an abbreviation's forms) matches when any alternative does; every
  unit must match and no exclusion may; then outlet, `since`/`until` on published_ts, and
  the campaign filter (the `campaign_articles` rows written earlier in the transaction).

Each saved query is indexed under one required key token per alternative of its rarest
unit (rarity measured on a sample of recent articles), so a batch only evaluates the
queries whose key occurs in it; queries without words are matched by their filters.
The `since:` rowid bound of the SQL plan is implied by the clamp of published_at to
fetch time (bot.search.plan) and is not needed here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.saved_queries.saved_query import SavedQuery
from bot.saved_queries.unicode61 import token_text
from bot.search.query import Phrase

FREQUENCY_SAMPLE = 500  # recent articles whose tokens rank a query's units by rarity
_CACHED = 4  # percolators kept: one per kind of saved query, plus a spare during a swap


@dataclass(frozen=True, slots=True)
class NewArticles:
    """Newly stored articles as FTS5 indexed them: folded tokens per column, outlet, publication time."""

    ids: tuple[int, ...]
    columns: Mapping[int, tuple[str, str, str, str]]  # " tokens " of title, body, title_fold, body_fold
    sources: Mapping[int, str]
    published: Mapping[int, int]
    campaigns: Mapping[str, frozenset[int]]  # campaign id → which of the ids it tagged


def read_new_articles(conn: sqlite3.Connection, new_ids: Sequence[int], *, campaigns: bool = True) -> NewArticles:
    """Read the new articles back from the index inside the store transaction (and their campaign tags)."""
    wanted = set(new_ids)
    if not wanted:
        return NewArticles((), {}, {}, {}, {})
    low, high = min(wanted), max(wanted)
    columns, sources, published = _indexed_text(conn, tuple(new_ids), wanted, low, high)
    tags: dict[str, set[int]] = {}
    if campaigns:
        # Read afresh for every kind: the campaign recorder writes these rows earlier in the same batch.
        sql = "SELECT campaign_id, article_id FROM campaign_articles WHERE article_id BETWEEN ? AND ?"
        for campaign_id, article_id in conn.execute(sql, (low, high)):
            if article_id in wanted:
                tags.setdefault(campaign_id, set()).add(article_id)
    ids = tuple(i for i in new_ids if i in columns)
    return NewArticles(ids, columns, sources, published, {c: frozenset(s) for c, s in tags.items()})


_Text = tuple[dict[int, tuple[str, str, str, str]], dict[int, str], dict[int, int]]
# The batch read back, for the next kind's recorder in the same after-insert hook (campaigns,
# subscriptions, department news each match the same new articles): reading and tokenizing them
# is most of a recorder's cost. The registry forgets it when the hook ends (`forget_batch`), so it
# never outlives the transaction that wrote those rows. Used on the writer thread only.
_last_text: list[tuple[sqlite3.Connection, tuple[int, ...], _Text]] = []


def forget_batch() -> None:
    """Drop the batch read back by the recorders of one after-insert hook."""
    _last_text.clear()


def _indexed_text(conn: sqlite3.Connection, key: tuple[int, ...], wanted: set[int], low: int, high: int) -> _Text:
    if _last_text and _last_text[0][0] is conn and _last_text[0][1] == key:
        return _last_text[0][2]
    columns: dict[int, tuple[str, str, str, str]] = {}
    sources: dict[int, str] = {}
    published: dict[int, int] = {}
    # The ids of one transaction are consecutive: one rowid range, no per-id lookups.
    rows = conn.execute(
        """SELECT f.rowid, f.title, f.body, f.title_fold, f.body_fold, a.source_id, a.published_ts
           FROM articles_fts f JOIN articles a ON a.id = f.rowid WHERE f.rowid BETWEEN ? AND ?""",
        (low, high),
    )
    for article_id, title, body, title_fold, body_fold, source_id, published_ts in rows:
        if article_id in wanted:
            columns[article_id] = (_spaced(title), _spaced(body), _spaced(title_fold), _spaced(body_fold))
            sources[article_id] = source_id
            published[article_id] = published_ts
    _last_text[:] = [(conn, key, (columns, sources, published))]
    return columns, sources, published


def _spaced(text: str | None) -> str:
    # Spaces around every token: a phrase is then a substring search for " a b ".
    return f" {token_text(text or '')} "


@dataclass(frozen=True, slots=True)
class _Phrase:
    slot: int  # its place in a batch's memo
    text: str  # folded tokens joined by spaces, as in NewArticles.columns
    tokens: tuple[str, ...]
    exact_only: bool
    rarity: tuple[int, int]  # of its rarest token: (occurrences in the sample, -length); lower is rarer
    key: str  # that token


@dataclass(frozen=True, slots=True)
class _Unit:
    slot: int
    alternatives: tuple[tuple[_Phrase, ...], ...]  # any of them; each: all of its phrases
    keys: tuple[str, ...]  # per alternative, a token every article it matches holds
    cost: tuple[int, int]  # how often its keys occur (fewer first); unknown rarity: longer keys first


@dataclass(frozen=True, slots=True)
class _Matcher:
    """One saved query, ready to evaluate: units rarest first, exclusions, filters."""

    id: str
    units: tuple[_Unit, ...]
    excluded: tuple[_Phrase, ...]
    sources: frozenset[str] | None
    since_ts: float | None
    until_ts: float | None
    campaign: str | None


def _bits(mask: int) -> Iterator[int]:
    """Positions of the set bits, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class _BatchIndex:
    """The batch as bit masks (bit i: the i-th new article): per token some query uses, per outlet, per campaign.

    Python integers AND, OR and AND-NOT a thousand articles in well under a microsecond, many
    times faster than sets of ids; phrases and units shared by several queries are computed once.
    """

    def __init__(self, batch: NewArticles, vocabulary: frozenset[str], phrases: int, units: int) -> None:
        self.batch = batch
        self.all = (1 << len(batch.ids)) - 1
        self.exact: dict[str, int] = {}
        self.anywhere: dict[str, int] = {}
        self.sources: dict[str, int] = {}
        for position, article_id in enumerate(batch.ids):
            bit = 1 << position
            title, body, title_fold, body_fold = batch.columns[article_id]
            exact = vocabulary.intersection((title + body).split(" "))
            for token in exact:
                self.exact[token] = self.exact.get(token, 0) | bit
            for token in exact.union(vocabulary.intersection((title_fold + body_fold).split(" "))):
                self.anywhere[token] = self.anywhere.get(token, 0) | bit
            source = batch.sources[article_id]
            self.sources[source] = self.sources.get(source, 0) | bit
        self.campaigns = {c: self._mask(ids) for c, ids in batch.campaigns.items()}
        self._phrases: list[int | None] = [None] * phrases
        self._units: list[int | None] = [None] * units
        self._outlets: dict[frozenset[str], int] = {}

    def _mask(self, ids: AbstractSet[int]) -> int:
        return sum(1 << position for position, article_id in enumerate(self.batch.ids) if article_id in ids)

    def ids(self, mask: int) -> list[int]:
        """The article ids of a mask, in the batch's order."""
        return [self.batch.ids[position] for position in _bits(mask)]

    def phrase(self, phrase: _Phrase) -> int:
        """The articles where `phrase` occurs in one of its columns."""
        found = self._phrases[phrase.slot]
        if found is None:
            found = self._phrases[phrase.slot] = self._phrase(phrase)
        return found

    def _phrase(self, phrase: _Phrase) -> int:
        index = self.exact if phrase.exact_only else self.anywhere
        candidates = self.all
        for token in phrase.tokens:
            candidates &= index.get(token, 0)
        if len(phrase.tokens) == 1 or not candidates:
            return candidates
        needle = f" {phrase.text} "
        columns = 2 if phrase.exact_only else 4  # title, body (then title_fold, body_fold)
        found = 0
        for position in _bits(candidates):
            if any(needle in column for column in self.batch.columns[self.batch.ids[position]][:columns]):
                found |= 1 << position
        return found

    def unit(self, unit: _Unit) -> int:
        """The articles matching any alternative of `unit` (all of its phrases)."""
        found = self._units[unit.slot]
        if found is None:
            found = 0
            for alternative in unit.alternatives:
                ids = self.all
                for phrase in alternative:
                    ids &= self.phrase(phrase)
                    if not ids:
                        break
                found |= ids
            self._units[unit.slot] = found
        return found

    def outlets(self, sources: frozenset[str]) -> int:
        """The articles of any of these outlets."""
        found = self._outlets.get(sources)
        if found is None:
            found = self._outlets[sources] = sum(self.sources.get(s, 0) for s in sources)  # disjoint masks
        return found

    def published_within(self, mask: int, since_ts: float | None, until_ts: float | None) -> int:
        """The articles of `mask` published in [since_ts, until_ts)."""
        published = self.batch.published
        for position in _bits(mask):
            ts = published[self.batch.ids[position]]
            if (since_ts is not None and ts < since_ts) or (until_ts is not None and ts >= until_ts):
                mask &= ~(1 << position)
        return mask


def _evaluate(matcher: _Matcher, index: _BatchIndex) -> int:
    """The articles of the batch that `matcher` matches, as a mask."""
    result = index.all
    for unit in matcher.units:  # rarest first: most queries stop at the first
        result &= index.unit(unit)
        if not result:
            return 0
    for phrase in matcher.excluded:
        result &= ~index.phrase(phrase)
        if not result:
            return 0
    if matcher.sources is not None:
        result &= index.outlets(matcher.sources)
    if matcher.campaign is not None:
        result &= index.campaigns.get(matcher.campaign, 0)
    if result and (matcher.since_ts is not None or matcher.until_ts is not None):
        result = index.published_within(result, matcher.since_ts, matcher.until_ts)
    return result


class Percolator:
    """A set of saved queries compiled for in-memory matching of newly stored articles."""

    def __init__(self, saved_queries: Iterable[SavedQuery], frequencies: Mapping[str, int] | None = None) -> None:
        compiler = _Compiler(frequencies or {})
        self._matchers: list[_Matcher] = []
        self._by_key: dict[str, list[int]] = {}
        self._unkeyed: list[int] = []  # no words: every batch is a candidate
        for saved_query in saved_queries:
            matcher = compiler.compile(saved_query)
            if matcher is None:
                continue
            position = len(self._matchers)
            self._matchers.append(matcher)
            if not matcher.units:
                self._unkeyed.append(position)
            for key in dict.fromkeys(matcher.units[0].keys) if matcher.units else ():
                self._by_key.setdefault(key, []).append(position)
        self._vocabulary = frozenset(compiler.vocabulary)
        self._sizes = (len(compiler.phrases), len(compiler.units))
        self.needs_campaigns = any(m.campaign is not None for m in self._matchers)

    def __len__(self) -> int:
        return len(self._matchers)

    def match(self, batch: NewArticles) -> dict[str, list[int]]:
        """Saved query id → the ids of the batch it matches (in the batch's order); matching none: left out."""
        if not batch.ids:
            return {}
        index = _BatchIndex(batch, self._vocabulary, *self._sizes)
        candidates = set(self._unkeyed)
        for key in index.anywhere.keys() & self._by_key.keys():
            candidates.update(self._by_key[key])
        out: dict[str, list[int]] = {}
        for position in sorted(candidates):
            matcher = self._matchers[position]
            found = _evaluate(matcher, index)
            if found:
                out[matcher.id] = index.ids(found)
        return out


class _Compiler:
    """Saved queries → matchers; phrases and units shared between queries get one memo slot."""

    def __init__(self, frequencies: Mapping[str, int]) -> None:
        self.frequencies = frequencies
        self.vocabulary: set[str] = set()
        self.phrases: dict[tuple[str, bool], _Phrase] = {}
        self.units: dict[tuple[tuple[int, ...], ...], _Unit] = {}

    def compile(self, saved_query: SavedQuery) -> _Matcher | None:
        """The matcher of one saved query; None when nothing can ever match it."""
        plan = saved_query.plan
        if plan.sources == ():
            return None  # disjoint outlet filters
        units: list[_Unit] = []
        excluded: tuple[_Phrase, ...] = ()
        if plan.words is not None:
            for alternatives in plan.words.required:
                unit = self._unit(alternatives)
                if unit is None:
                    return None  # FTS5 matches an empty phrase nowhere, so this unit never matches
                units.append(unit)
            excluded = tuple(p for p in map(self._phrase, plan.words.excluded) if p.tokens)
        units.sort(key=lambda u: u.cost)
        sources = None if plan.sources is None else frozenset(plan.sources)
        return _Matcher(saved_query.id, tuple(units), excluded, sources, plan.since_ts, plan.until_ts, plan.campaign)

    def _phrase(self, phrase: Phrase) -> _Phrase:
        found = self.phrases.get((phrase.text, phrase.exact_only))
        if found is None:
            text = token_text(phrase.text)  # FTS5 tokenizes the phrase text as it tokenized the articles
            tokens = tuple(text.split(" ")) if text else ()
            rarity, key = min(((self.frequencies.get(t, 0), -len(t)), t) for t in tokens) if tokens else ((0, 0), "")
            found = _Phrase(len(self.phrases), text, tokens, phrase.exact_only, rarity, key)
            self.phrases[(phrase.text, phrase.exact_only)] = found
            self.vocabulary.update(tokens)
        return found

    def _unit(self, alternatives: Sequence[Sequence[Phrase]]) -> _Unit | None:
        compiled = [tuple(map(self._phrase, alternative)) for alternative in alternatives]
        usable = tuple(alt for alt in compiled if all(p.tokens for p in alt))
        if not usable:
            return None
        shape = tuple(tuple(p.slot for p in alt) for alt in usable)
        found = self.units.get(shape)
        if found is None:
            keys = [min(alt, key=lambda p: p.rarity) for alt in usable]
            cost = (sum(p.rarity[0] for p in keys), max(p.rarity[1] for p in keys))
            found = self.units[shape] = _Unit(len(self.units), usable, tuple(p.key for p in keys), cost)
        return found


def sample_frequencies(conn: sqlite3.Connection, limit: int = FREQUENCY_SAMPLE) -> Counter[str]:
    """In how many of the newest `limit` articles each token occurs (any column)."""
    counts: Counter[str] = Counter()
    for row in conn.execute(
        "SELECT title, body, title_fold, body_fold FROM articles_fts ORDER BY rowid DESC LIMIT ?", (limit,)
    ):
        counts.update(set(" ".join(token_text(text or "") for text in row).split(" ")))
    return counts


_lock = threading.Lock()
_cache: list[tuple[Sequence[SavedQuery], Percolator]] = []


def percolator_for(conn: sqlite3.Connection, saved_queries: Sequence[SavedQuery]) -> Percolator:
    """The percolator of this set of saved queries, built on first use and kept for the next batches."""
    with _lock:
        for cached, percolator in _cache:
            # Identity first (the registry's own tuple); else element by element, which
            # compares the same SavedQuery objects by identity too: no hashing of plans.
            if cached is saved_queries or (len(cached) == len(saved_queries) and tuple(cached) == tuple(saved_queries)):
                return percolator
    percolator = Percolator(saved_queries, sample_frequencies(conn))
    with _lock:
        _cache.insert(0, (saved_queries, percolator))
        del _cache[_CACHED:]
    return percolator


def match_new_articles(
    conn: sqlite3.Connection, percolator: Percolator, new_ids: Sequence[int]
) -> dict[str, list[int]]:
    """Inside the store transaction: saved query id → which of `new_ids` it matches (in their order)."""
    return percolator.match(read_new_articles(conn, new_ids, campaigns=percolator.needs_campaigns))
