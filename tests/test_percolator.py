"""The percolator matches exactly what FTS5 matches: tokenizer tables derived again from this SQLite,
the tricky rules as a table, and a property test of random queries against random Vietnamese articles
stored in a real archive, compared inside the store transaction with the FTS search (`matching_ids`)."""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Source
from bot.errors import QueryError
from bot.models import Article
from bot.saved_queries import unicode61
from bot.saved_queries.percolator import Percolator, match_new_articles, percolator_for, read_new_articles
from bot.saved_queries.saved_query import CAMPAIGN, SUBSCRIPTION, SavedQuery, compile_saved_query
from bot.search.plan import matching_ids
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)
SOURCES = ("vtv", "baophutho", "vnexpress")
_serial = itertools.count()


def saved(text: str, query_id: str | None = None, kind: str = SUBSCRIPTION, campaign: str | None = None) -> SavedQuery:
    query = compile_saved_query(kind, query_id or text, text, text, since=None, tz=TZ, now=NOW)
    return query if campaign is None else replace(query, plan=replace(query.plan, campaign=campaign))


def article(title: str, summary: str = "", source: str = "vtv", age: timedelta = timedelta(hours=1)) -> Article:
    # Stored as the poller stores: fetched now (later and later), published at most 10 minutes after.
    fetched = NOW + timedelta(seconds=next(_serial))
    key = f"a{next(_serial)}"
    return Article(
        source_id=source,
        url=f"https://{source}.vn/{key}",
        guid=key,
        title=title,
        summary=summary,
        published_at=fetched - age,
        fetched_at=fetched,
    )


def open_archive(path: Path) -> sqlite3.Connection:
    conn = open_db(path).conn
    conn.execute("BEGIN")
    for source_id in SOURCES:
        upsert_source(conn, Source(id=source_id, name=source_id, urls=(f"https://{source_id}.vn/rss",)), "config", NOW)
    conn.execute("COMMIT")
    return conn


def compare_in_transaction(
    conn: sqlite3.Connection, queries: Sequence[SavedQuery], articles: Sequence[Article], campaigns=()
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Store `articles` and, inside that transaction, match them both ways: (percolator, FTS)."""
    both: list[dict[str, list[int]]] = []

    def hook(connection: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        for campaign in campaigns:  # the campaign recorder runs first, as the registry does
            rows = [(campaign.id, i) for i in matching_ids(connection, campaign.plan, new_ids)]
            connection.executemany("INSERT INTO campaign_articles (campaign_id, article_id) VALUES (?, ?)", rows)
        by_fts = {q.id: found for q in queries if (found := matching_ids(connection, q.plan, new_ids))}
        both.extend([match_new_articles(connection, Percolator(queries), new_ids), by_fts])

    store_articles(conn, [(articles, None)], hooks=[hook])
    return both[0], both[1]


@pytest.fixture
def conn(tmp_path: Path):
    connection = open_archive(tmp_path / "percolator.sqlite")
    yield connection
    connection.close()


# ---------------------------------------------------------------- the tokenizer


def probe_points() -> list[int]:
    """The whole BMP, every code point where the tables change (and its neighbours), a sample of the rest."""
    edges = set()
    for spec in (unicode61.TOKEN_CHARS, unicode61.DIACRITICS, unicode61.KEPT_CASE):
        for item in spec.split():
            first, _, last = item.partition("-")
            edges.update({int(first, 16) - 1, int(first, 16), int(last or first, 16), int(last or first, 16) + 1})
    sample = random.Random(7).sample(unicode61.EVERY_CODE_POINT, 20_000)
    wanted = set(range(0x10000)) | edges | set(sample)
    return sorted(c for c in wanted if 0 <= c < 0x110000 and not 0xD800 <= c <= 0xDFFF and c != 0x20)


def test_tokenizer_tables_are_the_running_sqlites() -> None:
    derived = unicode61.derive_tables(sqlite3.connect(":memory:"), probe_points())
    for point, entry in derived.items():
        char = chr(point)
        if entry is None:  # a separator
            expected = ["x", "y", "y"]
        else:
            starts, fold = entry
            expected = [f"x{chr(fold)}y", f"{chr(fold)}y" if starts else "y"]
        assert unicode61.tokens(f"x{char}y {char}y") == expected, hex(point)
    assert len(derived) > 80_000


def fts_terms(text: str) -> list[str]:
    """The terms FTS5 itself makes of `text`, in order."""
    memory = sqlite3.connect(":memory:")
    memory.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")  # a cut token may end mid-character
    memory.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 0')")
    memory.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, instance)")
    memory.execute("INSERT INTO t (x) VALUES (?)", (text,))
    return [row[0] for row in memory.execute("SELECT term FROM v ORDER BY offset")]


TRICKY = "aAzZ09 .,-:/'\"\n\tđĐòÒoàÀÔỔếẾưƯΣσςΑΒİıµſꭰᏃ\u0300\u0301\u0307\u08bb\u0378€🌀_ß\ue000\U000e0001"


@given(st.text(alphabet=TRICKY, max_size=60))
@settings(max_examples=400, deadline=None)
def test_tokens_are_fts5s(text: str) -> None:
    assert unicode61.tokens(text) == fts_terms(text)


@pytest.mark.parametrize("text", ["x" * 40_000, "ằ" * 10_923 + " b", "Σ" * 9_000, "a " + "Ꭰ" * 12_000])
def test_long_tokens_are_cut_as_fts5_cuts_them(text: str) -> None:
    assert unicode61.tokens(text) == fts_terms(text)
    assert max(len(t.encode("utf-8", "surrogateescape")) for t in fts_terms(text)) <= unicode61.MAX_TOKEN_BYTES


# ---------------------------------------------------------------- the rules, one by one

RULES = [
    # (query, title, summary, matches)
    ("dong", "Đồng Nai mưa lớn", "", True),  # no accents: the folded columns, đ included
    ("đồng", "Đông Hà", "", False),  # accents: that spelling only
    ("Đồng", "ĐỒNG NAI", "", True),  # case folded
    ("hoà", "Hòa Bình", "", True),  # tone placement, both ways
    ("hòa", "Hoà Bình", "", True),
    ("thuỷ điện", "Thủy điện Hòa Bình xả lũ", "", True),
    ('"Hòa Bình"', "Hòa, Bình Dương", "", True),  # punctuation is no boundary for a phrase
    ('"hoa binh"', "Bình Hòa", "", False),  # order
    ('"Hòa Bình"', "Hòa", "Bình Dương", False),  # a phrase stays within one column
    ("COVID-19", "Ca mắc COVID 19 giảm", "", True),
    ('"covid 19"', "COVID-19: 19 ca", "", True),
    ("bão -lũ", "Bão số 5", "Mưa lũ lớn", False),  # exclusions look at every column
    ("bão -lu", "Bão số 5", "Lữ hành", False),  # an accent-free exclusion folds too
    ("bão -lũ", "Bão số 5", "Lu mờ", True),
    ("bão OR lũ Phú", "Lũ về Phú Thọ", "", True),
    ("bão OR lũ Phú", "Lũ về Hà Nội", "", False),
    ("UBND", "Ủy ban nhân dân tỉnh họp", "", True),  # abbreviations both ways
    ("ủy ban nhân dân", "UBND tỉnh Phú Thọ", "", True),
    ("ủy ban nhân dân", "Ban nhân dân ủy nhiệm", "", True),  # typed as words: the words anywhere
    ('"ủy ban nhân dân"', "Ban nhân dân ủy", "", False),
    ("TP.HCM", "Mưa ở thành phố Hồ Chí Minh", "", True),
    ("quý", "Quỹ đầu tư", "", False),
    ('"an toàn"', "Ban toàn thể họp", "", False),  # a phrase starts at a token boundary
    ("hoa", "Khoa học", "", False),
    ("µg", "10 μg mỗi ngày", "", True),  # µ (micro) folds to μ (mu) in FTS5
    ("source:baophutho", "Bất kỳ tin nào", "", False),  # stored on vtv
    ("source:vtv bão", "Bão số 5", "", True),
    ("since:2d bão", "Bão số 5", "", True),
    ("\u19b0 bão", "\u19b0 bão", "", False),  # a letter newer than SQLite's tables: an empty phrase
    ("bão -\u19b0", "\u19b0 bão", "", True),
    ("x\u0300", "x\u0300 y", "", True),  # a combining mark continues a token (Python splits it off)
    ("\u0300y", "x \u0300y", "", True),  # … but never starts one
    ("ΑΣ", "ας", "", True),  # a final sigma folds to σ, as FTS5 folds it
]


@pytest.mark.parametrize(("query", "title", "summary", "matches"), RULES)
def test_rule(conn: sqlite3.Connection, query: str, title: str, summary: str, matches: bool) -> None:
    query_saved = saved(query)
    by_percolator, by_fts = compare_in_transaction(conn, [query_saved], [article(title, summary)])
    assert bool(by_fts) is matches  # the rule is FTS's rule …
    assert by_percolator == by_fts  # … and the percolator's


def test_since_and_source_filters_against_old_and_new(conn: sqlite3.Connection) -> None:
    queries = [saved("since:2d bão"), saved("source:baophutho"), saved("bão source:vtv source:baophutho")]
    articles = [
        article("Bão số 5", age=timedelta(days=3)),
        article("Bão số 6", source="baophutho", age=timedelta(hours=2)),
        article("Bão số 7", source="vnexpress", age=timedelta(hours=1)),
    ]
    by_percolator, by_fts = compare_in_transaction(conn, queries, articles)
    assert by_percolator == by_fts
    assert {q: len(ids) for q, ids in by_fts.items()} == {"since:2d bão": 2, "source:baophutho": 1, queries[2].id: 2}


def test_until_bound(conn: sqlite3.Connection) -> None:
    bounded = saved("bão")
    bounded = replace(bounded, plan=replace(bounded.plan, until_ts=(NOW - timedelta(days=1)).timestamp()))
    articles = [article("Bão số 5", age=timedelta(days=3)), article("Bão số 6", age=timedelta(hours=2))]
    by_percolator, by_fts = compare_in_transaction(conn, [bounded], articles)
    assert by_percolator == by_fts and len(by_fts["bão"]) == 1


def test_campaign_filter_reads_the_tags_written_earlier_in_the_transaction(conn: sqlite3.Connection) -> None:
    campaign = saved("Phú Thọ", "pt", kind=CAMPAIGN)
    queries = [saved("bão", "bao-in-pt", campaign="pt"), saved("source:vtv", "vtv-in-pt", campaign="pt")]
    articles = [article("Bão về Phú Thọ"), article("Bão về Hà Nội"), article("Phú Thọ mùa lễ hội", source="baophutho")]
    by_percolator, by_fts = compare_in_transaction(conn, queries, articles, campaigns=[campaign])
    assert by_percolator == by_fts
    assert set(by_fts) == {"bao-in-pt", "vtv-in-pt"} and all(len(ids) == 1 for ids in by_fts.values())


def test_a_query_nothing_can_match_is_left_out() -> None:
    assert len(Percolator([saved("\u19b0"), saved("bão source:vtv"), saved("a")])) == 2


def test_the_percolator_is_built_once_per_set_of_saved_queries(conn: sqlite3.Connection) -> None:
    first = (saved("bão"), saved("lũ"))
    again = percolator_for(conn, first)
    assert percolator_for(conn, first) is again
    assert percolator_for(conn, tuple(first)) is again  # the same tuple
    assert percolator_for(conn, list(first)) is again  # the same saved queries, in another sequence
    assert percolator_for(conn, (*first, saved("mưa"))) is not again  # a replaced set


def test_reading_back_sees_only_the_new_articles(conn: sqlite3.Connection) -> None:
    seen: list[tuple[int, ...]] = []
    store_articles(conn, [([article("Cũ")], None)])
    hook = lambda connection, new_ids: seen.append(read_new_articles(connection, new_ids).ids)  # noqa: E731
    result = store_articles(conn, [([article("Mới một"), article("Mới hai")], None)], hooks=[hook])
    assert seen == [result.new_ids]


# ---------------------------------------------------------------- random queries, random articles

SYLLABLES = [
    *("hòa", "hoà", "Hòa", "HOÀ", "hoa", "Hoa", "khỏe", "khoẻ", "khoe", "thủy", "thuỷ", "thuy", "quý", "quy"),
    *("đồng", "Đồng", "ĐỒNG", "dong", "Dong", "đông", "Đông", "động", "bình", "Bình", "binh", "bão", "bao", "lũ"),
    *("lu", "Lụ", "phú", "Phú", "phu", "thọ", "Thọ", "tho", "nội", "Nội", "noi", "hà", "Hà", "ha", "mới", "moi"),
    *("ủy", "uỷ", "Ủy", "uy", "ban", "nhân", "dân", "nhan", "dan", "UBND", "ubnd", "tp", "TP", "hcm", "HCM"),
    *("hồ", "chí", "minh", "Hồ", "Chí", "Minh", "thành", "phố", "covid", "COVID", "19", "5G", "đền", "hùng"),
    *("của", "và", "các", "có", "người", "tỉnh", "số", "chuyển", "đổi", "chuyen", "doi", "so", "µg", "μg"),
    # parts of other words, so a phrase that ignored token boundaries would be caught
    *("khoa", "Khoa", "an", "An", "nhà", "nha", "ong", "ông", "Ông", "oa", "hòa-bình", "Hồ-Chí-Minh"),
]
JOINERS = [" ", " ", " ", " ", ", ", ": ", "-", ".", " - ", "\n", " 🌀 ", "/", " (", ") "]


def words_from(pool: Sequence[str]) -> st.SearchStrategy[str]:
    """Mostly the example's own few syllables (so queries match), sometimes any."""
    return st.one_of(st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(pool), st.sampled_from(SYLLABLES))


@st.composite
def vietnamese_text(draw, pool: Sequence[str], min_size: int, max_size: int) -> str:
    words = draw(st.lists(words_from(pool), min_size=min_size, max_size=max_size))
    joiners = draw(st.lists(st.sampled_from(JOINERS), min_size=len(words), max_size=len(words)))
    text = "".join(w + j for w, j in zip(words, joiners, strict=True))
    if draw(st.booleans()):  # TP.HCM, COVID-19 and friends, as outlets write them
        text += draw(st.sampled_from([" TP.HCM", " TPHCM", " COVID-19", " Covid-19", " UBND.", " TP. Hồ Chí Minh"]))
    return text


@st.composite
def query_text(draw, pool: Sequence[str]) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        words = draw(st.lists(words_from(pool), min_size=1, max_size=3))
        term = f'"{" ".join(words)}"' if len(words) > 1 and draw(st.booleans()) else " ".join(words)
        prefix = draw(st.sampled_from(["", "", "-", "OR ", "OR "])) if parts else ""
        parts.append(prefix + term)
    parts += draw(st.lists(st.sampled_from(["source:vtv", "source:baophutho", "since:2d", "since:12h"]), max_size=2))
    return " ".join(parts)


@st.composite
def new_article(draw, pool: Sequence[str]) -> Article:
    title = draw(vietnamese_text(pool, 3, 12))
    summary = draw(vietnamese_text(pool, 0, 30))
    age = timedelta(hours=draw(st.floats(-0.15, 96)))  # published up to 10 minutes after fetch
    return article(title, summary, draw(st.sampled_from(SOURCES)), age)


@given(data=st.data(), pool=st.lists(st.sampled_from(SYLLABLES), min_size=3, max_size=10, unique=True))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_percolator_equals_fts_on_random_queries_and_articles(conn, data, pool) -> None:
    texts = data.draw(st.lists(query_text(pool), min_size=1, max_size=12))
    articles = data.draw(st.lists(new_article(pool), min_size=1, max_size=8))
    queries: list[SavedQuery] = []
    for i, text in enumerate(texts):
        try:
            queries.append(saved(text, f"q{i}", campaign="c" if i % 5 == 4 else None))
        except QueryError:
            continue  # only exclusions: refused before it is ever saved
    try:
        campaigns = [saved(data.draw(query_text(pool)), "c", kind=CAMPAIGN)]
    except QueryError:
        campaigns = []
    by_percolator, by_fts = compare_in_transaction(conn, queries, articles, campaigns)
    assert by_percolator == by_fts
