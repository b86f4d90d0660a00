"""Campaign reports for the bot and the command line: numbers, chart, files.

The functions at the top take a connection and are what `mediabot report` / `mediabot
export` call on a read-only database; `ReportService` runs the same on the bot's reader
threads, so charts are drawn off the event loop. Importing this module imports matplotlib
(through bot.reports.chart): `mediabot run` pays for it once, at start.

Errors: UnknownCampaign (closest ids named) and PeriodError, both QueryErrors with a
catalogue code; TooManyRows when a spreadsheet would be too large.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.reports.campaigns import campaign_for_topic, find_campaign
from bot.reports.chart import comparison_chart, outlet_chart
from bot.reports.export import to_csv, to_xlsx
from bot.reports.numbers import CampaignReport, Comparison, campaign_report, comparison
from bot.reports.period import ReportPeriod, period_of, read_period
from bot.reports.store import article_rows
from bot.runtime import Runtime
from bot.services.archive import read_question

FORMATS = ("xlsx", "csv")


@dataclass(frozen=True)
class ReportView:
    """A report and its chart (None when the period has no article: nothing to draw)."""

    report: CampaignReport
    chart: bytes | None


@dataclass(frozen=True)
class ComparisonView:
    comparison: Comparison
    chart: bytes | None


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    report: CampaignReport


def report_of(conn: sqlite3.Connection, config: Config, typed_id: str, period: ReportPeriod) -> CampaignReport:
    """The report of the campaign typed as `typed_id` (UnknownCampaign names the closest ids)."""
    campaign = find_campaign(config.campaigns, typed_id)
    return campaign_report(conn, campaign, config.campaigns, period)


def export_of(conn: sqlite3.Connection, report: CampaignReport, fmt: str, lang: str) -> ExportFile:
    """Every matched article of the report's campaign and period as XLSX (with the chart) or CSV."""
    rows = article_rows(conn, report.campaign_id, report.period)
    if fmt == "csv":
        data = to_csv(report, rows, lang)
    else:
        data = to_xlsx(report, rows, outlet_chart(report, lang) if report.total else None, lang)
    name = f"{report.campaign_id}_{report.period.first.isoformat()}_{report.period.last.isoformat()}.{fmt}"
    return ExportFile(name, data, report)


def view_of(report: CampaignReport, lang: str) -> ReportView:
    return ReportView(report, outlet_chart(report, lang) if report.total else None)


class ReportService:
    """Reports on the bot's reader threads (SQLite and matplotlib's Agg both release the GIL)."""

    def __init__(self, runtime: Runtime, *, clock: Callable[[], datetime] | None = None) -> None:
        self.runtime = runtime
        self._clock = clock or (lambda: datetime.now(self.runtime.config.organization.tz))

    async def campaign(self, typed_id: str, period_text: str = "", *, lang: str) -> ReportView:
        """`/campaign ID [period]`: the report with its chart."""
        period = read_period(period_text, self._clock())
        return await self.runtime.read(lambda rt: view_of(report_of(rt.reader(), rt.config, typed_id, period), lang))

    async def compare(self, period_text: str = "", *, lang: str) -> ComparisonView:
        """`/compare [period]`: every campaign's daily articles on one chart."""
        period = read_period(period_text, self._clock())

        def build(rt: Runtime) -> ComparisonView:
            result = comparison(rt.reader(), rt.config.campaigns, period)
            drawn = any(c.total for c in result.campaigns)
            return ComparisonView(result, comparison_chart(result, lang) if drawn else None)

        return await self.runtime.read(build)

    async def export(self, typed_id: str, period_text: str = "", *, lang: str, fmt: str = "xlsx") -> ExportFile:
        """`/export ID [period]`: the spreadsheet of every matched article."""
        period = read_period(period_text, self._clock())

        def build(rt: Runtime) -> ExportFile:
            conn = rt.reader()
            return export_of(conn, report_of(conn, rt.config, typed_id, period), fmt, lang)

        return await self.runtime.read(build)

    async def from_question(self, text: str, *, lang: str) -> ReportView | None:
        """The report a chat question asks for ("báo cáo chuyển đổi số tháng này"); None when it asks for articles."""
        now = self._clock()
        return await self.runtime.read(lambda rt: self._from_question(rt, text, now, lang))

    def _from_question(self, rt: Runtime, text: str, now: datetime, lang: str) -> ReportView | None:
        question = read_question(rt, text, now)
        topic, campaigns = question.topic, rt.config.campaigns
        if not question.report or topic is None:
            return None
        if question.campaign_id is not None:
            # Words beyond the campaign ("báo cáo chuyển đổi số y tế") ask for articles.
            named = None if topic.groups or topic.excluded or topic.sources else question.campaign_id
            campaign = next((c for c in campaigns if c.id == named), None)
        else:
            campaign = campaign_for_topic(topic, campaigns, now, rt.config.organization.tz)
        if campaign is None:
            return None
        report = campaign_report(rt.reader(), campaign, campaigns, period_of(question, now))
        return view_of(report, lang)
