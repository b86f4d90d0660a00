"""Questions to the archive: free-text questions, explicit searches, latest articles, our own news.

Every answer carries a `PageRequest`, a small hashable value from which any other page of
the same answer can be produced (the Next/Previous buttons keep only that).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from difflib import get_close_matches
from typing import TypedDict

from bot.alerts.department_news import recent_warnings, warning_terms
from bot.alerts.outbox_rows import alert_stats, outbox_stats
from bot.alerts.subscriptions import news_query
from bot.errors import MediabotError, QueryError
from bot.runtime import Runtime
from bot.saved_queries.campaigns import count_campaign_matches
from bot.saved_queries.saved_query import CAMPAIGN
from bot.search.abbreviations import Abbreviations, abbreviations_for
from bot.search.broaden import WIDER_PERIOD, broader_query
from bot.search.engine import SearchEngine
from bot.search.plan import SearchPlan, count_matches, plan_query
from bot.search.query import ParsedQuery, Query, compile_query, parse
from bot.search.question import Question, understand
from bot.search.types import SearchHit, SearchPage
from bot.store import access as access_store
from bot.store import queries
from bot.store.sources import SourceStatus, source_statuses
from bot.textnorm import fold_vietnamese, nfc

MAX_PAGE_SIZE = 50
WARNINGS_FIRST, WARNINGS_DAYS = 3, 7  # /news opens with the newest warnings of the last week


class UnknownOutlet(MediabotError):
    """No monitored outlet has this id or name; str(err) is the name as typed."""


@dataclass(frozen=True)
class PageRequest:
    """Enough to produce any page of an answer again."""

    kind: str  # ask | search | latest | news
    text: str
    page_size: int


@dataclass(frozen=True)
class Answer:
    """One page of an answer, what was understood, and how to get the other pages."""

    page: SearchPage
    question: Question | None
    request: PageRequest
    period_start: datetime | None = None
    period_end: datetime | None = None
    # Nothing found: the question's words without the unit that matched least (bot.search.broaden).
    broader: Query | None = None
    # /news: recent warnings shown first (page 1 only), and the warning term of any hit that is one.
    warnings: tuple[SearchHit, ...] = ()
    warning_terms: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignCount:
    """How much a campaign was covered recently."""

    id: str
    name: str
    last_7d: int
    last_30d: int


class ArchiveService:
    """Read-only questions to the archive, each run on a reader thread."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(self.runtime.config.organization.tz))

    async def ask(self, text: str, *, page: int = 0, page_size: int = 5) -> Answer:
        """A question in Vietnamese or English: period, outlets and campaign understood; facets on."""
        request = PageRequest("ask", nfc(text or ""), _size(page_size))
        now = self._clock()
        return await self.runtime.read(lambda rt: self._ask(rt, request, _page(page), now))

    async def search(self, query: str, *, page: int = 0, page_size: int = 5) -> Answer:
        """The query language as typed; QueryError (user-presentable) when it means nothing."""
        request = PageRequest("search", nfc(query or ""), _size(page_size))
        now = self._clock()
        return await self.runtime.read(lambda rt: self._search(rt, request, _page(page), now))

    async def latest(self, outlet: str | None = None, *, page: int = 0, page_size: int = 5) -> Answer:
        """Newest articles, of one outlet (id or name, accents optional) or of all; UnknownOutlet."""
        return await self.runtime.read(lambda rt: self._latest(rt, outlet, _page(page), _size(page_size)))

    async def news(self, *, page: int = 0, page_size: int = 5) -> Answer:
        """Articles naming the organization (its name or an alias), newest first."""
        request = PageRequest("news", "", _size(page_size))
        return await self.runtime.read(lambda rt: self._news(rt, request, _page(page)))

    async def rerun(self, request: PageRequest, page: int) -> Answer:
        """Another page of an earlier answer."""
        if request.kind == "ask":
            return await self.ask(request.text, page=page, page_size=request.page_size)
        if request.kind == "search":
            return await self.search(request.text, page=page, page_size=request.page_size)
        if request.kind == "latest":
            return await self.latest(request.text or None, page=page, page_size=request.page_size)
        if request.kind == "news":
            return await self.news(page=page, page_size=request.page_size)
        raise ValueError(f"unknown page request kind {request.kind!r}")

    async def sources(self) -> list[SourceStatus]:
        """Monitored outlets with their health."""
        return await self.runtime.read(lambda rt: source_statuses(rt.reader()))

    async def campaigns(self) -> list[CampaignCount]:
        """Each configured campaign with its article counts over the last 7 and 30 days."""
        now = self._clock()
        return await self.runtime.read(lambda rt: self._campaign_counts(rt, now))

    async def stats(self) -> dict[str, int | str]:
        """Archive size and freshness, outlet health, users."""
        now_ts = int(self._clock().timestamp())

        def collect(rt: Runtime) -> dict[str, int | str]:
            conn = rt.reader()
            stats = queries.archive_stats(conn, now_ts)
            users = access_store.count_users(conn)
            stats["users_approved"] = users[access_store.APPROVED]
            stats["users_pending"] = users[access_store.PENDING]
            stats.update(alert_stats(outbox_stats(conn, now_ts)))
            return stats

        return await self.runtime.read(collect)

    # -- on the reader thread

    def _ask(self, rt: Runtime, request: PageRequest, page: int, now: datetime) -> Answer:
        outlets = queries.outlets(rt.reader())
        question = read_question(rt, request.text, now, outlets)
        check_sources(outlets, question.source_ids)
        engine = rt.engine()
        parsed, since = self._question_query(rt, engine, question)
        if (
            parsed is None
            and since is None
            and question.until is None
            and not (question.source_ids or question.campaign_id)
        ):
            raise QueryError(_NOTHING_ASKED, "empty")  # "?", "cảm ơn": not a request for the whole archive
        plan = plan_filters(parsed, since=since, until=question.until, sources=question.source_ids)
        plan = campaign_filter(plan, question.campaign_id)
        result = engine.search_plan(plan, **_window(request, page), with_facets=True)
        broader = self._broader(rt, question) if result.total == 0 else None
        return Answer(result, question, request, question.since, question.until, broader)

    def _words(self, rt: Runtime, question: Question) -> ParsedQuery | None:
        """The question's own words compiled; None when it has none (QueryError: exclusions only)."""
        if not question.query.has_words:
            return None
        return compile_query(Query(question.query.groups, question.query.excluded), _abbreviations(rt))

    def _broader(self, rt: Runtime, question: Question) -> Query | None:
        """When no wider period or outlet-free question is there to suggest: drop the rarest words."""
        if question.source_ids or WIDER_PERIOD.get(question.period or ""):
            return None
        conn, abbreviations = rt.reader(), _abbreviations(rt)
        return broader_query(
            question.query, lambda q: count_matches(conn, plan_query(compile_query(q, abbreviations))), abbreviations
        )

    def _question_query(
        self, rt: Runtime, engine: SearchEngine, question: Question
    ) -> tuple[ParsedQuery | None, datetime | None]:
        """The question's words (None: no words, newest first) and period; a campaign is a filter."""
        words = self._words(rt, question)
        return words, question.since

    def _search(self, rt: Runtime, request: PageRequest, page: int, now: datetime) -> Answer:
        engine = rt.engine()
        query = parse(request.text, now=now, tz=rt.config.organization.tz)
        check_sources(queries.outlets(rt.reader()), query.sources)
        plan = plan_query(compile_query(query, _abbreviations(rt)), until=query.until)
        result = engine.search_plan(plan, **_window(request, page), with_facets=True)
        start = datetime.fromtimestamp(plan.since_ts, engine.tz) if plan.since_ts is not None else None
        return Answer(result, None, request, start, None)

    def _latest(self, rt: Runtime, outlet: str | None, page: int, page_size: int) -> Answer:
        source_id = resolve_outlet(queries.outlets(rt.reader()), outlet) if outlet and outlet.strip() else None
        request = PageRequest("latest", source_id or "", page_size)
        sources = (source_id,) if source_id else ()
        return Answer(rt.engine().latest(**_window(request, page), sources=sources), None, request)

    def _news(self, rt: Runtime, request: PageRequest, page: int) -> Answer:
        engine = rt.engine()
        plan = engine.plan(organization_query(rt))
        found = engine.search_plan(plan, **_window(request, page), newest_first=True)
        since = self._clock() - timedelta(days=WARNINGS_DAYS)
        first = engine.articles(recent_warnings(rt.reader(), since.timestamp(), WARNINGS_FIRST)) if page == 0 else ()
        terms = warning_terms(rt.reader(), [h.id for h in (*first, *found.hits)])
        shown = {h.id for h in first}
        found = replace(found, hits=tuple(h for h in found.hits if h.id not in shown))
        return Answer(found, None, request, warnings=first, warning_terms=terms)

    def _campaign_counts(self, rt: Runtime, now: datetime) -> list[CampaignCount]:
        """Counted from the stored matches (a campaign's `since` was applied when they were made)."""
        conn = rt.reader()
        return [
            CampaignCount(
                campaign.id,
                campaign.name,
                count_campaign_matches(conn, campaign.id, now - timedelta(days=7)),
                count_campaign_matches(conn, campaign.id, now - timedelta(days=30)),
            )
            for campaign in rt.registry.active(CAMPAIGN)
        ]


def read_question(
    rt: Runtime, text: str, now: datetime, outlets: Sequence[queries.OutletRow] | None = None
) -> Question:
    """A chat question read with the configured outlets, campaigns and organization names (reader thread)."""
    config = rt.config
    known = queries.outlets(rt.reader()) if outlets is None else outlets
    return understand(
        text,
        now=now,
        outlets=[(o.id, o.name) for o in known if o.active],
        campaigns=[(c.id, c.name) for c in config.campaigns],
        aliases=(*config.organization.aliases, config.organization.name),
    )


def campaign_filter(plan: SearchPlan, campaign_id: str | None) -> SearchPlan:
    """Only the campaign's stored matches: alone, its newest; with words, the words among them."""
    return plan if campaign_id is None else replace(plan, campaign=campaign_id)


def plan_filters(
    parsed: ParsedQuery | None, *, since: datetime | None, until: datetime | None, sources: tuple[str, ...]
) -> SearchPlan:
    """The engine's plan for `parsed` and the question's filters."""
    return plan_query(parsed, since=since, until=until, sources=sources)


def organization_query(rt: Runtime) -> str:
    """`"name" OR "alias" OR …`: the organization under any of its names (/news and news subscriptions)."""
    return news_query(rt.config.organization)


def _fold(text: str) -> str:
    return " ".join(fold_vietnamese(nfc(text)).casefold().split())


def _abbreviations(rt: Runtime) -> Abbreviations:
    return abbreviations_for(rt.config.organization.abbreviations)


_NOTHING_ASKED = "Nothing to search for: ask about something, e.g. chuyển đổi số tuần này"


def check_sources(outlets: Sequence[queries.OutletRow], source_ids: Sequence[str]) -> None:
    """QueryError naming the first `source:` id no outlet has, with the closest known ids."""
    known = {o.id for o in outlets}
    for source_id in source_ids:
        if source_id not in known:
            raise _unknown_source(source_id, outlets)


def _unknown_source(source_id: str, outlets: Sequence[queries.OutletRow]) -> QueryError:
    spellings: dict[str, str] = {}
    for outlet in (o for o in outlets if o.active):
        name = _fold(outlet.name)
        spellings.update({name: outlet.id, name.replace(" ", ""): outlet.id, outlet.id: outlet.id})
    close = get_close_matches(_fold(source_id), list(spellings), n=8, cutoff=0.6)
    ids = list(dict.fromkeys(spellings[c] for c in close))[:3]
    if not ids:
        message = f"source:{source_id} is not a monitored outlet; `sources` lists them"
        return QueryError(message, "unknown_source_none", value=source_id)
    hint = ", ".join(f"source:{i}" for i in ids)
    message = f"source:{source_id} is not a monitored outlet; did you mean {hint}?"
    return QueryError(message, "unknown_source", value=source_id, suggestions=hint)


def resolve_outlet(outlets: list[queries.OutletRow], typed: str) -> str:
    """The id of the outlet named `typed` (id, or name without regard to accents and case)."""
    wanted = _fold(typed)
    if not wanted:
        raise UnknownOutlet(typed)
    for exact in (True, False):
        found = [
            o
            for o in outlets
            if o.id == wanted or _fold(o.name) == wanted or (not exact and f" {wanted} " in f" {_fold(o.name)} ")
        ]
        active = [o for o in found if o.active] or found
        if len(active) == 1:
            return active[0].id
        if len(active) > 1 and exact:
            break  # two outlets share a name: a part of it will not tell them apart either
    raise UnknownOutlet(typed)


def _page(page: int) -> int:
    return max(0, int(page))


def _size(page_size: int) -> int:
    return min(max(1, int(page_size)), MAX_PAGE_SIZE)


class _Window(TypedDict):
    limit: int
    offset: int


def _window(request: PageRequest, page: int) -> _Window:
    return {"limit": request.page_size, "offset": page * request.page_size}
