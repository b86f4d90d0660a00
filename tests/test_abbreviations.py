"""Abbreviations as data: classes of forms, overrides, and what they compile to."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.search.abbreviations import DEFAULT_ABBREVIATIONS, Abbreviations, abbreviations_for, form_key
from bot.search.query import ALL_COLUMNS, EXACT_COLUMNS, parse_query

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)


def folded(text: str) -> str:
    return f'{ALL_COLUMNS} : "{text}"'


def exact(text: str) -> str:
    return f'{EXACT_COLUMNS} : "{text}"'


@pytest.mark.parametrize(
    ("typed", "others"),
    [
        ("UBND", [("uy", "ban", "nhan", "dan")]),
        ("Ủy ban nhân dân", [("ubnd",)]),
        ("uỷ ban nhân dân", [("ubnd",)]),
        ("HĐND", [("hoi", "dong", "nhan", "dan")]),
        ("TP.HCM", [("thanh", "pho", "ho", "chi", "minh"), ("tp", "ho", "chi", "minh"), ("tphcm",)]),
        ("TP HCM", [("thanh", "pho", "ho", "chi", "minh"), ("tp", "ho", "chi", "minh"), ("tphcm",)]),
        ("tphcm", [("thanh", "pho", "ho", "chi", "minh"), ("tp", "hcm"), ("tp", "ho", "chi", "minh")]),
        ("TT&TT", [("thong", "tin", "va", "truyen", "thong"), ("tttt",)]),
        ("CĐS", [("chuyen", "doi", "so")]),
        ("cds", [("chuyen", "doi", "so")]),
        ("KH&CN", [("khcn",), ("khoa", "hoc", "va", "cong", "nghe")]),
        ("GD&ĐT", [("gddt",), ("giao", "duc", "va", "dao", "tao")]),
        ("KT-XH", [("kinh", "te", "xa", "hoi"), ("ktxh",)]),
        ("bão", []),
        ("Phú Thọ", []),
    ],
)
def test_forms_of_a_default_abbreviation(typed: str, others: list[tuple[str, ...]]) -> None:
    assert DEFAULT_ABBREVIATIONS.other_forms(form_key(typed)) == others


def test_an_organization_entry_replaces_the_default_and_adds_its_own() -> None:
    table = abbreviations_for((("UBND", ("ủy ban",)), ("SGD", ("Sở Giáo dục", "Sở GD&ĐT"))))
    assert table.other_forms(("UBND",)) == [("uy", "ban")]
    assert table.other_forms(("ủy", "ban", "nhân", "dân")) == []
    assert table.other_forms(("sgd",)) == [("so", "gd", "dt"), ("so", "giao", "duc")]
    assert table.other_forms(("HĐND",)) == [("hoi", "dong", "nhan", "dan")]  # other defaults stay


def test_entries_that_share_a_form_are_one_class() -> None:
    table = Abbreviations((("TT&TT", ("thông tin và truyền thông",)), ("TTTT", ("TT&TT",))))
    assert table.other_forms(("tttt",)) == [("thong", "tin", "va", "truyen", "thong"), ("tt", "tt")]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("UBND", f"({folded('UBND')} OR {folded('uy ban nhan dan')})"),
        (
            "ủy ban nhân dân tỉnh",
            f"(({exact('ủy')} AND {folded('ban')} AND {exact('nhân')} AND {exact('dân')}) OR {folded('ubnd')})"
            f" AND {exact('tỉnh')}",
        ),
        ("CĐS", f"({exact('CĐS')} OR {folded('chuyen doi so')})"),
        ("bão -CĐS", f"({exact('bão')}) NOT ({exact('CĐS')} OR {folded('chuyen doi so')})"),
        (
            "BHXH OR BHYT",
            f"({folded('BHXH')} OR {folded('bao hiem xa hoi')} OR {folded('BHYT')} OR {folded('bao hiem y te')})",
        ),
        ('"UBND" Phú', f"({folded('UBND')} OR {folded('uy ban nhan dan')}) AND {exact('Phú')}"),
        ("ban nhân dân", f"{folded('ban')} AND {exact('nhân')} AND {exact('dân')}"),  # a part is not a form
    ],
)
def test_expansion_in_the_match_string(text: str, match: str) -> None:
    assert parse_query(text, now=NOW, tz=TZ).match == match


def test_without_a_table_nothing_expands() -> None:
    assert parse_query("UBND", now=NOW, tz=TZ, abbreviations=Abbreviations(())).match == folded("UBND")
