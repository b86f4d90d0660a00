"""The query language: a table of parses, the error cases, and a fuzz test against real FTS5."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Source
from bot.errors import QueryError
from bot.models import Article
from bot.search.abbreviations import Abbreviations
from bot.search.engine import SearchEngine
from bot.search.query import ALL_COLUMNS, EXACT_COLUMNS, MAX_TOKENS, fts_tokens, parse_query
from bot.store.articles import store_articles
from bot.store.db import open_db
from bot.store.sources import upsert_source

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)


def parse(text: str):
    """The language alone, without abbreviation expansion (tested in test_abbreviations.py)."""
    return parse_query(text, now=NOW, tz=TZ, abbreviations=Abbreviations(()))


def folded(text: str) -> str:
    return f'{ALL_COLUMNS} : "{text}"'


def exact(text: str) -> str:
    return f'{EXACT_COLUMNS} : "{text}"'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("chuyen doi so", f"{folded('chuyen')} AND {folded('doi')} AND {folded('so')}"),
        ('"chuyển đổi số"', exact("chuyển đổi số")),
        ("“chính quyền số”", exact("chính quyền số")),  # phone keyboards' typographic quotes
        ('"den hung"', folded("den hung")),
        ("Đảng", exact("Đảng")),
        ("hoà", exact("hòa")),  # tone placement canonicalised like the index
        ("thuỷ", exact("thủy")),
        ("a b OR c", f"{folded('a')} AND ({folded('b')} OR {folded('c')})"),
        ("a OR b c", f"({folded('a')} OR {folded('b')}) AND {folded('c')}"),
        ('"Đền Hùng" OR lễ', f"({exact('Đền Hùng')} OR {exact('lễ')})"),
        ("bão -lũ", f"({exact('bão')}) NOT ({exact('lũ')})"),
        ('bão -"sạt lở" -lu', f"({exact('bão')}) NOT ({exact('sạt lở')} OR {folded('lu')})"),
        ("COVID-19", folded("COVID 19")),
        ("Hà Nội: tin mới", f"{exact('Hà')} AND {exact('Nội')} AND {folded('tin')} AND {exact('mới')}"),
        ('"unbalanced phrase', folded("unbalanced phrase")),
        ('a "b', f"{folded('a')} AND {folded('b')}"),
        ("NEAR(a b)", f"{folded('NEAR a')} AND {folded('b')}"),
        ("a* AND b", f"{folded('a')} AND {folded('b')}"),
        ("OR a OR", folded("a")),  # dangling operators mean nothing
        ("a OR OR b", f"({folded('a')} OR {folded('b')})"),
        ("a OR -b", f"({folded('a')}) NOT ({folded('b')})"),
        ("a or b", f"{folded('a')} AND {folded('or')} AND {folded('b')}"),  # only upper-case OR
        ("--a b", f"({folded('b')}) NOT ({folded('a')})"),
        ("a - b", f"{folded('a')} AND {folded('b')}"),
        ('say "hi"there', f"{folded('say')} AND {folded('hi')} AND {folded('there')}"),
        ("bão 🌀 lũ", f"{exact('bão')} AND {exact('lũ')}"),
        ("Ho\u0300a", exact("Hòa")),  # decomposed input is composed first
    ],
)
def test_match_string(text: str, match: str) -> None:
    assert parse(text).match == match


def test_terms_are_display_forms_of_positive_terms() -> None:
    parsed = parse('"Đền Hùng" OR Hoà -lũ COVID-19 source:vtv')
    assert parsed.terms == ("đền hùng", "hòa", "covid 19")


@pytest.mark.parametrize(
    ("text", "sources"),
    [
        ("bão source:vtv", ("vtv",)),
        ("bão source:VTV source:vnexpress source:vtv", ("vtv", "vnexpress")),
        ("Source:tuoitre.vn bão", ("tuoitre.vn",)),
        ("bão", ()),
    ],
)
def test_sources(text: str, sources: tuple[str, ...]) -> None:
    assert parse(text).sources == sources


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("bão since:7d", NOW - timedelta(days=7)),
        ("bão since:24h", NOW - timedelta(hours=24)),
        ("bão since:2w", NOW - timedelta(weeks=2)),
        ("bão since:2026-11-01", datetime(2026, 11, 1, tzinfo=TZ)),
        ("bão since:1/11/2026", datetime(2026, 11, 1, tzinfo=TZ)),  # day/month/year
        ("bão since:30d since:2026-11-10", datetime(2026, 11, 10, tzinfo=TZ)),  # the later one wins
        ("bão", None),
    ],
)
def test_since(text: str, since: datetime | None) -> None:
    assert parse(text).since == since


def test_since_date_is_local_midnight() -> None:
    assert parse("since:2026-11-01").since.astimezone(UTC) == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)


def test_filters_alone_are_a_listing() -> None:
    parsed = parse("source:vtv since:7d")
    assert parsed.match is None
    assert parsed.sources == ("vtv",)
    assert parsed.terms == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Nothing to search for"),
        ("   ", "Nothing to search for"),
        ('""', "Nothing to search for"),
        ("OR", "Nothing to search for"),
        ("AND", "Nothing to search for"),
        ("-", "Nothing to search for"),
        ("*** ??? !!!", "Nothing to search for"),
        ("🙂", "Nothing to search for"),
        ("-lũ", "Exclusions"),
        ('-"sạt lở" -bão', "Exclusions"),
        ("-lũ source:vtv", "Exclusions"),
        ("bão since:yesterday", "since:yesterday is not a time"),
        ("bão since:2026-13-01", "is not a time"),
        ("bão since:", "is not a time"),
        ("bão source:", "is not an outlet id"),
        ("bão source:!!", "is not an outlet id"),
        ("bão -source:vtv", "cannot be excluded"),
        (" ".join(["lũ"] * (MAX_TOKENS + 1)), "too long"),
    ],
)
def test_meaningless_queries_raise_query_error(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


def test_error_message_does_not_echo_huge_input() -> None:
    with pytest.raises(QueryError) as caught:
        parse("since:" + "x" * 10_000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("COVID-19", ("COVID", "19")),
        ("Hà Nội: tin mới", ("Hà", "Nội", "tin", "mới")),
        ("e-mail's", ("e", "mail", "s")),
        ("5G/4G", ("5G", "4G")),
        ("", ()),
    ],
)
def test_fts_tokens_split_like_unicode61(text: str, tokens: tuple[str, ...]) -> None:
    assert fts_tokens(text) == tokens


# ---- fuzz: no input may reach SQLite as an FTS5 syntax error ----

FRAGMENTS = [
    '"',
    "“",
    "”",
    "„",
    "'",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "*",
    "^",
    ":",
    "-",
    "+",
    "OR",
    "AND",
    "NOT",
    "NEAR",
    "NEAR(",
    "NEAR/2",
    "source:",
    "since:",
    "since:7d",
    "source:vtv",
    "title:",
    "body_fold:",
    "Đảng",
    "đăng",
    "chuyển đổi số",
    "Hà Nội:",
    "hoà",
    "thuỷ",
    "COVID-19",
    "5G",
    "den hung",
    "\\",
    ",",
    ".",
    ";",
    "!",
    "?",
    "&",
    "|",
    "/",
    "%",
    "$",
    "#",
    "@",
    "=",
    "<",
    ">",
    "~",
    "`",
    "\x00",
    "\t",
    "\n",
    "\x1b",
    "\u200b",
    "\u200f",
    "\ufeff",
    "\u0301",
    "\u0300",
    "🙂",
    "🇻🇳",
    "中文",
    "русский",
    "\ue000",
    "\ue001",
    "\udcff",
    " ",
    "  ",
    '-"',
    '"-',
    "OR OR",
    "- -",
    ":::",
    "NEAR(a b, 3)",
]


def _random_query(rng: random.Random) -> str:
    if rng.random() < 0.15:  # raw random code points, any plane
        return "".join(
            chr(rng.choice([rng.randrange(0x20, 0x250), rng.randrange(0, 0x110000)]))
            for _ in range(rng.randrange(0, 30))
        )
    return "".join(rng.choice(FRAGMENTS) + rng.choice(["", " ", " "]) for _ in range(rng.randrange(0, 12)))


@pytest.fixture
def small_engine(tmp_path) -> SearchEngine:
    conn = open_db(tmp_path / "fuzz.sqlite").conn
    upsert_source(conn, Source(id="vtv", name="VTV", urls=("https://vtv.vn/rss",)), "config", NOW)
    published = NOW - timedelta(days=1)
    articles = [
        Article(
            source_id="vtv",
            url=f"https://vtv.vn/{i}",
            guid=str(i),
            title=title,
            summary=summary,
            published_at=published,
            fetched_at=published,
        )
        for i, (title, summary) in enumerate(
            [
                ("Đảng bộ tỉnh Phú Thọ", "Chuyển đổi số, COVID-19 và 5G tại Hà Nội."),
                ("Đăng ký dịch vụ công", "Người dân đăng ký trực tuyến (NEAR thuỷ điện)."),
            ]
        )
    ]
    store_articles(conn, [(articles, None)])
    return SearchEngine(conn, TZ, clock=lambda: NOW)


def test_fuzz_never_reaches_sqlite_as_a_syntax_error(small_engine: SearchEngine) -> None:
    rng = random.Random(20261115)
    inputs = [_random_query(rng) for _ in range(20_000)]
    inputs += ["x" * 10_240, "đ " * 5_000, '"' * 10_240, "(" * 5_000, "-" * 10_240]
    operational, searched, refused = [], 0, 0
    for text in inputs:
        try:
            small_engine.search(text, limit=3)
            small_engine.count(text)
            searched += 1
        except QueryError:
            refused += 1
        except sqlite3.OperationalError as err:
            operational.append((text, str(err)))
    assert operational == []
    assert searched > 5_000 and refused > 100  # the generator exercises both outcomes
