"""/diembao [date]: the daily press review as a chat message and a Word document; and the HTML of
the scheduled messages (the review, spikes, the admins' weekly digest) that the digest task sends."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.alerts.spikes import Spike
from bot.reports.period import PeriodError
from bot.reports.press_review import PressReview, ReviewItem, item_time
from bot.reports.review_docx import review_docx
from bot.reports.weekly import WeeklyDigest
from bot.telegram.context import BotContext
from bot.telegram.format import MAX_TITLE, esc, link, split_html, truncate_text
from bot.telegram.handlers.common import command_text, reply, reply_target
from bot.telegram.i18n import t

MAX_TOP = 5  # top stories in a spike message


async def diembao(update: Update, ctx: BotContext) -> None:
    """/diembao [date]: yesterday's (or that day's) review: the message, then the .docx to print."""
    try:
        review = await ctx.press_review.review(command_text(update))
    except PeriodError as err:
        await reply(update, ctx, t(f"review.error.{err.code}", ctx.lang, **err.params))
        return
    if not review.total:
        await reply(update, ctx, t("review.empty", ctx.lang, date=f"{review.day:%d/%m/%Y}"))
        return
    await reply(update, ctx, render_press_review(review, ctx.lang))
    target = reply_target(update)
    if target is not None:
        await ctx.bot.send_document(
            target.chat_id,
            InputFile(review_docx(review, ctx.lang), filename=f"diem-bao-{review.day.isoformat()}.docx"),
            caption=t("review.caption", ctx.lang, date=f"{review.day:%d/%m/%Y}"),
            message_thread_id=target.thread_id,
        )


def render_press_review(review: PressReview, lang: str) -> list[str]:
    """Heading, then each section and outlet, one line per article; parts ≤ 4,096 characters."""
    date = f"{review.day:%d/%m/%Y}"
    lines = [t("review.header", lang, date=date, org=review.organization, n=review.total, warnings=review.warnings)]
    for section in review.sections:
        lines.append("\n" + t("review.section", lang, name=section.name, n=section.count))
        for outlet, items in section.outlets:
            lines.append(t("review.outlet", lang, name=outlet, n=len(items)))
            lines += [_item(item, lang) for item in items]
    return split_html("\n".join(lines))


def _item(item: ReviewItem, lang: str) -> str:
    title = link(item.url, truncate_text(item.title, MAX_TITLE))
    line = f"• {esc(item_time(item))} {title}"
    if item.warning_term:
        line += " " + t("review.term", lang, term=item.warning_term)
    return line + (f"\n  <i>{esc(item.summary)}</i>" if item.summary else "")


def render_spike(spike: Spike, lang: str) -> list[str]:
    """One spike: the counts against the baseline, then the top stories with their outlets."""
    ratio = f"{spike.today / spike.baseline:.1f}".replace(".", "," if lang == "vi" else ".") if spike.baseline else "∞"
    baseline = f"{spike.baseline:.1f}".replace(".", "," if lang == "vi" else ".")
    lines = [t("spike.header", lang, name=spike.name, n=spike.today, ratio=ratio, baseline=baseline)]
    if spike.top_stories:
        lines.append(t("spike.top", lang))
    for story in spike.top_stories[:MAX_TOP]:
        outlets = ", ".join(spike.source_names.get(s, s) for s in story.sources)
        title = link(story.url, truncate_text(" ".join(story.title.split()), MAX_TITLE))
        lines.append(f"• {title} — <i>{esc(outlets)}</i> ({story.articles})")
    return split_html("\n".join(lines))


def render_weekly(digest: WeeklyDigest, lang: str) -> list[str]:
    """Per campaign this week / the week before with an arrow, department news, the week's warnings."""
    lines = [t("weekly.header", lang, first=f"{digest.first:%d/%m}", last=f"{digest.last:%d/%m/%Y}")]
    if digest.campaigns:
        lines.append("\n" + t("weekly.campaigns", lang))
        lines += [
            t("weekly.line", lang, arrow=c.arrow, name=c.name, n=c.total, previous=c.previous) for c in digest.campaigns
        ]
    news = digest.news
    lines.append("\n" + t("weekly.news", lang, arrow=news.arrow, n=news.total, previous=news.previous))
    lines.append("\n" + t("weekly.warnings", lang, n=digest.warnings_total))
    lines += [_item(item, lang) for item in digest.warnings]
    return split_html("\n".join(lines))
