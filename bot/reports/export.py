"""A campaign's matched articles as a file a press office hands upward: XLSX or CSV.

XLSX (openpyxl): a summary sheet (the numbers, the per-outlet table, the top stories and
the chart) and a sheet of every matched article (local date and time as real date cells,
outlet, title, the link clickable, campaign, story), with bold frozen headers and set
column widths. CSV: one row per article, UTF-8 with a byte-order mark so Excel reads
Vietnamese correctly.

Feed text is written by strangers: a title starting with `=` must stay text (XLSX cells
are typed as strings; CSV cells that a spreadsheet would run as a formula get a leading
`'`), and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.drawing.image import Image
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.reports.labels import date_span, label
from bot.reports.numbers import CampaignReport
from bot.reports.store import ArticleRow

CellValue = str | int | float | datetime | None
MAX_XLSX_ROWS = 100_000  # openpyxl holds a sheet in memory (~1 KB a row): beyond this, CSV
_ARTICLE_COLUMNS = (
    ("col_time", 17),
    ("col_outlet", 22),
    ("col_title", 70),
    ("col_url", 45),
    ("col_campaign", 24),
    ("col_story", 12),
    ("col_story_outlets", 12),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DATE_FORMAT = "dd/mm/yyyy hh:mm"
_CHART_WIDTH = 720  # px in the sheet (the PNG is 1200 × 800)


class TooManyRows(ValueError):
    """More articles than one spreadsheet should hold."""

    def __init__(self, rows: int) -> None:
        super().__init__(f"{rows} articles: at most {MAX_XLSX_ROWS} in one spreadsheet (use CSV or a shorter period)")
        self.rows = rows


def story_outlets(rows: Sequence[ArticleRow]) -> dict[int, int]:
    """How many outlets carried each story in these rows."""
    outlets: defaultdict[int, set[str]] = defaultdict(set)
    for row in rows:
        outlets[row.story_id].add(row.source_id)
    return {story: len(ids) for story, ids in outlets.items()}


def to_xlsx(report: CampaignReport, rows: Sequence[ArticleRow], chart_png: bytes | None, lang: str) -> bytes:
    """The workbook: summary sheet first, then every article."""
    if len(rows) > MAX_XLSX_ROWS:
        raise TooManyRows(len(rows))
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = label("sheet_summary", lang)
    _summary(summary, report, lang)
    if chart_png:
        image = Image(io.BytesIO(chart_png))
        image.width, image.height = _CHART_WIDTH, _CHART_WIDTH * 2 // 3
        summary.add_image(image, "F2")
    _articles(book.create_sheet(label("sheet_articles", lang)), report, rows, lang)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(report: CampaignReport, rows: Sequence[ArticleRow], lang: str) -> bytes:
    """One row per article, UTF-8 with BOM; times are local `YYYY-MM-DD HH:MM`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label(key, lang) for key, _width in _ARTICLE_COLUMNS])
    for values in _article_values(report, rows):
        when = values[0]
        assert isinstance(when, datetime)
        writer.writerow([f"{when:%Y-%m-%d %H:%M}", *(_csv_safe(str(v)) for v in values[1:])])
    return buffer.getvalue().encode("utf-8-sig")


def _article_values(report: CampaignReport, rows: Sequence[ArticleRow]) -> list[list[CellValue]]:
    outlets = story_outlets(rows)
    tz = report.period.tz
    return [
        [
            datetime.fromtimestamp(row.published_ts, tz).replace(tzinfo=None),  # Excel has no time zones
            row.source_name,
            row.title,
            row.url,
            report.campaign_name,
            row.story_id,
            outlets[row.story_id],
        ]
        for row in rows
    ]


class _Rows:
    """Appends rows to a sheet (cell by cell: reading `max_row` back per row is quadratic in openpyxl)."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.row = 0

    def add(self, values: Sequence[CellValue] = ()) -> list[Cell]:
        """Append a row; text stays text (a title "=1+1" is a title, not a formula)."""
        self.row += 1
        cells = []
        for column, value in enumerate(values, start=1):
            cell = self.sheet.cell(self.row, column)
            assert isinstance(cell, Cell)  # never a merged cell: nothing is merged
            cell.value = _text(value) if isinstance(value, str) else value
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        return cells


def _articles(sheet: Worksheet, report: CampaignReport, rows: Sequence[ArticleRow], lang: str) -> None:
    out = _Rows(sheet)
    headers = out.add([label(key, lang) for key, _width in _ARTICLE_COLUMNS])
    for cell, (_key, width) in zip(headers, _ARTICLE_COLUMNS, strict=True):
        sheet.column_dimensions[cell.column_letter].width = width
        cell.font = Font(bold=True)
    for values in _article_values(report, rows):
        cells = out.add(values)
        cells[0].number_format = _DATE_FORMAT
        _link(cells[3], str(values[3]))
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{headers[-1].column_letter}{out.row}"


def _summary(sheet: Worksheet, report: CampaignReport, lang: str) -> None:
    period = report.period
    change = report.change
    out = _Rows(sheet)
    out.add([label("summary_title", lang)])[0].font = Font(bold=True, size=12)
    out.add([report.campaign_name])[0].font = Font(bold=True, size=16)
    out.add([label("period", lang), date_span(period.first, period.last)])
    out.add([label("total", lang), report.total])
    out.add([label("previous", lang, days=period.days), report.previous_total])
    trend = label("new", lang) if change is None else round(change / 100, 4)
    out.add([label("change", lang), trend])[1].number_format = "+0.0%;-0.0%;0%"
    share = report.share_of_voice.get(report.campaign_id, 0.0)
    out.add([label("share_of_voice", lang), share])[1].number_format = "0.0%"
    _table(out, label("by_outlet", lang), [label(k, lang) for k in ("col_outlet", "col_articles", "col_share")])
    for source_id, n in report.by_source.items():
        cells = out.add([report.source_name(source_id), n, n / report.total if report.total else 0.0])
        cells[2].number_format = "0.0%"
    _table(out, label("top_stories", lang), [label(k, lang) for k in ("col_title", "col_sources", "col_articles")])
    for story in report.top_stories:
        names = ", ".join(report.source_name(s) for s in story.sources)
        _link(out.add([story.title, names, story.articles])[0], story.url)
    for column, width in (("A", 48), ("B", 24), ("C", 12)):
        sheet.column_dimensions[column].width = width


def _table(out: _Rows, title: str, headers: list[str]) -> None:
    out.add()
    out.add([title])[0].font = Font(bold=True, size=12)
    for cell in out.add(headers):
        cell.font = Font(bold=True)


def _link(cell: Cell, url: str) -> None:
    if url.startswith(("https://", "http://")):
        cell.hyperlink = url
        cell.style = "Hyperlink"


def _text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
