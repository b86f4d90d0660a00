"""`mediabot report` and `mediabot export`: a campaign's coverage from the stored matches, on a read-only database.

Imported only by these two commands: bot.services.reports brings matplotlib (~0.5–1.3 s to import).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

from bot.cli.commands import count, write_file
from bot.config import Config
from bot.reports.export import TooManyRows
from bot.reports.labels import date_span
from bot.reports.numbers import CampaignReport
from bot.reports.period import read_period
from bot.services.reports import export_of, report_of
from bot.store.db import open_readonly


def report(config: Config, db_path: str, campaign_id: str, period_text: str, *, as_json: bool) -> int:
    """Print a campaign's report (or its `--json` object)."""
    period = read_period(period_text, datetime.now(config.organization.tz))
    conn = open_readonly(db_path)
    try:
        result = report_of(conn, config, campaign_id, period)
    finally:
        conn.close()
    print(json.dumps(result.to_json(), ensure_ascii=False) if as_json else report_text(result))
    return 0


def report_text(report: CampaignReport) -> str:
    """The report for a terminal: totals, share of voice, outlets, days, top stories."""
    period = report.period
    change = report.change
    trend = "new" if change is None else f"{'↑' if change >= 0 else '↓'} {abs(change):.0f}%"
    share = report.share_of_voice.get(report.campaign_id, 0.0) * 100
    span = f"{date_span(period.first, period.last)} ({count(period.days, 'day')})"
    lines = [
        f"{report.campaign_name} ({report.campaign_id}) · {span}",
        f"total: {count(report.total, 'article')}; previous {period.days} days: {report.previous_total} ({trend})",
        f"share of voice: {share:.1f}% of the articles of {count(len(report.share_of_voice), 'campaign')}",
        "by outlet:",
        *(f"  {n:>6}  {report.source_name(s)} ({s})" for s, n in report.by_source.items()),
        "by day:",
        *(f"  {day:%d/%m/%Y}  {n:>6}" for day, n in report.by_day.items()),
        "top stories:",
        *(f"  {s.articles:>3} × {s.title} — {', '.join(s.sources)}" for s in report.top_stories),
    ]
    return "\n".join(lines)


def export(config: Config, db_path: str, campaign_id: str, period_text: str, *, fmt: str, output: Path | None) -> int:
    """Write every matched article as XLSX or CSV, to a file or to stdout (not a terminal for XLSX)."""
    period = read_period(period_text, datetime.now(config.organization.tz))
    if output is None and fmt == "xlsx" and sys.stdout.isatty():
        print("error: an XLSX file is binary: write it with -o FILE (or redirect the output)", file=sys.stderr)
        return 2
    conn = open_readonly(db_path)
    try:
        file = export_of(conn, report_of(conn, config, campaign_id, period), fmt, config.organization.language)
    except TooManyRows as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if output is None:
        sys.stdout.buffer.write(file.data)
        return 0
    return write_file(output, file.data)
