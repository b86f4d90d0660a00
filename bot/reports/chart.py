"""PNG trend charts of a campaign's coverage, readable on a phone.

matplotlib's import costs ~1.3 s (design.md): this module imports it once, and `mediabot
run` imports this module at start, never per request. Charts are drawn with the object API
(`Figure` + the Agg canvas), never pyplot, whose global state is not thread-safe: reports
are rendered on reader threads. 1200×800 px at 150 dpi, large type, the Okabe–Ito palette
(distinct for colour-blind readers too) on white, at most six series, labelled axes, days
as dd/mm.

The font is DejaVu Sans, bundled with matplotlib: it has every Vietnamese letter (all toned
vowels, đ/Đ). Text it cannot draw is logged, never dropped silently (`missing_glyphs`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from datetime import date

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from bot.reports.labels import date_span, label
from bot.reports.numbers import CampaignReport, Comparison

log = logging.getLogger(__name__)

FONT_FAMILY = "DejaVu Sans"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 16 / 3, 150  # 1200 × 800 px
TOP_OUTLETS = 5  # + "others": six series at most
MAX_SERIES = 6
# Okabe & Ito's palette, darkest-contrast colours first; grey is kept for "others".
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
OTHERS_COLOR = "#8C8C8C"
_TEXT = "#1A1A1A"
_MAX_TICKS = 10
_BAR_WIDTH = 0.8
_MAX_NAME = 28
_MAX_TITLE = 60

matplotlib.rcParams["font.family"] = FONT_FAMILY  # once, at import: every text of every chart


def font_path() -> str:
    """The file of the font charts are drawn with (FileNotFoundError-free: it ships with matplotlib)."""
    return str(findfont(FontProperties(family=FONT_FAMILY), fallback_to_default=False))


_COVERED = frozenset(FT2Font(font_path()).get_charmap())


def missing_glyphs(text: str) -> set[str]:
    """The characters of `text` the chart font has no glyph for (spaces aside)."""
    return {c for c in text if not c.isspace() and ord(c) not in _COVERED}


def outlet_chart(report: CampaignReport, lang: str) -> bytes:
    """Daily articles stacked by the top outlets (the rest as one "others" series), as PNG."""
    series = _outlet_series(report, lang)
    title = f"{_short(report.campaign_name, _MAX_TITLE)} · {date_span(report.period.first, report.period.last)}"
    figure, axes = _figure()
    bottom = [0] * report.period.days
    colors = _colors(len(series), others=len(report.by_source) > TOP_OUTLETS)
    for (name, counts), color in zip(series, colors, strict=True):
        axes.add_collection(_bars(bottom, counts, color, name), autolim=False)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_ylim(0, max(max(bottom, default=0), 1) * 1.08)
    return _finish(figure, axes, title, report.period.dates(), lang, [name for name, _ in series])


def _bars(bottom: Sequence[int], counts: Sequence[int], color: str, name: str) -> PolyCollection:
    """One series of stacked bars as one collection: 180 separate bar patches cost ~100 ms of limit updates."""
    half = _BAR_WIDTH / 2
    boxes = [
        [(x - half, b), (x - half, b + c), (x + half, b + c), (x + half, b)]
        for x, (b, c) in enumerate(zip(bottom, counts, strict=True))
        if c
    ]
    return PolyCollection(boxes, facecolors=color, edgecolors="none", label=name)


def comparison_chart(comparison: Comparison, lang: str) -> bytes:
    """Every campaign's daily articles as lines on one chart (the six largest), as PNG."""
    shown = comparison.campaigns[:MAX_SERIES]
    period = comparison.period
    title = f"{label('compare_title', lang)} · {date_span(period.first, period.last)}"
    figure, axes = _figure()
    names = []
    for campaign, color in zip(shown, COLORS[: len(shown)], strict=True):
        name = f"{_short(campaign.name, _MAX_NAME)} ({campaign.total})"
        marker = "o" if period.days <= 45 else None
        axes.plot(range(period.days), campaign.daily, color=color, label=name, linewidth=2.5, marker=marker)
        names.append(name)
    return _finish(figure, axes, title, period.dates(), lang, names)


def _outlet_series(report: CampaignReport, lang: str) -> list[tuple[str, tuple[int, ...]]]:
    top = list(report.by_source)[:TOP_OUTLETS]
    series = [(_short(report.source_name(s), _MAX_NAME), report.daily_by_source[s]) for s in top]
    rest = [report.daily_by_source[s] for s in list(report.by_source)[TOP_OUTLETS:]]
    if rest:
        series.append((label("others", lang), tuple(map(sum, zip(*rest, strict=True)))))
    return series


def _colors(count: int, *, others: bool) -> list[str]:
    colors = list(COLORS[: count - 1 if others else count])
    return [*colors, OTHERS_COLOR] if others else colors


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    figure.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.3)
    return figure, axes


def _finish(figure: Figure, axes: Axes, title: str, days: Sequence[date], lang: str, names: list[str]) -> bytes:
    texts = [title, label("articles_axis", lang), label("day_axis", lang), *names]
    _log_missing(texts)
    step = max(1, -(-len(days) // _MAX_TICKS))
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [f"{days[i]:%d/%m}" for i in ticks], fontsize=12, color=_TEXT)
    axes.set_xlim(-0.6, len(days) - 0.4)
    if axes.get_autoscaley_on():  # lines: limits from the data; bars set theirs
        axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=12, colors=_TEXT)
    axes.set_ylabel(label("articles_axis", lang), fontsize=14, color=_TEXT)
    axes.set_xlabel(label("day_axis", lang), fontsize=14, color=_TEXT)
    axes.set_title(title, fontsize=16, fontweight="bold", loc="left", color=_TEXT)
    axes.grid(axis="y", color="#D9D9D9", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not names:
        axes.text(0.5, 0.5, label("no_articles", lang), transform=axes.transAxes, ha="center", fontsize=14)
    else:
        columns = 3 if max(map(len, names)) <= 22 else 2  # three columns of longer names overflow 1200 px
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=columns, fontsize=12, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _log_missing(texts: Iterable[str]) -> None:
    missing = sorted({c for text in texts for c in missing_glyphs(text)})
    if missing:
        log.warning("chart text has characters %s has no glyph for: %s", FONT_FAMILY, " ".join(missing))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
