"""Campaign reports over a generated archive with known answers: numbers equal a hand count for the
shipped campaigns, periods read one way, the chart's Vietnamese text has glyphs, files hold every article."""

from __future__ import annotations

import csv
import io
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from openpyxl import load_workbook

from bot.config import Config
from bot.errors import QueryError
from bot.reports import chart
from bot.reports.campaigns import UnknownCampaign, campaign_for_topic, find_campaign
from bot.reports.labels import LABELS
from bot.reports.numbers import comparison
from bot.reports.period import MAX_DAYS, PeriodError, ReportPeriod, period_of, read_period
from bot.search.question import understand
from bot.services.reports import export_of, report_of
from bot.store.db import open_readonly
from tests.fakes.telegram._media import image_size
from tests.reports_archive import NOW, TZ, Generated, build, generate, hand_count, shipped_config

CAMPAIGNS = ["chuyen-doi-so", "phong-chong-dich", "bien-dao", "phu-song-5g", "dich-vu-cong"]
# Every Vietnamese letter: the vowels with each of the five tones (and none), both cases, and đ/Đ.
VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def vietnamese_letters() -> set[str]:
    letters = {unicodedata.normalize("NFC", v + tone) for v in VOWELS for tone in TONES}
    return letters | {c.upper() for c in letters} | {"đ", "Đ"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, Path, list[Generated]]]:
    tmp = tmp_path_factory.mktemp("reports")
    config, rows = shipped_config(tmp), generate()
    build(config, tmp / "db.sqlite", rows)
    yield config, tmp / "db.sqlite", rows


@pytest.fixture
def conn(archive: tuple[Config, Path, list[Generated]]) -> Iterator[sqlite3.Connection]:
    connection = open_readonly(archive[1])
    yield connection
    connection.close()


def test_the_generated_archive_covers_every_shipped_campaign(archive: tuple[Config, Path, list[Generated]]) -> None:
    config, _db, rows = archive
    assert [c.id for c in config.campaigns] == CAMPAIGNS
    assert {g.campaign for g in rows} == {*CAMPAIGNS, None}
    assert any(len({g.source for g in rows if g.story == s}) > 1 for s in {g.story for g in rows})


@pytest.mark.parametrize("campaign", CAMPAIGNS)
@pytest.mark.parametrize("period", ["", "7d", "tháng này", "2026-10-01..2026-10-31", "tháng 9"])
def test_report_numbers_equal_a_hand_count(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection, campaign: str, period: str
) -> None:
    config, _db, rows = archive
    span = read_period(period, NOW)
    report = report_of(conn, config, campaign, span)
    assert report.to_json() == hand_count(rows, campaign, span.first, span.last)


def test_the_default_period_is_the_last_30_days_today_included(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection
) -> None:
    report = report_of(conn, archive[0], "chuyen-doi-so", read_period("", NOW)).to_json()
    assert (report["from"], report["to"]) == ("2026-10-17", "2026-11-15")
    assert len(report["by_day"]) == 30 and 0 in report["by_day"].values()  # every day, zeros included
    assert sum(report["by_day"].values()) == report["total"] == sum(report["by_source"].values())
    assert report["total"] > 10 and report["previous_total"] > 10
    assert abs(sum(report["share_of_voice"].values()) - 1) < 0.001


def test_a_story_in_several_outlets_counts_once_with_its_outlets(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection
) -> None:
    report = report_of(conn, archive[0], "chuyen-doi-so", read_period("60d", NOW))
    top = report.top_stories[0]
    assert len(top.sources) > 1 and top.articles == len(top.sources)
    assert len({s.title for s in report.top_stories}) == len(report.top_stories)
    assert top.url.startswith("https://")


@pytest.mark.parametrize(
    ("typed", "first", "last"),
    [
        ("", date(2026, 10, 17), date(2026, 11, 15)),
        ("7d", date(2026, 11, 9), date(2026, 11, 15)),
        ("2w", date(2026, 11, 2), date(2026, 11, 15)),
        ("tháng này", date(2026, 11, 1), date(2026, 11, 15)),
        ("this month", date(2026, 11, 1), date(2026, 11, 15)),
        ("tháng trước", date(2026, 10, 1), date(2026, 10, 31)),
        ("30 ngày qua", date(2026, 10, 17), date(2026, 11, 15)),
        ("last 7 days", date(2026, 11, 9), date(2026, 11, 15)),
        ("tháng 9", date(2026, 9, 1), date(2026, 9, 30)),
        ("từ 1/9 đến 30/9", date(2026, 9, 1), date(2026, 9, 30)),
        ("2026-09-01..2026-09-30", date(2026, 9, 1), date(2026, 9, 30)),
        ("1/9/2026..30/9/2026", date(2026, 9, 1), date(2026, 9, 30)),
        ("2026-11-01..2026-12-31", date(2026, 11, 1), date(2026, 11, 15)),  # ends today
        ("hôm nay", date(2026, 11, 15), date(2026, 11, 15)),
    ],
)
def test_one_period_reading(typed: str, first: date, last: date) -> None:
    period = read_period(typed, NOW)
    assert (period.first, period.last) == (first, last)
    assert period.previous().last == first - timedelta(days=1)
    assert period.previous().days == period.days


def test_a_question_reads_its_period_the_same_way() -> None:
    for typed in ("tháng này", "30 ngày qua", "tháng 9", "từ 1/9 đến 30/9"):
        question = understand(f"báo cáo chuyển đổi số {typed}", now=NOW, outlets=(), campaigns=())
        assert period_of(question, NOW) == read_period(typed, NOW), typed


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("tuần sau nữa", "bad_period"),
        ("chuyển đổi số", "bad_period"),
        ("2026-13-01..2026-12-31", "bad_period"),
        ("30/9/2026..1/9/2026", "period_backwards"),
        ("2027-01-01..2027-01-31", "period_future"),
        ("2024-01-01..2026-11-15", "period_long"),
        ("7d..30d", "bad_period"),
    ],
)
def test_bad_periods_are_refused_with_a_reason(typed: str, code: str) -> None:
    with pytest.raises(PeriodError) as info:
        read_period(typed, NOW)
    assert info.value.code == code
    assert "\n" not in str(info.value)


def test_periods_are_bounded() -> None:
    assert read_period(f"{MAX_DAYS}d", NOW).days == MAX_DAYS
    with pytest.raises(PeriodError):
        read_period("x" * 10_000, NOW)


def test_unknown_campaign_names_the_closest_ids(archive: tuple[Config, Path, list[Generated]]) -> None:
    campaigns = archive[0].campaigns
    with pytest.raises(UnknownCampaign) as info:
        find_campaign(campaigns, "chuyen-doi")
    assert "chuyen-doi-so" in str(info.value) and isinstance(info.value, QueryError)
    with pytest.raises(UnknownCampaign) as none:
        find_campaign(campaigns, "zzzz")
    assert none.value.code == "unknown_campaign_none" and "bien-dao" in str(none.value)
    assert find_campaign(campaigns, "Chuyển đổi số").id == "chuyen-doi-so"
    assert find_campaign(campaigns, "PHU-SONG-5G").id == "phu-song-5g"


@pytest.mark.parametrize(
    ("question", "campaign"),
    [
        ("báo cáo chuyển đổi số tháng này", "chuyen-doi-so"),
        ("thống kê phòng chống dịch 30 ngày qua", "phong-chong-dich"),
        ("report on 5G this month", "phu-song-5g"),
        ("số liệu biển đảo tuần này", "bien-dao"),
        ("báo cáo tài chính quý 3", None),
        ("chuyển đổi số tuần này", None),  # no report word: the articles, not a report
    ],
)
def test_report_questions_name_their_campaign(
    archive: tuple[Config, Path, list[Generated]], question: str, campaign: str | None
) -> None:
    config = archive[0]
    read = understand(question, now=NOW, outlets=(), campaigns=[(c.id, c.name) for c in config.campaigns])
    found = read.campaign_id if read.report and read.topic and not read.topic.groups else None
    if found is None and read.report and read.topic is not None:
        match = campaign_for_topic(read.topic, config.campaigns, NOW, TZ)
        found = match.id if match else None
    assert found == campaign


def test_glyph_coverage_of_every_vietnamese_letter_and_chart_label() -> None:
    path = findfont(FontProperties(family=chart.FONT_FAMILY), fallback_to_default=False)
    assert Path(path).name == "DejaVuSans.ttf"
    font = FT2Font(path)
    texts = {c for labels in LABELS.values() for text in labels.values() for c in text}
    texts |= set("Chuyển đổi số · Phòng chống dịch bệnh · Chủ quyền biển, đảo · Báo Điện tử Chính phủ 01/09")
    wanted = vietnamese_letters() | {c for c in texts if not c.isspace()}
    missing = sorted(c for c in wanted if font.get_char_index(ord(c)) == 0)
    assert missing == []
    assert len(vietnamese_letters()) == 12 * 6 * 2 + 2
    assert chart.missing_glyphs("Đường Trường Sơn ỹ Ỹ ợ") == set()
    assert chart.missing_glyphs("中文 ok") == {"中", "文"}  # the check can fail: CJK is not in DejaVu Sans


def test_missing_glyphs_are_logged_not_dropped_silently(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    report = report_of(conn, archive[0], "bien-dao", read_period("60d", NOW))
    with caplog.at_level("WARNING", logger="bot.reports.chart"), pytest.warns(UserWarning, match="missing from font"):
        chart.outlet_chart(replace(report, campaign_name="Biển đảo 中国"), "vi")
    assert "中" in caplog.text


def test_charts_are_phone_sized_pngs(archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection) -> None:
    config = archive[0]
    period = read_period("30d", NOW)
    report = report_of(conn, config, "chuyen-doi-so", period)
    png = chart.outlet_chart(report, "vi")
    assert image_size(png) == (1200, 800) and len(png) < 200_000
    assert len(report.by_source) > chart.TOP_OUTLETS  # so the "others" series is drawn
    compared = chart.comparison_chart(comparison(conn, config.campaigns, period), "en")
    assert image_size(compared) == (1200, 800)


def test_comparison_counts_every_campaign(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection
) -> None:
    config, _db, rows = archive
    period = read_period("tháng trước", NOW)
    result = comparison(conn, config.campaigns, period)
    totals = {c.id: c.total for c in result.campaigns}
    assert totals == {c: hand_count(rows, c, period.first, period.last)["total"] for c in CAMPAIGNS}
    assert [c.total for c in result.campaigns] == sorted(totals.values(), reverse=True)
    first = result.campaigns[0]
    assert list(first.daily) == list(hand_count(rows, first.id, period.first, period.last)["by_day"].values())


def test_xlsx_holds_every_matched_article(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection
) -> None:
    config, _db, rows = archive
    period = read_period("60d", NOW)
    file = export_of(conn, report_of(conn, config, "chuyen-doi-so", period), "xlsx", "vi")
    book = load_workbook(io.BytesIO(file.data))
    assert book.sheetnames == ["Tổng hợp", "Bài báo"]
    sheet = book["Bài báo"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Thời gian đăng", "Báo", "Tiêu đề", "Đường dẫn"]
    assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    expected = [g for g in rows if g.campaign == "chuyen-doi-so" and period.first <= g.published.date() <= period.last]
    body = list(sheet.iter_rows(min_row=2))
    assert sorted(r[3].value for r in body) == sorted(g.url for g in expected)
    by_url = {g.url: g for g in expected}
    for row in body:
        generated = by_url[row[3].value]
        assert row[0].value == generated.published.replace(tzinfo=None)  # a real date cell, local time
        assert row[2].value == generated.title and row[3].hyperlink.target == generated.url
        assert row[4].value == "Chuyển đổi số"
    summary = book["Tổng hợp"]
    assert summary["A2"].value == "Chuyển đổi số" and summary["B4"].value == len(expected)
    assert len(summary._images) == 1  # the chart


def test_csv_is_utf8_with_bom_one_row_per_article(
    archive: tuple[Config, Path, list[Generated]], conn: sqlite3.Connection
) -> None:
    config, _db, rows = archive
    period = read_period("2026-10-01..2026-10-31", NOW)
    file = export_of(conn, report_of(conn, config, "bien-dao", period), "csv", "vi")
    assert file.data.startswith(b"\xef\xbb\xbf") and file.filename == "bien-dao_2026-10-01_2026-10-31.csv"
    table = list(csv.reader(io.StringIO(file.data.decode("utf-8-sig"))))
    expected = [g for g in rows if g.campaign == "bien-dao" and period.first <= g.published.date() <= period.last]
    assert table[0][2] == "Tiêu đề" and len(table) == len(expected) + 1
    assert {r[2] for r in table[1:]} == {g.title for g in expected}
    assert all(datetime.strptime(r[0], "%Y-%m-%d %H:%M") for r in table[1:])


def test_feed_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    hostile = Generated("=HYPERLINK(\"http://x\";\"chuyển đổi số\")", "chuyen-doi-so", "vnexpress",
                        NOW - timedelta(hours=2), 0, "https://vnexpress.example.vn/x.html")  # fmt: skip
    build(config, tmp_path / "db.sqlite", [hostile])
    connection = open_readonly(tmp_path / "db.sqlite")
    try:
        report = report_of(connection, config, "chuyen-doi-so", read_period("7d", NOW))
        xlsx = export_of(connection, report, "xlsx", "en")
        text = export_of(connection, report, "csv", "en").data.decode("utf-8-sig")
    finally:
        connection.close()
    cell = load_workbook(io.BytesIO(xlsx.data))["Articles"]["C2"]
    assert cell.data_type == "s" and cell.value == hostile.title
    assert "'=HYPERLINK" in text


def test_a_report_period_is_whole_local_days() -> None:
    period = ReportPeriod(date(2026, 11, 1), date(2026, 11, 3), TZ)
    assert period.start == datetime(2026, 11, 1, tzinfo=TZ) and period.end == datetime(2026, 11, 4, tzinfo=TZ)
    assert period.dates() == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
