"""One search engine (SQLite FTS5) behind the CLI, the bot, campaigns and subscriptions.

Costs measured at 1M articles (design.md) shape the choices here (the SQL of matching
and filtering lives in bot.search.plan):
- bm25 scores every match, so when a query matches more than `rank_window` articles
  only the most recent `rank_window` matches are ranked, the rest follow newest first;
- the total is a plain count (or, when every match fits in the window, the length of the
  one scoring pass), never a ranked query;
- article rows are read for the page only: ranking and the recency tie-break stay in the
  FTS table unless an outlet or date filter needs the join.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.search.abbreviations import DEFAULT_ABBREVIATIONS, Abbreviations
from bot.search.facets import SourceMap
from bot.search.plan import (
    CHUNK,
    SearchPlan,
    article_filters,
    count_matches,
    first_id_since,
    id_column,
    matching_ids,
    matching_sql,
    plan_query,
)
from bot.search.query import ParsedQuery, parse_query
from bot.search.snippets import marked_snippet, plain_snippet
from bot.search.types import MARK_END, MARK_START, SearchHit, SearchPage

# Exact columns weigh 10, folded ones 1: every accent-exact match ranks above every
# folded-only one (0 inversions in 4.7M measured pairs).
RANK = "bm25(articles_fts, 10.0, 10.0, 1.0, 1.0)"
# bm25 costs a full pass over each phrase's matches (its IDF) plus ~5 µs per ranked match
# at 1M rows; measured p50 for a phrase in 6% of rows: 40 ms ranking 5,000, 31 ms ranking 2,000.
RANK_WINDOW = 2_000
# Runs the exact-count pass of large result sets beside the ranking pass (see _unfiltered_page).
_SIDE_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-side")
Facets = tuple[tuple[str, str, int], ...]


_HIT_COLUMNS = """a.id, a.title, a.url, a.source_id, coalesce(s.name, a.source_id), a.published_ts,
                  a.summary, a.story_id, a.undated"""


class SearchEngine:
    """Search, newest-first listings, counts and id matching over one SQLite connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        tz: ZoneInfo,
        *,
        clock: Callable[[], datetime] | None = None,
        rank_window: int = RANK_WINDOW,
        source_map: SourceMap | None = None,
        side_conn: sqlite3.Connection | None = None,
        abbreviations: Abbreviations = DEFAULT_ABBREVIATIONS,
    ) -> None:
        self.conn = conn
        self.tz = tz
        self._clock = clock or (lambda: datetime.now(UTC))
        self.rank_window = rank_window
        self.source_map = source_map
        # A second connection to the same database for the pass that can run in parallel;
        # only this engine's thread uses it, and it waits for the result before returning.
        self.side_conn = side_conn
        self.abbreviations = abbreviations  # the organization's table (feeds.yaml) on top of the defaults

    def close(self) -> None:
        """Close the engine's connections (for engines made by open_engine)."""
        self.conn.close()
        if self.side_conn is not None:
            self.side_conn.close()

    def parse(self, query: str) -> ParsedQuery:
        """Compile a query against the engine's clock and timezone (QueryError when meaningless)."""
        return parse_query(query, now=self._clock(), tz=self.tz, abbreviations=self.abbreviations)

    def plan(
        self,
        query: str | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] = (),
    ) -> SearchPlan:
        """Parse `query` (None: filters only) and AND it with the given filters."""
        parsed = self.parse(query) if query is not None else None
        return plan_query(parsed, since=since, until=until, sources=sources)

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] = (),
        with_facets: bool = False,
    ) -> SearchPage:
        """Best matches first (bm25, then newest); `total` is exact."""
        plan = self.plan(query, since=since, until=until, sources=sources)
        return self.search_plan(plan, limit=limit, offset=offset, with_facets=with_facets)

    def search_plan(
        self,
        plan: SearchPlan,
        *,
        limit: int = 10,
        offset: int = 0,
        with_facets: bool = False,
        newest_first: bool = False,
    ) -> SearchPage:
        """Run an already planned search (`newest_first`: no ranking, latest matches first)."""
        limit, offset = max(0, limit), max(0, offset)
        if plan.match is not None and plan.sources and self.source_map is not None and not newest_first:
            return self._outlet_page(plan, limit, offset, with_facets)
        total: int | None = None
        facets: tuple[tuple[str, str, int], ...] = ()
        if plan.match is not None and not plan.filtered and not newest_first:
            total, ids, facets = self._unfiltered_page(plan, limit, offset, with_facets)
        else:
            if with_facets and plan.match is not None and self.source_map is not None:
                total, facets = self._total_and_facets(plan)
            total = count_matches(self.conn, plan) if total is None else total
            if plan.match is None or newest_first:
                ids = self._newest_ids(plan, limit, offset)
            else:
                ids = self._ranked_page(plan, total, limit, offset)
        if with_facets and total and not facets:
            facets = self._top_sources(plan)
        return SearchPage(self._hits(plan, ids), total, offset, limit, facets)

    def _total_and_facets(
        self, plan: SearchPlan, conn: sqlite3.Connection | None = None
    ) -> tuple[int, tuple[tuple[str, str, int], ...]]:
        """One pass over the matches gives the exact total and the top outlets."""
        assert self.source_map is not None
        conn = conn or self.conn
        self.source_map.refresh(conn)
        base, params = matching_sql(conn, plan, join=plan.filtered)
        ids = [row[0] for row in conn.execute(f"SELECT {id_column(plan)} {base}", params)]
        return len(ids), self._facets_of(ids, conn)

    def _facets_of(
        self, ids: Sequence[int], conn: sqlite3.Connection | None = None
    ) -> tuple[tuple[str, str, int], ...]:
        """Top three outlets of these article ids, with their names."""
        assert self.source_map is not None
        top = sorted(self.source_map.count(ids).items(), key=lambda item: (-item[1], item[0]))[:3]
        if not top:
            return ()
        names = dict(
            (conn or self.conn)
            .execute(f"SELECT id, name FROM sources WHERE id IN ({','.join('?' * len(top))})", [s for s, _ in top])
            .fetchall()
        )
        return tuple((source, names.get(source, source), n) for source, n in top)

    def _outlet_page(self, plan: SearchPlan, limit: int, offset: int, with_facets: bool) -> SearchPage:
        """Ranked search within some outlets without joining every match to its article row.

        A common word in one outlet joined ~100,000 matches to check their outlet (~250 ms at
        1M articles); one FTS pass plus the in-memory outlet map finds the outlet's matches.
        """
        ids = self._outlet_matches(plan)
        page = self._rank_ids(plan, ids, limit, offset)
        facets = self._facets_of(ids) if with_facets and ids else ()
        return SearchPage(self._hits(plan, page), len(ids), offset, limit, facets)

    def _outlet_matches(self, plan: SearchPlan) -> list[int]:
        """Ascending ids of the matches in the plan's outlets and period."""
        assert self.source_map is not None and plan.sources
        self.source_map.refresh(self.conn)
        sql = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
        params: list[object] = [plan.match]
        if plan.since_ts is not None:
            sql += " AND rowid >= ?"
            params.append(first_id_since(self.conn, plan.since_ts))
        ids = self.source_map.select([row[0] for row in self.conn.execute(sql, params)], plan.sources)
        if plan.since_ts is None and plan.until_ts is None and plan.campaign is None:
            return ids
        clauses, bounds = article_filters(replace(plan, words=None, sources=None))
        kept: list[int] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            kept += [
                row[0]
                for row in self.conn.execute(
                    f"SELECT a.id FROM articles a WHERE a.id IN ({','.join('?' * len(chunk))}) AND "
                    + " AND ".join(clauses),
                    [*chunk, *bounds],
                )
            ]
        return sorted(kept)

    def _rank_ids(self, plan: SearchPlan, ids: list[int], limit: int, offset: int) -> list[int]:
        """Page of `ids` (ascending): the newest `rank_window` by bm25 then recency, older ones newest first."""
        window = ids[-self.rank_window :]
        ranked: list[int] = []
        if window and offset < len(window):
            # `+rowid` keeps the list away from FTS5, which would look each id up separately.
            scored = self.conn.execute(
                f"""SELECT rowid, {RANK} FROM articles_fts WHERE articles_fts MATCH ?
                    AND rowid BETWEEN ? AND ? AND +rowid IN (SELECT value FROM json_each(?))""",
                [plan.match, window[0], window[-1], json.dumps(window)],
            ).fetchall()
            ranked = self._by_score_then_recency(scored, offset, limit)[offset : offset + limit]
        rest = limit - len(ranked)
        if rest <= 0:
            return ranked
        older_end = len(ids) - len(window) - max(0, offset - len(window))
        return ranked + ids[max(0, older_end - rest) : max(0, older_end)][::-1]

    def latest(
        self,
        *,
        limit: int = 10,
        offset: int = 0,
        sources: Sequence[str] = (),
        since: datetime | None = None,
    ) -> SearchPage:
        """Newest articles first, optionally from some outlets or after a moment."""
        plan = plan_query(None, since=since, sources=sources)
        return self.search_plan(plan, limit=limit, offset=offset)

    def count(
        self,
        query: str | None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] = (),
    ) -> int:
        """Number of articles matching the query (None: all articles) and filters."""
        return count_matches(self.conn, self.plan(query, since=since, until=until, sources=sources))

    def match_ids(self, query: str, ids: Sequence[int]) -> list[int]:
        """Which of these article ids match `query` (safe inside the store transaction)."""
        return matching_ids(self.conn, self.plan(query), ids)

    def _newest_ids(self, plan: SearchPlan, limit: int, offset: int) -> list[int]:
        if plan.sources == ():
            return []
        base, params = matching_sql(self.conn, plan)
        # The undated backlog of a feed's first fetch has no known time (bot.store.articles):
        # it goes below every article whose time is known, so adding an outlet whose feed
        # gives no dates does not bury today's news under its archive. Index: articles_newest.
        order = "ORDER BY (a.undated < 2) DESC, a.published_ts DESC, a.id DESC"
        sql = f"SELECT a.id {base} {order} LIMIT ? OFFSET ?"
        return [row[0] for row in self.conn.execute(sql, [*params, limit, offset])]

    def _unfiltered_page(
        self, plan: SearchPlan, limit: int, offset: int, with_facets: bool
    ) -> tuple[int, list[int], Facets]:
        """(total, page, facets) ranked in the FTS table alone, without a join per match.

        One query walks the matches newest first, scoring them, and stops after the window:
        it yields the window's scores and tells whether there are more matches. When there
        are not, it also gave the total and the outlets. When there are, the exact total needs
        a full pass of its own; it runs on the side connection meanwhile, so a common phrase
        costs about one pass of wall time instead of three (measured at 1M: p50 37 → 17 ms).
        """
        side = self._start_side_pass(plan, with_facets)
        try:
            window = self._scored_window(plan)
        except BaseException:
            self._abandon(side)
            raise
        cut = len(window) > self.rank_window
        cutoff = window[self.rank_window - 1][0] if cut else None  # oldest id in the window
        if cut:
            window = window[: self.rank_window]
            total, facets = side.result() if side else self._side_pass(plan, with_facets, self.conn)
        else:
            self._abandon(side)  # not needed: the window holds every match
            total, facets = len(window), self._window_facets(window, with_facets)
        ranked = self._by_score_then_recency(window, offset, limit)
        ids = ranked[offset : offset + limit]
        rest = limit - len(ids)
        if cutoff is not None and rest > 0:
            ids += self._older_ids(plan, cutoff, rest, max(0, offset - len(ranked)))
        if with_facets and total and not facets and self.source_map is None:
            facets = self._top_sources(plan)
        return total, ids, facets

    def _window_facets(self, window: list[tuple[int, float]], with_facets: bool) -> Facets:
        if not (with_facets and window and self.source_map is not None):
            return ()
        self.source_map.refresh(self.conn)
        return self._facets_of([row[0] for row in window])

    def _scored_window(self, plan: SearchPlan) -> list[tuple[int, float]]:
        """The newest `rank_window` + 1 matches with their bm25 scores, newest first."""
        return self.conn.execute(
            f"""SELECT rowid, {RANK} FROM articles_fts WHERE articles_fts MATCH ?
                ORDER BY rowid DESC LIMIT ?""",
            [plan.match, self.rank_window + 1],
        ).fetchall()

    def _abandon(self, side: Future[tuple[int, Facets]] | None) -> None:
        """Stop a side pass that is no longer needed; its connection is free when this returns."""
        if side is None or side.cancel():
            return
        assert self.side_conn is not None
        self.side_conn.interrupt()
        with contextlib.suppress(Exception):  # "interrupted", or it had finished anyway
            side.result()

    def _start_side_pass(self, plan: SearchPlan, with_facets: bool) -> Future[tuple[int, Facets]] | None:
        if self.side_conn is None:
            return None
        return _SIDE_POOL.submit(self._side_pass, plan, with_facets, self.side_conn)

    def _side_pass(self, plan: SearchPlan, with_facets: bool, conn: sqlite3.Connection) -> tuple[int, Facets]:
        """The exact total (and the top outlets, when asked and the outlet map is there)."""
        if with_facets and self.source_map is not None:
            return self._total_and_facets(plan, conn)
        return count_matches(conn, plan), ()

    def _by_score_then_recency(self, rows: list[tuple[int, float]], offset: int, limit: int) -> list[int]:
        """Ids by bm25; equal scores newest published first (looked up only for the page's scores)."""
        rows.sort(key=lambda row: (row[1], -row[0]))
        page_scores = {score for _, score in rows[offset : offset + limit]}
        tied = [article_id for article_id, score in rows if score in page_scores]
        published: dict[int, int] = {}
        for start in range(0, len(tied), CHUNK):
            chunk = tied[start : start + CHUNK]
            published.update(
                self.conn.execute(
                    f"SELECT id, published_ts FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            )
        if published:
            rows.sort(key=lambda row: (row[1], -published.get(row[0], 0), -row[0]))
        return [row[0] for row in rows]

    def _ranked_page(self, plan: SearchPlan, total: int, limit: int, offset: int) -> list[int]:
        """Positions [0, window) ranked among the newest `window` matches, the rest newest first."""
        if not limit or offset >= total:
            return []
        cutoff = self._window_cutoff(plan) if total > self.rank_window else None
        if cutoff is None:
            return self._ranked_ids(plan, None, limit, offset)
        ids: list[int] = []
        if offset < self.rank_window:
            ids = self._ranked_ids(plan, cutoff, min(limit, self.rank_window - offset), offset)
        rest = limit - len(ids)
        if rest > 0:
            ids += self._older_ids(plan, cutoff, rest, max(0, offset - self.rank_window))
        return ids

    def _ranked_ids(self, plan: SearchPlan, cutoff: int | None, limit: int, offset: int) -> list[int]:
        base, params = matching_sql(self.conn, plan)
        if cutoff is not None:
            base += " AND articles_fts.rowid >= ?"
            params.append(cutoff)
        sql = f"SELECT a.id {base} ORDER BY {RANK}, a.published_ts DESC, a.id DESC LIMIT ? OFFSET ?"
        return [row[0] for row in self.conn.execute(sql, [*params, limit, offset])]

    def _window_cutoff(self, plan: SearchPlan) -> int | None:
        """The id of the `rank_window`-th newest match; None when there are fewer matches."""
        base, params = matching_sql(self.conn, plan, join=False)
        sql = f"SELECT articles_fts.rowid {base} ORDER BY articles_fts.rowid DESC LIMIT 1 OFFSET ?"
        row = self.conn.execute(sql, [*params, self.rank_window - 1]).fetchone()
        return None if row is None else row[0]

    def _older_ids(self, plan: SearchPlan, cutoff: int, limit: int, offset: int) -> list[int]:
        base, params = matching_sql(self.conn, plan, join=False)
        sql = (
            f"SELECT articles_fts.rowid {base} AND articles_fts.rowid < ? "
            "ORDER BY articles_fts.rowid DESC LIMIT ? OFFSET ?"
        )
        return [row[0] for row in self.conn.execute(sql, [*params, cutoff, limit, offset])]

    def _top_sources(self, plan: SearchPlan) -> tuple[tuple[str, str, int], ...]:
        base, params = matching_sql(self.conn, plan)
        sql = f"""SELECT a.source_id, coalesce(s.name, a.source_id), count(*) AS n
                  FROM (SELECT a.source_id {base}) a LEFT JOIN sources s ON s.id = a.source_id
                  GROUP BY a.source_id ORDER BY n DESC, a.source_id LIMIT 3"""
        return tuple((row[0], row[1], row[2]) for row in self.conn.execute(sql, params))

    def articles(self, ids: Sequence[int]) -> tuple[SearchHit, ...]:
        """These articles as hits, in the order given (no match to mark)."""
        return self._hits(plan_query(None), list(ids))

    def _hits(self, plan: SearchPlan, ids: list[int]) -> tuple[SearchHit, ...]:
        if not ids:
            return ()
        sql = f"""SELECT {_HIT_COLUMNS} FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                  WHERE a.id IN ({",".join("?" * len(ids))})"""
        rows = {row[0]: row for row in self.conn.execute(sql, ids)}
        marked = self._highlights(plan.match, ids) if plan.match else {}
        return tuple(self._hit(rows[i], marked.get(i)) for i in ids if i in rows)

    def _highlights(self, match: str, ids: list[int]) -> dict[int, tuple[str, str, str, str]]:
        """The four columns of each article with the query's matches marked."""
        # One scan over the ids' rowid range (see matching_ids); highlight() only for the page.
        id_list = ",".join("?" * len(ids))
        columns = ", ".join(
            f"CASE WHEN articles_fts.rowid IN ({id_list}) THEN highlight(articles_fts, {col}, ?, ?) END"
            for col in range(4)
        )
        params: list[object] = []
        for _col in range(4):
            params += [*ids, MARK_START, MARK_END]
        sql = f"""SELECT articles_fts.rowid, {columns} FROM articles_fts
                  WHERE articles_fts MATCH ? AND articles_fts.rowid BETWEEN ? AND ?"""
        rows = self.conn.execute(sql, [*params, match, min(ids), max(ids)])
        wanted = set(ids)
        return {row[0]: row[1:] for row in rows if row[0] in wanted}

    def _hit(self, row: tuple, marked: tuple[str, str, str, str] | None) -> SearchHit:
        article_id, title, url, source, source_name, published_ts, summary, story_id, undated = row
        snippet = None
        if marked:  # the title is shown above the snippet: never a second time in it
            _title_exact, body_exact, _title_fold, body_fold = marked
            snippet = marked_snippet(summary, body_exact, body_fold, title=title)
        return SearchHit(
            id=article_id,
            title=title,
            url=url,
            source=source,
            source_name=source_name,
            published_at=datetime.fromtimestamp(published_ts, self.tz),
            snippet=snippet or plain_snippet(summary, title),
            story_id=story_id,
            dated=not undated,
        )


def open_engine(
    path: str, tz: ZoneInfo, *, clock: Callable[[], datetime] | None = None, outlet_map: bool = True
) -> SearchEngine:
    """An engine on its own connections, set up like the bot's (side connection, outlet map).

    The outlet map loads one row per article on first use (~0.5 s at 1M): worth it for a
    long-running process, not for one command-line query.
    """
    from bot.store.db import connect

    return SearchEngine(
        connect(path), tz, clock=clock, source_map=SourceMap() if outlet_map else None, side_conn=connect(path)
    )
