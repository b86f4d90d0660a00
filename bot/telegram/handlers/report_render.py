"""Reports → Telegram HTML: the photo caption (<= 1,024 characters), the comparison, the export caption.

Pure functions of the report and the language. A caption is packed line by line and stops
before the limit, so a long campaign name, many outlets or long titles never make Telegram
refuse the photo.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import QueryError
from bot.reports.labels import date_span
from bot.reports.numbers import CampaignReport, Comparison
from bot.telegram.format import link, truncate_text
from bot.telegram.i18n import Html, t

CAPTION_LIMIT = 1024
MAX_OUTLETS = 5
MAX_STORIES = 5
_STORY_TITLE = 90
_OUTLET_NAME = 40


def report_caption(report: CampaignReport, lang: str, limit: int = CAPTION_LIMIT) -> str:
    """Title, total with the change, share of voice, top outlets, then as many top stories as fit."""
    period = report.period
    lines = [
        t(
            "report.title",
            lang,
            name=truncate_text(report.campaign_name, 120),
            period=date_span(period.first, period.last),
        ),
        t(
            "report.total",
            lang,
            n=report.total,
            change=Html(change_text(report.total, report.previous_total, lang)),
            days=period.days,
            previous=report.previous_total,
        ),
        t(
            "report.share",
            lang,
            pct=percent(report.share_of_voice.get(report.campaign_id, 0.0) * 100, lang),
            count=len(report.share_of_voice),
        ),
    ]
    top = list(report.by_source.items())[:MAX_OUTLETS]
    outlets = [f"{truncate_text(report.source_name(s), _OUTLET_NAME)} ({n})" for s, n in top]
    if outlets:
        lines.append(t("report.outlets", lang, outlets=", ".join(outlets)))
    stories = [_story(report, i, lang) for i in range(min(MAX_STORIES, len(report.top_stories)))]
    return _pack(lines, [t("report.stories", lang), *stories] if stories else [], limit)


def empty_report(report: CampaignReport, lang: str) -> str:
    """The message for a period without articles (no chart to send)."""
    period = report.period
    title = t("report.title", lang, name=report.campaign_name, period=date_span(period.first, period.last))
    return f"{title}\n{t('report.empty', lang, previous=report.previous_total)}"


def comparison_text(comparison: Comparison, lang: str, shown: int, limit: int = CAPTION_LIMIT) -> str:
    """Each campaign's total and change; the chart shows the first `shown`."""
    period = comparison.period
    lines = [t("compare.title", lang, period=date_span(period.first, period.last))]
    rows = [
        t(
            "compare.row",
            lang,
            name=truncate_text(c.name, 60),
            n=c.total,
            change=Html(change_text(c.total, c.previous_total, lang)),
        )
        for c in comparison.campaigns
    ]
    more = [t("compare.more", lang, shown=shown)] if len(comparison.campaigns) > shown else []
    return _pack(lines, [*rows, *more], limit)


def export_caption(report: CampaignReport, lang: str) -> str:
    period = report.period
    name = truncate_text(report.campaign_name, 120)
    return t("export.caption", lang, name=name, period=date_span(period.first, period.last), n=report.total)


def change_text(total: int, previous: int, lang: str) -> str:
    """`↑ 15%`, `↓ 8%`, `không đổi`, or `mới có` when the previous period had none."""
    if previous == 0:
        return t("report.same", lang) if total == 0 else t("report.new", lang)
    change = (total - previous) * 100 / previous
    if round(change) == 0:
        return t("report.same", lang)
    return t("report.up" if change > 0 else "report.down", lang, pct=f"{abs(change):.0f}")


def percent(value: float, lang: str) -> str:
    """`34,5` in Vietnamese, `34.5` in English."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "vi" else text


def report_error(err: QueryError, lang: str) -> str:
    """An unknown campaign or an unreadable period, in the user's language."""
    return t(f"report.{err.code}", lang, **err.params)


def _story(report: CampaignReport, index: int, lang: str) -> str:
    story = report.top_stories[index]
    title = link(story.url, truncate_text(story.title, _STORY_TITLE))
    return t("report.story", lang, i=index + 1, title=title, outlets=len(story.sources), n=story.articles)


def _pack(lines: Sequence[str], optional: Sequence[str], limit: int) -> str:
    """The lines joined (short by construction: names are cut), then the optional ones that fit in `limit`."""
    text = "\n".join(lines)
    for extra in optional:
        if len(text) + 1 + len(extra) > limit:
            break
        text += "\n" + extra
    return text
