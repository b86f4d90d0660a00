"""A broader query to suggest when a question found nothing: one whole unit of words left out.

Vietnamese words are often two or more syllables ("Phú Thọ", "giá vàng") and nothing in
the text marks where a word ends, so a unit is what can be dropped without cutting a word:
a quoted phrase, an OR-group, a known abbreviation or its expansion, and a run of single
syllables that the archive shows together. Two neighbouring syllables are split only on
evidence: both occur, and side by side in under a tenth of the articles of the rarer one
("vàng | Phú" splits, "giá vàng" and "Phú Thọ" do not; with no evidence nothing splits).
The unit with the fewest matches is the one left out: it is what kept the others from
meeting.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.search.abbreviations import Abbreviations, folded_key
from bot.search.query import Query, Term

# A question that found nothing in a short period is asked again over a longer one first.
WIDER_PERIOD = {
    "period.today": "period.this_week",
    "period.yesterday": "period.this_week",
    "period.last_24_hours": "period.this_week",
    "period.this_week": "period.this_month",
    "period.last_week": "period.this_month",
    "period.this_month": "period.this_year",
    "period.last_month": "period.this_year",
}
MAX_GROUPS = 8  # each unit costs a count; longer questions get no suggestion of this kind
_TOGETHER = 10  # "side by side in under 1/_TOGETHER of the rarer one's articles" splits


def broader_query(query: Query, count: Callable[[Query], int], abbreviations: Abbreviations) -> Query | None:
    """`query`'s words without its least-matched unit; None when it has fewer than two units."""
    if not 2 <= len(query.groups) <= MAX_GROUPS:
        return None
    counted = _cached(count)
    units = _units(query, counted, abbreviations)
    if len(units) < 2:
        return None
    rarest = min(units, key=lambda u: (counted(Query(query.groups[u[0] : u[1]])), -u[0]))
    kept = query.groups[: rarest[0]] + query.groups[rarest[1] :]
    return Query(kept, query.excluded)


def _cached(count: Callable[[Query], int]) -> Callable[[Query], int]:
    seen: dict[Query, int] = {}

    def counted(query: Query) -> int:
        if query not in seen:
            seen[query] = count(query)
        return seen[query]

    return counted


def _plain(group: tuple[Term, ...]) -> bool:
    return len(group) == 1 and not group[0].phrase and len(group[0].tokens) == 1


def _units(query: Query, count: Callable[[Query], int], abbreviations: Abbreviations) -> list[tuple[int, int]]:
    """[start, end) ranges of group indices that may be dropped as a whole."""
    groups = query.groups
    words = [folded_key(g[0].tokens) if len(g) == 1 and not g[0].phrase else None for g in groups]
    units: list[tuple[int, int, bool]] = []  # start, end, a known abbreviation or expansion
    i = 0
    while i < len(groups):
        end = i + max(1, abbreviations.longest_run(words, i))
        named = end - i > 1 or bool(abbreviations.other_forms(groups[i][0].tokens))
        if units and not (named or units[-1][2]) and _joins(groups[units[-1][1] - 1], groups[i], count):
            units[-1] = (units[-1][0], end, False)
        else:
            units.append((i, end, named))
        i = end
    return [(start, end) for start, end, _ in units]


def _joins(left: tuple[Term, ...], right: tuple[Term, ...], count: Callable[[Query], int]) -> bool:
    """Whether `right` continues the word `left` ends: no evidence that they are apart."""
    if not (_plain(left) and _plain(right)):
        return False
    apart = [count(Query((g,))) for g in (left, right)]
    if min(apart) == 0:
        return True
    together = count(Query(((Term(left[0].tokens + right[0].tokens, phrase=True),),)))
    return together * _TOGETHER >= min(apart)
