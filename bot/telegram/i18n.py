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

import html
import re
import string
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.search.question import Question
from bot.telegram.locales import en, vi

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CATALOGUES: Mapping[str, Mapping[str, str | dict[str, str]]] = {"vi": vi.MESSAGES, "en": en.MESSAGES}
_TAG = re.compile(r"<[^>]*>")
# A shorter question in the same period is the first thing to try when nothing matched;
# a longer period the second.
_WIDER_PERIOD = {
    "period.today": "period.this_week",
    "period.yesterday": "period.this_week",
    "period.last_24_hours": "period.this_week",
    "period.this_week": "period.this_month",
    "period.last_week": "period.this_month",
    "period.this_month": "period.this_year",
    "period.last_month": "period.this_year",
}


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
    return html.escape(str(value), quote=False)


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


def period_label(period: str | None, lang: str, *, days: int | None = None, since: datetime | None = None) -> str:
    """Label of a period key from `bot.search.question` ("tuần này", "in the last 7 days"); "" for none."""
    if not period:
        return ""
    date = since.strftime("%d/%m/%Y") if since else ""
    return t(period, lang, n=days if days is not None else 0, date=date)


def question_period(question: Question, lang: str) -> str:
    """Label of the period a question asked about; "" when it named none."""
    return period_label(question.period, lang, days=question.period_days, since=question.since)


def summary_line(n: int, lang: str, *, period: str = "", outlets: Sequence[tuple[str, int]] = ()) -> str:
    """'Tìm thấy 12 bài tuần này, nhiều nhất trên Báo Phú Thọ (7)' as HTML (`period` is a label)."""
    line = t("summary.found", lang, n=n, period=Html(f" {period}") if period else "")
    if outlets:
        parts = [t("summary.outlet_count", lang, name=name, n=count) for name, count in outlets[:3]]
        line += t("summary.most_in", lang, outlets=Html(", ".join(parts)))
    return line


def suggest_broader(question: Question, lang: str, campaign_name: str = "") -> str:
    """The question with its last word dropped and a longer (or no) period, to try when nothing matched."""
    terms = _terms(question.query) or ([campaign_name] if campaign_name else [])
    if len(terms) > 1:
        terms = terms[:-1]
    wider = _WIDER_PERIOD.get(question.period or "")
    suggestion = " ".join([*terms, t_plain(wider, lang)] if wider else terms)
    return suggestion if suggestion and suggestion != question.query else t_plain("search.example", lang)


def nothing_found(question: Question, lang: str, campaign_name: str = "") -> str:
    """'Không tìm thấy bài nào tuần này. Thử bỏ bớt từ khóa…, ví dụ: <code>…</code>'."""
    period = question_period(question, lang)
    example = Html(f"<code>{_escape(suggest_broader(question, lang, campaign_name))}</code>")
    return t("search.nothing", lang, period=Html(f" {period}") if period else "", example=example)


def _terms(query: str) -> list[str]:
    return re.findall(r'-?"[^"]*"|\S+', query)
