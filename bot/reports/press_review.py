"""The daily press review (điểm báo): one local day's articles about the organization and its campaigns.

Made from the stored matches only (bot.saved_queries: `organization_articles` for department
news and warnings, `campaign_articles` for campaigns), never a new search, so it lists what
/news, /campaign and the alerts counted. Sections in this order, each grouped by outlet
(the busiest first), oldest article first within an outlet:

    ⚠ warnings          articles naming the organization with a warning term
    one per campaign    in configuration order; an article in two campaigns under the first
    department news     the rest of the articles naming the organization

Each article appears once. `review_markdown` writes it as Markdown; bot.reports.review_docx
as a Word document; the chat message is made by bot.telegram.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.department_news import organization_matches
from bot.config import Config
from bot.reports import store
from bot.reports.labels import label
from bot.reports.period import PeriodError, ReportPeriod
from bot.textnorm import nfc

SUMMARY_CHARS = 200  # one line of a printed page
_YESTERDAY = {"hôm qua", "hom qua", "yesterday"}
_TODAY = {"hôm nay", "hom nay", "today"}
_DAY = re.compile(r"^(?:(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})/(\d{1,2})(?:/(\d{4}))?)$")
DAY_EXAMPLES = "2026-09-14, 14/9/2026, 14/9, hôm qua, hôm nay"
WARNINGS, NEWS = "warnings", "news"


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One article as the review lists it."""

    id: int
    source_id: str
    source_name: str
    published_at: datetime  # local time
    dated: bool
    title: str
    url: str
    summary: str  # one line, cut at a word boundary
    warning_term: str | None


@dataclass(frozen=True, slots=True)
class ReviewSection:
    """Warnings, one campaign, or department news: its articles grouped by outlet."""

    key: str  # WARNINGS, a campaign id, or NEWS
    name: str
    outlets: tuple[tuple[str, tuple[ReviewItem, ...]], ...]  # (outlet name, its articles)

    @property
    def count(self) -> int:
        return sum(len(items) for _name, items in self.outlets)


@dataclass(frozen=True)
class PressReview:
    """One day's review; empty sections are left out."""

    organization: str
    day: date
    sections: tuple[ReviewSection, ...]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.sections)

    @property
    def warnings(self) -> int:
        return sum(s.count for s in self.sections if s.key == WARNINGS)

    def heading(self, lang: str) -> tuple[str, str]:
        """(title line, date line), e.g. ("ĐIỂM BÁO — Sở …", "Ngày 14/09/2026")."""
        title = f"{label('review_title', lang)} — {self.organization}"
        return title, label("review_day", lang, date=f"{self.day:%d/%m/%Y}")


def review_day(text: str, now: datetime) -> date:
    """The day a review is asked for: yesterday by default; PeriodError (one line) for anything else."""
    typed = " ".join(nfc(text or "")[:40].lower().split())
    if not typed or typed in _YESTERDAY:
        return now.date() - timedelta(days=1)
    if typed in _TODAY:
        return now.date()
    match = _DAY.match(typed)
    try:
        if match is None:
            raise ValueError
        year, month, day, d2, m2, y2 = match.groups()
        wanted = date(int(year), int(month), int(day)) if year else date(int(y2 or now.year), int(m2), int(d2))
    except ValueError:
        raise PeriodError(f"not a day: {text[:40]!r}; e.g. {DAY_EXAMPLES}", "bad_day", value=text[:40]) from None
    if wanted > now.date():
        raise PeriodError(f"{wanted:%d/%m/%Y} is in the future", "day_future", value=f"{wanted:%d/%m/%Y}")
    return wanted


def press_review(conn: sqlite3.Connection, config: Config, day: date) -> PressReview:
    """The review of local `day` from the stored matches."""
    tz = config.organization.tz
    period = ReportPeriod(day, day, tz)
    org = organization_matches(conn, period.start.timestamp(), period.end.timestamp())
    terms = {m.id: m.warning_term for m in org}
    placed: dict[int, str] = {m.id: WARNINGS for m in org if m.warning_term}
    for campaign in config.campaigns:
        for match in store.matches(conn, campaign.id, period):
            placed.setdefault(match.id, campaign.id)
    for article in org:
        placed.setdefault(article.id, NEWS)
    items = press_review_items(conn, list(placed), terms, tz)
    lang = config.organization.language
    names = {WARNINGS: label("review_warnings", lang), NEWS: label("review_news", lang)}
    names.update({c.id: label("review_campaign", lang, name=c.name) for c in config.campaigns})
    order = [WARNINGS, *(c.id for c in config.campaigns), NEWS]
    sections = []
    for key in order:
        members = [items[i] for i, where in placed.items() if where == key and i in items]
        if members:
            sections.append(ReviewSection(key, names[key], _by_outlet(members)))
    return PressReview(config.organization.name, day, tuple(sections))


def press_review_items(
    conn: sqlite3.Connection, ids: Sequence[int], terms: dict[int, str | None], tz: ZoneInfo
) -> dict[int, ReviewItem]:
    """The articles `ids` as the review lists them (`terms`: their warning terms)."""
    found: dict[int, ReviewItem] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            f"""SELECT a.id, a.source_id, coalesce(s.name, a.source_id), a.published_ts, a.undated, a.title, a.url,
                       a.summary FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                WHERE a.id IN ({",".join("?" * len(chunk))})""",
            chunk,
        )
        for article_id, source_id, name, ts, undated, title, url, summary in rows:
            published = datetime.fromtimestamp(ts, tz)
            line = one_line(summary or "", SUMMARY_CHARS)
            found[article_id] = ReviewItem(
                article_id, source_id, name, published, not undated, " ".join(title.split()), url, line,
                terms.get(article_id),
            )  # fmt: skip
    return found


def _by_outlet(items: Sequence[ReviewItem]) -> tuple[tuple[str, tuple[ReviewItem, ...]], ...]:
    """Outlets with the most articles first (then by name); each outlet's articles oldest first."""
    groups: dict[str, list[ReviewItem]] = {}
    for item in sorted(items, key=lambda i: (i.published_at, i.id)):
        groups.setdefault(item.source_id, []).append(item)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0].source_name.casefold()))
    return tuple((group[0].source_name, tuple(group)) for group in ordered)


def one_line(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters, cut at a word boundary with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:-–") + "…"


def item_time(item: ReviewItem) -> str:
    """`HH:MM`, or `--:--` when the feed gave no date."""
    return f"{item.published_at:%H:%M}" if item.dated else "--:--"


def review_markdown(review: PressReview, lang: str) -> str:
    """The review as Markdown: heading, then sections, outlets and one line per article."""
    title, day = review.heading(lang)
    lines = [f"# {title}", "", f"**{day}** · {label('review_total', lang, n=review.total, warnings=review.warnings)}"]
    for section in review.sections:
        lines += ["", f"## {section.name} ({section.count})"]
        for outlet, items in section.outlets:
            lines += ["", f"### {outlet} ({len(items)})", ""]
            for item in items:
                term = f" — ⚠ {label('review_term', lang, term=item.warning_term)}" if item.warning_term else ""
                summary = f"  \n  {_md(item.summary)}" if item.summary else ""
                lines.append(f"- {item_time(item)} [{_md(item.title)}](<{item.url}>){term}{summary}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Markdown's link and emphasis characters escaped."""
    return "".join("\\" + c if c in "\\[]*_`<>#" else c for c in text)
