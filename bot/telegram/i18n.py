"""User-facing text in Vietnamese (default) and English.

`t(key, lang, **values)` returns Telegram HTML: the template's own markup is kept and
every value is escaped, unless it is an `Html` (already-safe markup such as a link
built by `bot.telegram.format`). A key missing in English falls back to Vietnamese;
a key missing in both raises KeyError (a test checks every key that bot/ passes to `t`).

Plurals (English has them, Vietnamese does not): `{n:article|articles}` in a template
is "article" when the value `n` is 1, else "articles"; a template that differs as a
whole is a dict of forms ("one", "other") chosen by the value `n` (or `count`).
"""

from __future__ import annotations

import calendar
import html
import re
import string
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.search.broaden import WIDER_PERIOD
from bot.search.query import Query
from bot.search.question import Question
from bot.telegram.locales import en, vi
from bot.textnorm import encodable

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CATALOGUES: Mapping[str, Mapping[str, str | dict[str, str]]] = {"vi": vi.MESSAGES, "en": en.MESSAGES}
_TAG = re.compile(r"<[^>]*>")
# Periods whose label, typed back into a question, reads as the same period.
_REREADABLE = frozenset(WIDER_PERIOD) | {
    "period.this_year", "period.last_year", "period.last_n_days", "period.since_date", "period.month",
    "period.quarter", "period.year",
}  # fmt: skip


class Html(str):
    """Text that already is valid Telegram HTML; `t()` inserts it without escaping."""

    __slots__ = ()


def _template(key: str, lang: str, n: object) -> str:
    catalogue = CATALOGUES.get(lang, CATALOGUES[DEFAULT_LANGUAGE])
    entry = catalogue.get(key)
    if entry is None:
        entry = CATALOGUES[DEFAULT_LANGUAGE][key]  # KeyError names the missing key
    if isinstance(entry, dict):
        return entry["one"] if n == 1 and "one" in entry else entry["other"]
    return entry


class _PluralFormatter(string.Formatter):
    """str.format, plus `{name:one|other}`: the word form for the count in `name`."""

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec:
            one, _, other = format_spec.partition("|")
            return one if str(value).strip() == "1" else other
        return super().format_field(value, format_spec)


_FORMATTER = _PluralFormatter()


def _escape(value: object) -> str:
    if isinstance(value, Html):
        return str(value)
    return html.escape(encodable(str(value)), quote=False)


def t(key: str, lang: str, **values: object) -> str:
    """The message `key` in `lang` as Telegram HTML, with `values` escaped into it."""
    count = values.get("n", values.get("count"))
    template = _template(key, lang, count)
    return _FORMATTER.format(template, **{name: _escape(value) for name, value in values.items()})


def t_plain(key: str, lang: str, **values: object) -> str:
    """The message `key` as plain text (button labels, callback answers): no tags, no entities."""
    count = values.get("n", values.get("count"))
    template = html.unescape(_TAG.sub("", _template(key, lang, count)))
    return _FORMATTER.format(template, **{name: str(value) for name, value in values.items()})


def pick_language(user_language_code: str | None, stored: str | None, default: str) -> str:
    """The user's stored choice, else English for en* Telegram clients, else `default` (vi)."""
    if stored in LANGUAGES:
        return stored
    code = (user_language_code or "").strip().lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("vi"):
        return "vi"
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


def count_articles(n: int, lang: str) -> str:
    """ "1 article" / "2 articles" / "5 bài"."""
    return t("count.articles", lang, n=n)


def period_label(
    period: str | None,
    lang: str,
    *,
    days: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """Label of a period key from `bot.search.question` ("tuần này", "tháng 9/2026"); "" for none."""
    if not period:
        return ""
    values: dict[str, object] = {"n": days if days is not None else 0, "date": ""}
    if since is not None:
        values |= {
            "date": since.strftime("%d/%m/%Y"),
            "month": calendar.month_name[since.month] if lang == "en" else since.month,
            "quarter": (since.month - 1) // 3 + 1,
            "year": since.year,
            "start": f"{since.day}/{since.month}",
            "end": "",
        }
    if since is not None and until is not None:
        last = until - timedelta(days=1)
        values["end"] = f"{last.day}/{last.month}/{last.year}"
        if last.year != since.year:
            values["start"] = f"{since.day}/{since.month}/{since.year}"
    return t(period, lang, **values)


def question_period(question: Question, lang: str) -> str:
    """Label of the period a question asked about; "" when it named none."""
    return period_label(question.period, lang, days=question.period_days, since=question.since, until=question.until)


def summary_line(n: int, lang: str, *, period: str = "", outlets: Sequence[tuple[str, int]] = ()) -> str:
    """'Tìm thấy 12 bài tuần này, nhiều nhất trên Báo Phú Thọ (7)' as HTML (`period` is a label)."""
    line = t("summary.found", lang, n=n, period=Html(f" {period}") if period else "")
    if outlets:
        parts = [t("summary.outlet_count", lang, name=name, n=count) for name, count in outlets[:3]]
        line += t("summary.most_in", lang, outlets=Html(", ".join(parts)))
    return line


def suggest_broader(question: Question, lang: str, campaign_name: str = "", broader: Query | None = None) -> str:
    """A question to try when nothing matched, made of whole words only.

    In order: the same words over a longer period; the same words on every outlet; the
    words without the unit that matched least (`broader`, from the service); else an example.
    """
    words = question.query.text() or campaign_name
    wider = WIDER_PERIOD.get(question.period or "")
    if wider and words:
        return f"{words} {t_plain(wider, lang)}"
    same = _same_period(question, lang)
    if question.source_ids and words:
        return " ".join(filter(None, (words, same)))
    if broader is not None and broader.has_words:
        return " ".join(filter(None, (broader.text(), same)))
    return t_plain("search.example", lang)


def _same_period(question: Question, lang: str) -> str:
    if question.period not in _REREADABLE:
        return ""
    return html.unescape(_TAG.sub("", question_period(question, lang)))


def nothing_found(question: Question, lang: str, campaign_name: str = "", broader: Query | None = None) -> str:
    """'Không tìm thấy bài nào tuần này. Thử bỏ bớt từ khóa…, ví dụ: <code>…</code>'."""
    period = question_period(question, lang)
    suggestion = suggest_broader(question, lang, campaign_name, broader)
    example = Html(f"<code>{_escape(suggestion)}</code>")
    return t("search.nothing", lang, period=Html(f" {period}") if period else "", example=example)
