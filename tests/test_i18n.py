"""Message catalogues: complete in both languages, valid HTML, escaped values, examples that work."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.search.lexicon import PERIOD_KEYS
from bot.search.question import Question, understand
from bot.telegram.i18n import (
    CATALOGUES,
    Html,
    count_articles,
    nothing_found,
    period_label,
    pick_language,
    question_period,
    suggest_broader,
    summary_line,
    t,
    t_plain,
)
from bot.telegram.locales import vi
from tests.test_format import assert_valid_html

BOT_DIR = Path(__file__).resolve().parent.parent / "bot"
_CALL = re.compile(r"""\bt(?:_plain)?\(\s*["']([^"']+)["']""")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 26, 15, 30, tzinfo=TZ)
OUTLETS = (("baophutho", "Báo Phú Thọ"), ("vnexpress", "VnExpress"))
CAMPAIGNS = (("chuyen-doi-so", "Chuyển đổi số"),)


def keys_used_in_code() -> set[str]:
    keys = set()
    for path in BOT_DIR.rglob("*.py"):
        keys |= set(_CALL.findall(path.read_text(encoding="utf-8")))
    return keys


def placeholders(entry: str | dict[str, str]) -> set[str]:
    forms = entry.values() if isinstance(entry, dict) else [entry]
    return {name for form in forms for _, name, _, _ in string.Formatter().parse(form) if name}


def test_code_uses_only_keys_present_in_both_catalogues():
    used = keys_used_in_code()
    assert "button.prev" in used  # the scan sees format.py's calls
    for lang, catalogue in CATALOGUES.items():
        missing = sorted(used - set(catalogue))
        assert not missing, f"{lang} catalogue lacks {missing}"


def test_period_keys_exist_in_both_catalogues():
    for catalogue in CATALOGUES.values():
        assert set(PERIOD_KEYS) <= set(catalogue)


def test_catalogues_have_the_same_keys_and_placeholders():
    assert set(CATALOGUES["vi"]) == set(CATALOGUES["en"])
    for key, entry in CATALOGUES["vi"].items():
        assert placeholders(entry) == placeholders(CATALOGUES["en"][key]), key


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_template_is_valid_html_with_hostile_values(lang):
    for key, entry in CATALOGUES[lang].items():
        values = {name: '<Sở & "TT">' for name in placeholders(entry)}
        for n in (1, 2):
            text = t(key, lang, **{**values, "n": n, "count": n})
            assert_valid_html(text)
            assert "<Sở" not in text


def test_buttons_and_command_descriptions_are_plain_text():
    for catalogue in CATALOGUES.values():
        for key, entry in catalogue.items():
            if key.startswith(("button.", "command.")):
                assert isinstance(entry, str) and not re.search(r"[<>&{}]", entry), key
                assert 3 <= len(entry) <= 256 or key.startswith("button."), key  # BotCommand limits


def test_values_are_escaped_and_html_values_are_not():
    assert t("access.request", "vi", name="Nguyễn <Văn> & A", username="nva", user_id=42) == (
        "Nguyễn &lt;Văn&gt; &amp; A (@nva, id 42) xin dùng bot"
    )
    assert t("latest.header", "en", outlet=Html("<i>Báo Phú Thọ</i>")) == "Newest on <b><i>Báo Phú Thọ</i></b>"


def test_refusal_tells_nothing_but_the_user_id():
    assert t("access.refused", "vi", user_id=123456789) == (
        "Xin lỗi, bot này chỉ phục vụ cán bộ được cấp quyền. ID Telegram của bạn: 123456789"
    )
    assert t("access.refused", "en", user_id=7).endswith("Your Telegram ID: 7")


def test_missing_english_key_falls_back_to_vietnamese(monkeypatch):
    monkeypatch.setitem(vi.MESSAGES, "test.only_vi", "Chỉ có tiếng Việt: {x}")
    assert t("test.only_vi", "en", x="Đền Hùng") == "Chỉ có tiếng Việt: Đền Hùng"
    assert t("error.generic", "fr") == "Đã có lỗi, vui lòng thử lại sau."


def test_missing_key_raises():
    with pytest.raises(KeyError):
        t("no.such.key", "vi")
    with pytest.raises(KeyError):
        t("no.such.key", "en")


def test_plain_text_has_no_markup():
    assert t_plain("latest.header", "vi", outlet="Sở TT&TT") == "Bài mới nhất trên Sở TT&TT"
    assert t_plain("help.admin", "en").startswith("Admin commands\n/addsource <url> [id]")


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [(1, "en", "1 article"), (2, "en", "2 articles"), (0, "en", "0 articles"), (1, "vi", "1 bài"), (5, "vi", "5 bài")],
)
def test_count_articles(n, lang, expected):
    assert count_articles(n, lang) == expected


@pytest.mark.parametrize(
    ("code", "stored", "default", "expected"),
    [
        ("en", None, "vi", "en"),
        ("en-US", None, "vi", "en"),
        ("vi", None, "vi", "vi"),
        ("fr", None, "vi", "vi"),
        (None, None, "vi", "vi"),
        ("fr", None, "en", "en"),
        ("en", "vi", "vi", "vi"),
        ("vi", "en", "vi", "en"),
        ("en", "klingon", "vi", "en"),
        (None, None, "xx", "vi"),
    ],
)
def test_pick_language(code, stored, default, expected):
    assert pick_language(code, stored, default) == expected


def test_summary_line():
    outlets = [("Báo Phú Thọ", 7), ("VnExpress", 3)]
    assert summary_line(12, "vi", period="tuần này", outlets=outlets) == (
        "Tìm thấy 12 bài tuần này, nhiều nhất trên Báo Phú Thọ (7), VnExpress (3)"
    )
    assert summary_line(12, "en", period="this week", outlets=outlets) == (
        "Found 12 articles this week; most in Báo Phú Thọ (7), VnExpress (3)"
    )
    assert summary_line(1, "en") == "Found 1 article"
    assert summary_line(3, "vi", outlets=[("Sở TT&TT", 3)]) == "Tìm thấy 3 bài, nhiều nhất trên Sở TT&amp;TT (3)"


def test_period_labels():
    assert period_label("period.last_n_days", "vi", days=7) == "trong 7 ngày qua"
    assert period_label("period.last_n_days", "en", days=1) == "in the last day"
    assert period_label("period.last_n_days", "en", days=30) == "in the last 30 days"
    assert period_label("period.since_date", "vi", since=datetime(2026, 11, 1, tzinfo=TZ)) == "từ 01/11/2026"
    assert period_label(None, "vi") == ""


def ask(text: str) -> Question:
    return understand(text, now=NOW, outlets=OUTLETS, campaigns=CAMPAIGNS)


@pytest.mark.parametrize(
    ("question", "lang", "suggestion", "period"),
    [
        ("lũ lụt hôm nay", "vi", "lũ lụt tuần này", "period.this_week"),
        ("bão hôm qua", "vi", "bão tuần này", "period.this_week"),
        ("giá vàng hôm qua", "vi", "giá vàng tuần này", "period.this_week"),  # was "giá tuần này"
        ("Phú Thọ", "vi", "chuyển đổi số tháng này", "period.this_month"),  # was "Phú": the example instead
        ("floods this week", "en", "floods this month", "period.this_month"),
        ("Đền Hùng năm nay trên VnExpress", "vi", "Đền Hùng năm nay", "period.this_year"),  # every outlet
        ("Đền Hùng tháng 9/2026 trên VnExpress", "vi", "Đền Hùng tháng 9/2026", "period.month"),
        ('"lễ hội" từ 1/9 đến 30/9 trên VnExpress', "vi", '"lễ hội"', None),  # a range label does not read back
    ],
)
def test_suggest_broader_is_a_question_nlq_reads_more_widely(question, lang, suggestion, period):
    assert suggest_broader(ask(question), lang) == suggestion
    assert ask(suggestion).period == period


def test_suggestion_keeps_the_campaign_by_name():
    q = ask("có bài nào về chuyển đổi số hôm nay không?")
    assert suggest_broader(q, "vi", campaign_name="Chuyển đổi số") == "Chuyển đổi số tuần này"


def test_nothing_found_message():
    text = nothing_found(ask("lũ lụt hôm nay"), "vi")
    assert text == (
        "Không tìm thấy bài nào hôm nay. Thử bỏ bớt từ khóa hoặc mở rộng thời gian, ví dụ: <code>lũ lụt tuần này</code>"
    )
    assert_valid_html(nothing_found(ask("Đền"), "en"))
    assert "<code>digital transformation this month</code>" in nothing_found(ask("Đền"), "en")


def _examples(lang: str) -> list[str]:
    text = t("start.text", lang) + t("help.text", lang)
    return re.findall(r"• <code>([^<]*)</code>", text)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_help_examples_are_understood(lang):
    examples = _examples(lang)
    assert len(examples) >= 3
    for example in examples:
        q = ask(example)
        assert q.query.has_words or q.campaign_id, example
        assert q.query.token_count() <= 4, (example, q.query)
        assert q.period or q.source_ids, example


def test_help_lists_the_commands():
    for lang in ("vi", "en"):
        text = t("help.text", lang)
        for command in ("/search", "/latest", "/news", "/sources", "/campaigns", "/lang"):
            assert command in text


@pytest.mark.parametrize("n", [1, 2])
def test_english_counts_agree_with_their_number(n: int) -> None:
    """Every English message, with every value a count of 1 (or 2): '1 article', '2 articles'."""
    nouns = "article|source|campaign|item|day|user|hour|week"
    wrong = re.compile(rf"\b1 ({nouns})s\b" if n == 1 else rf"\b2 ({nouns})\b")
    for key, entry in CATALOGUES["en"].items():
        text = t_plain(key, "en", **{name: n for name in placeholders(entry)})
        assert not wrong.search(text), f"{key}: {text}"
    assert t("campaigns.row", "en", name="Đền Hùng", d7=1, d30=3) == (
        "<b>Đền Hùng</b>: 1 article in 7 days, 3 articles in 30 days"
    )
    assert t("campaigns.row", "vi", name="Đền Hùng", d7=1, d30=3) == "<b>Đền Hùng</b>: 1 bài 7 ngày, 3 bài 30 ngày"


@pytest.mark.parametrize(
    ("question", "vi_label", "en_label"),
    [
        ("lễ hội tháng 9", "tháng 9/2026", "in September 2026"),
        ("lễ hội tháng 12", "tháng 12/2025", "in December 2025"),
        ("lễ hội quý 3", "quý 3/2026", "in Q3 2026"),
        ("lễ hội năm 2025", "năm 2025", "in 2025"),
        ("lễ hội từ 1/9 đến 30/9", "1/9–30/9/2026", "1/9–30/9/2026"),
        ("lễ hội từ 20/12 đến 5/1", "20/12/2025–5/1/2026", "20/12/2025–5/1/2026"),
        ("lễ hội since:36h", "trong 36 giờ qua", "in the last 36 hours"),
    ],
)
def test_summary_line_names_the_new_periods(question, vi_label, en_label):
    q = ask(question)
    assert summary_line(3, "vi", period=question_period(q, "vi")) == f"Tìm thấy 3 bài {vi_label}"
    assert question_period(q, "en") == en_label
