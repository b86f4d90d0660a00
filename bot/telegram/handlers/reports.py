"""/campaign, /compare, /export and report questions: a chart as a photo, a spreadsheet as a document."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.errors import QueryError
from bot.reports.campaigns import UnknownCampaign
from bot.reports.chart import MAX_SERIES
from bot.reports.export import TooManyRows
from bot.reports.period import PeriodError
from bot.services.reports import ReportView
from bot.telegram.context import BotContext
from bot.telegram.handlers.common import command_text, reply, reply_target
from bot.telegram.handlers.report_render import (
    comparison_text,
    empty_report,
    export_caption,
    report_caption,
    report_error,
)
from bot.telegram.i18n import t


async def campaign(update: Update, ctx: BotContext) -> None:
    """/campaign ID [period]: the coverage report with its chart."""
    typed_id, _, period = command_text(update).partition(" ")
    if not typed_id:
        await _usage(update, ctx, "report.usage")
        return
    try:
        view = await ctx.reports.campaign(typed_id, period, lang=ctx.lang)
    except (UnknownCampaign, PeriodError) as err:
        await reply(update, ctx, report_error(err, ctx.lang))
        return
    await send_report(update, ctx, view)


async def compare(update: Update, ctx: BotContext) -> None:
    """/compare [period]: every campaign's daily articles on one chart."""
    if not ctx.config.campaigns:
        await reply(update, ctx, t("report.no_campaigns", ctx.lang))
        return
    try:
        view = await ctx.reports.compare(command_text(update), lang=ctx.lang)
    except (UnknownCampaign, PeriodError) as err:
        await reply(update, ctx, report_error(err, ctx.lang))
        return
    text = comparison_text(view.comparison, ctx.lang, MAX_SERIES)
    if view.chart is None:
        await reply(update, ctx, f"{text}\n{t('compare.empty', ctx.lang)}")
        return
    await _photo(update, ctx, view.chart, text)


async def export(update: Update, ctx: BotContext) -> None:
    """/export ID [period]: an XLSX of every matched article, the summary and the chart."""
    typed_id, _, period = command_text(update).partition(" ")
    if not typed_id:
        await _usage(update, ctx, "export.usage")
        return
    try:
        file = await ctx.reports.export(typed_id, period, lang=ctx.lang)
    except (UnknownCampaign, PeriodError) as err:
        await reply(update, ctx, report_error(err, ctx.lang))
        return
    except TooManyRows as err:
        await reply(update, ctx, t("export.too_many", ctx.lang, n=err.rows))
        return
    target = reply_target(update)
    if target is not None:
        await ctx.bot.send_document(
            target.chat_id,
            InputFile(file.data, filename=file.filename),
            caption=export_caption(file.report, ctx.lang),
            message_thread_id=target.thread_id,
            reply_parameters=target.quote,
        )


async def answer_report(update: Update, ctx: BotContext, question: str) -> bool:
    """Answer a question that asks for a campaign's report; False when it asks for articles."""
    try:
        view = await ctx.reports.from_question(question, lang=ctx.lang)
    except PeriodError as err:  # "báo cáo chuyển đổi số tháng 12" while it is still ahead
        await reply(update, ctx, report_error(err, ctx.lang))
        return True
    except QueryError:  # since:2m and the like: the question handler explains it
        return False
    if view is None:
        return False
    await send_report(update, ctx, view)
    return True


async def send_report(update: Update, ctx: BotContext, view: ReportView) -> None:
    """The chart as a photo with the summary as its caption; text alone when the period has no article."""
    if view.chart is None:
        await reply(update, ctx, empty_report(view.report, ctx.lang))
        return
    await _photo(update, ctx, view.chart, report_caption(view.report, ctx.lang))


async def _photo(update: Update, ctx: BotContext, png: bytes, caption: str) -> None:
    target = reply_target(update)
    if target is not None:
        await ctx.bot.send_photo(
            target.chat_id,
            InputFile(png, filename="chart.png"),
            caption=caption,
            message_thread_id=target.thread_id,
            reply_parameters=target.quote,
        )


async def _usage(update: Update, ctx: BotContext, key: str) -> None:
    campaigns = ctx.config.campaigns
    if not campaigns:
        await reply(update, ctx, t("report.no_campaigns", ctx.lang))
        return
    ids = ", ".join(c.id for c in campaigns)
    await reply(update, ctx, t(key, ctx.lang, example=campaigns[0].id, campaigns=ids))
