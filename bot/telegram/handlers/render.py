"""Service results → Telegram HTML, as pure functions of the result, the language and the timezone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.search.query import MAX_TOKENS
from bot.services.admin import FeedPreview, Reloaded
from bot.services.archive import Answer, CampaignCount
from bot.store.sources import SourceStatus
from bot.telegram.format import esc, format_hits, format_results, local_time
from bot.telegram.i18n import Html, nothing_found, question_period, summary_line, t, t_plain

_HEALTH_ICON = {
    "ok": "✅",
    "new": "🆕",
    "failing": "⚠️",
    "silent": "💤",
    "paused": "⏸",
    "deactivated": "⛔",
    "removed": "🗑",
    "inactive": "⏹",
}


def page_count(answer: Answer) -> int:
    """How many pages the answer has."""
    size = max(1, answer.page.limit)
    return max(1, math.ceil(answer.page.total / size))


def page_index(answer: Answer) -> int:
    """Which page (from 0) this answer shows."""
    return answer.page.offset // max(1, answer.page.limit)


def render_answer(
    answer: Answer, lang: str, tz: ZoneInfo, *, snippets: bool = True, now: datetime | None = None
) -> list[str]:
    """Summary line plus numbered hits, packed into messages <= 4096."""
    page = answer.page
    if not page.hits and not answer.warnings:
        return [_nothing(answer, lang)]
    hits = (*answer.warnings, *page.hits)
    blocks = format_hits(hits, tz, start_index=page.offset + 1, with_snippets=snippets, lang=lang, now=now)
    terms = answer.warning_terms
    marked = [_warned(b, terms.get(h.id), lang) for h, b in zip(hits, blocks, strict=True)]
    return format_results(_heading(answer, lang), marked)


def _warned(block: str, term: str | None, lang: str) -> str:
    """A hit that is a warning: ⚠ and its term on the line above."""
    return f"{t('news.warning', lang, term=term)}\n{block}" if term else block


def _heading(answer: Answer, lang: str) -> str:
    kind, page = answer.request.kind, answer.page
    outlets = [(name, count) for _id, name, count in page.top_sources]
    if kind == "ask" and answer.question is not None:
        line = summary_line(page.total, lang, period=question_period(answer.question, lang), outlets=outlets)
        dropped = answer.question.dropped_words
        return line + "\n" + t("ask.truncated", lang, max=MAX_TOKENS, n=dropped) if dropped else line
    if kind == "latest":
        if not answer.request.text:
            return t("latest.header_all", lang)
        return t("latest.header", lang, outlet=page.hits[0].source_name if page.hits else answer.request.text)
    if kind == "news":
        return t("news.header", lang)
    return summary_line(page.total, lang, outlets=outlets)


def _nothing(answer: Answer, lang: str) -> str:
    kind = answer.request.kind
    if kind == "ask" and answer.question is not None:
        return nothing_found(answer.question, lang, broader=answer.broader)
    if kind == "latest":
        return t("latest.empty", lang)
    if kind == "news":
        return t("news.empty", lang)
    example = Html(f"<code>{esc(t_plain('search.example', lang))}</code>")
    return t("search.nothing", lang, period="", example=example)


def render_sources(statuses: Sequence[SourceStatus], lang: str, tz: ZoneInfo, now: datetime) -> str:
    """One line per outlet with its health; long lists are split by the sender."""
    if not statuses:
        return t("sources.empty", lang)
    rows = [t("sources.header", lang, n=len(statuses))]
    for status in statuses:
        state = status.state(now)
        rows.append(
            t(
                "sources.row",
                lang,
                icon=_HEALTH_ICON.get(state, "•"),
                name=status.name,
                source_id=status.id,
                state=Html(_health(status, state, lang, tz, now)),
            )
        )
    return "\n".join(rows)


def _health(status: SourceStatus, state: str, lang: str, tz: ZoneInfo, now: datetime) -> str:
    if state == "failing":
        since = _when(status.failing_since or status.last_error_at, tz, now)
        return t("health.failing", lang, since=since, reason=status.last_error or "?")
    if state == "silent":
        return t("health.silent", lang, since=_when(status.last_new_article_at or status.created_at, tz, now))
    if state == "deactivated":
        return t("health.deactivated", lang, reason=status.deactivated_reason or "?")
    if state == "removed":
        return t("health.removed_chat" if status.removed_by == "chat" else "health.removed_config", lang)
    if state == "inactive":
        return t("health.inactive", lang)
    if state == "new":
        return t("health.pending", lang)
    if state == "paused":
        return t("health.paused", lang)
    return t("health.ok", lang)


def _when(iso: str | None, tz: ZoneInfo, now: datetime) -> str:
    if not iso:
        return "?"
    return local_time(datetime.fromisoformat(iso), tz, now)


def render_campaigns(campaigns: Sequence[CampaignCount], lang: str) -> str:
    """Each campaign with its coverage over 7 and 30 days."""
    if not campaigns:
        return t("campaigns.empty", lang)
    rows = [t("campaigns.row", lang, name=c.name, d7=c.last_7d, d30=c.last_30d) for c in campaigns]
    return "\n".join([t("campaigns.header", lang), *rows])


def render_reloaded(result: Reloaded, lang: str) -> str:
    """/reload's reply: what is configured now, which campaigns were re-tagged or dropped."""
    config, retag = result.config, result.retag
    lines = [t("admin.reloaded", lang, sources=len(config.sources), campaigns=len(config.campaigns))]
    if retag.retagged:
        names = {c.id: c.name for c in config.campaigns}
        done = ", ".join(f"{names.get(cid, cid)} ({n})" for cid, n in retag.retagged.items())
        lines.append(t("admin.retagged", lang, campaigns=done))
    if retag.dropped:
        lines.append(t("admin.campaigns_dropped", lang, campaigns=", ".join(retag.dropped)))
    return "\n".join(lines)


def render_stats(stats: dict[str, int | str], lang: str) -> str:
    """/stats as one message."""
    return (
        t(
            "admin.stats",
            lang,
            articles=stats.get("articles", 0),
            articles_24h=stats.get("articles_24h", 0),
            sources=stats.get("sources_active", 0),
            failing=stats.get("sources_failing", 0),
            users=stats.get("users_approved", 0),
            db_size=human_size(int(stats.get("db_bytes", 0) or 0)),
        )
        + "\n"
        + t(
            "admin.stats_alerts",
            lang,
            subscriptions=stats.get("subscriptions", 0),
            paused=stats.get("subscriptions_paused", 0),
            pending=stats.get("outbox_pending", 0),
            oldest=stats.get("outbox_oldest_s", 0),
            sent=stats.get("outbox_sent", 0),
            failed=stats.get("outbox_failed", 0),
            blocked=stats.get("chats_blocked", 0),
        )
    )


def human_size(size: int) -> str:
    """'12.3 MB' for a byte count."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def render_preview(preview: FeedPreview, lang: str) -> str:
    """What /addsource found, before the admin confirms."""
    text = t("admin.addsource_preview", lang, title=preview.title, count=preview.items, source_id=preview.source_id)
    samples = "\n".join(f"• {esc(title)}" for title in preview.sample_titles)
    return f"{text}\n{samples}" if samples else text


def utc_now() -> datetime:
    """The current time (aware), for health states."""
    return datetime.now(UTC)
