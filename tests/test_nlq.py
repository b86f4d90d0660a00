"""Questions typed like to a colleague → Question (query, period, outlets, campaign)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import QueryError
from bot.search.lexicon import PERIOD_KEYS
from bot.search.question import Question, understand

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# A Thursday afternoon; the week started on Monday 23/11/2026.
NOW = datetime(2026, 11, 26, 15, 30, tzinfo=TZ)
OUTLETS = (
    ("baophutho", "Báo Phú Thọ"),
    ("vnexpress", "VnExpress"),
    ("dantri", "Dân trí"),
    ("vnexpress_intl", "VnExpress International"),
)
CAMPAIGNS = (("chuyen-doi-so", "Chuyển đổi số"), ("den-hung-2026", "Giỗ Tổ Hùng Vương 2026"))
ALIASES = ("Sở TT&TT Phú Thọ", "Sở Thông tin và Truyền thông")


DAY = timedelta(days=1)


def ask(text: str, now: datetime = NOW) -> Question:
    return understand(text, now=now, outlets=OUTLETS, campaigns=CAMPAIGNS, aliases=ALIASES)


def at(day: int, month: int = 11, year: int = 2026, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


# text, query, campaign, sources, period, since, until
CASES = [
    ("có bài nào về chuyển đổi số tuần này không?", "", "chuyen-doi-so", (), "period.this_week",
     at(23), None),
    ("co bai nao ve chuyen doi so tuan nay khong", "", "chuyen-doi-so", (), "period.this_week", at(23), None),
    ("CÓ BÀI NÀO VỀ CHUYỂN ĐỔI SỐ TUẦN NÀY KHÔNG", "", "chuyen-doi-so", (), "period.this_week", at(23), None),
    (
        "tin về Sở TT&TT Phú Thọ trên Báo Phú Thọ hôm qua",
        '"Sở TT TT Phú Thọ"',
        None,
        ("baophutho",),
        "period.yesterday",
        at(25),
        at(26),
    ),
    ("any news about 5G coverage this week", "5G coverage", None, (), "period.this_week", at(23), None),
    ("phòng chống dịch 7 ngày qua", "phòng chống dịch", None, (), "period.last_n_days", NOW - 7 * DAY, None),
    ("VnExpress đăng gì về biển đảo tháng trước", "biển đảo", None, ("vnexpress",), "period.last_month",
     at(1, 10), at(1, 11)),
    ("Đền Hùng", "Đền Hùng", None, (), None, None, None),
    ("có tin gì mới về Đền Hùng không?", "Đền Hùng", None, (), None, None, None),
    ("xây dựng nông thôn mới", "xây dựng nông thôn mới", None, (), None, None, None),
    ("chuyen-doi-so", "", "chuyen-doi-so", (), None, None, None),
    ("tin Hà Nội hôm nay", "Hà Nội", None, (), "period.today", at(26), None),
    ("bão lũ miền Trung hôm qua", "bão lũ miền Trung", None, (), "period.yesterday", at(25), at(26)),
    ("có bài nào về công nghệ thông tin không", "công nghệ thông tin", None, (), None, None, None),
    ("COVID-19 tại Đà Nẵng", '"COVID 19" Đà Nẵng', None, (), None, None, None),
    ("COVID-19 ngày qua", '"COVID 19" ngày qua', None, (), None, None, None),  # 19 is not a day count
    ("Đảng bộ tỉnh Phú Thọ", "Đảng bộ Phú Thọ", None, (), None, None, None),  # 5 words: weak "tỉnh" goes
    ("Đảng bộ tỉnh", "Đảng bộ tỉnh", None, (), None, None, None),
    ("tin trên báo dân trí năm ngoái", "", None, ("dantri",), "period.last_year", at(1, 1, 2025), at(1, 1)),
    ("bài của bao phu tho nam nay", "", None, ("baophutho",), "period.this_year", at(1, 1), None),
    ("dân trí và vnexpress viết gì về giáo dục", "giáo dục", None, ("dantri", "vnexpress"), None, None, None),
    ("VnExpress International on flooding", "flooding", None, ("vnexpress_intl",), None, None, None),
    ("tuần trước có tin gì về Giỗ Tổ Hùng Vương 2026", "", "den-hung-2026", (), "period.last_week",
     at(16), at(23)),
    ("last 3 days news on vnexpress about floods", "floods", None, ("vnexpress",), "period.last_n_days",
     NOW - 3 * DAY, None),
    ("tình hình an ninh mạng 24 giờ qua", "an ninh mạng", None, (), "period.last_24_hours",
     NOW - timedelta(hours=24), None),
    ("2 tuần qua về nông thôn mới", "nông thôn mới", None, (), "period.last_n_days", NOW - 14 * DAY, None),
    ("tuần qua có gì về giao thông", "giao thông", None, (), "period.last_n_days", NOW - 7 * DAY, None),
    ("tháng này", "", None, (), "period.this_month", at(1), None),
    ('"chính quyền số" -"quảng cáo" since:30d', '"chính quyền số" -"quảng cáo"', None, (), "period.last_n_days",
     NOW - 30 * DAY, None),
    ('"chính quyền số" -quảng cáo since:30d', '"chính quyền số" cáo -quảng', None, (), "period.last_n_days",
     NOW - 30 * DAY, None),  # -word excludes one word
    ("bão OR lũ source:vnexpress", "bão OR lũ", None, ("vnexpress",), None, None, None),
    ("OR bão OR", "bão", None, (), None, None, None),
    ("since:2026-11-01 giá vàng", "giá vàng", None, (), "period.since_date", at(1), None),
    ("tin về “hạ tầng số” hôm nay!!!", '"hạ tầng số"', None, (), "period.today", at(26), None),
    ("có bài nào không?", "", None, (), None, None, None),
    ("", "", None, (), None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "query", "campaign", "sources", "period", "since", "until"), CASES)
def test_understand(text, query, campaign, sources, period, since, until):
    q = ask(text)
    assert (q.query.text(), q.campaign_id, q.source_ids, q.period) == (query, campaign, sources, period)
    assert (q.since, q.until) == (since, until)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("any news about 5G coverage this week", "en"),
        ("có bài nào về chuyển đổi số tuần này không?", "vi"),
        ("co bai nao ve chuyen doi so tuan nay khong", "vi"),
        ("Đền Hùng", "vi"),
        ("any news about Đà Nẵng", "en"),
        ("VnExpress", None),
    ],
)
def test_language_guess(text, language):
    assert ask(text).language == language


def test_last_n_days_keeps_n():
    q = ask("phòng chống dịch 7 ngày qua")
    assert q.period_days == 7
    assert ask("past 10 days").period_days == 10
    assert ask("3 tháng qua").period_days == 90


def test_absurd_day_count_is_clamped_not_an_overflow():
    q = ask("999999999999999999999 ngày qua")
    assert q.period == "period.last_n_days"
    assert 1 <= q.period_days <= 3660
    assert q.since is not None and q.since < NOW


def test_this_week_on_monday_morning_starts_today():
    monday = at(23, hour=0, minute=5)
    assert ask("tuần này", now=monday).since == at(23)
    sunday = at(29, hour=23, minute=59)
    assert ask("this week", now=sunday).since == at(23)


def test_last_month_across_new_year():
    q = ask("tháng trước", now=at(5, 1, 2027))
    assert (q.since, q.until) == (at(1, 12, 2026), at(1, 1, 2027))


def test_accented_word_is_not_mistaken_for_a_filler():
    # "Nội" folds to "noi" like the filler "nói"; "Đà" to "da" like "đã"; typed accents decide.
    assert ask("Hà Nội").query.text() == "Hà Nội"
    assert ask("nói gì về Hà Nội").query.text() == "Hà Nội"
    assert ask("Đà Lạt đã đăng gì").query.text() == "Đà Lạt"


def test_user_accents_are_preserved_exactly():
    assert ask("tin về hoà bình").query.text() == "hoà bình"
    assert ask("tin ve hoa binh").query.text() == "hoa binh"


def test_first_period_wins_and_all_time_words_leave_the_query():
    q = ask("hôm nay hoặc hôm qua về lũ")
    assert q.period == "period.today"
    assert "hôm" not in q.query.text()


def test_long_question_drops_weak_words():
    q = ask("bài viết về tình hình kinh tế xã hội của tỉnh trong quý ba năm nay")
    assert q.query.text() == "kinh tế xã hội quý ba"
    assert q.period == "period.this_year"


def test_naive_words_outside_known_names_stay():
    q = understand("tin Phú Thọ", now=NOW, outlets=(), campaigns=())
    assert q.query.text() == "Phú Thọ"


def test_periods_are_catalogue_keys():
    texts = ["hôm nay", "hôm qua", "tuần này", "tuần trước", "5 ngày qua", "tháng này", "tháng trước",
             "năm nay", "năm ngoái", "24 giờ qua", "since:2026-01-01", "since:36h", "tháng 9", "quý 3",
             "năm 2025", "từ 1/9 đến 30/9"]  # fmt: skip
    seen = {ask(t).period for t in texts}
    assert seen == set(PERIOD_KEYS)


_ALPHABET = (
    "abcdđeêghiklmnoôơpqrstuưvxyAĐÊÔƠƯ0123456789 \"'-:&<>?!.,()[]{}*\\/_#@"
    "áàảãạăắằẳẵặâấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
    "\u0300\u0301\u0303\u0309\u0323\u200b\u200d\ufeff\u202e\t\n\r\x00🇻🇳😀中文한국어"
)


def _random_text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return (
            "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(0, 40)))
            .encode("utf-8", "replace")
            .decode("utf-8", "replace")
        )
    pieces = [rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 80))]
    words = ["tuần này", "hôm qua", "OR", "-", '"', "since:", "source:", "ngày qua", "7", "chuyen-doi-so",
             "Báo Phú Thọ", "vnexpress", "Sở TT&TT", "last", "days", "9" * 30]  # fmt: skip
    for _ in range(rng.randrange(0, 6)):
        pieces.insert(rng.randrange(len(pieces) + 1), f" {rng.choice(words)} ")
    return "".join(pieces)


def test_fuzz_never_raises_and_query_is_clean():
    rng = random.Random(20261126)
    for _ in range(2000):
        text = _random_text(rng)
        try:
            q = ask(text)
        except QueryError as err:  # a since:/source: typed with a bad value: the handler explains it
            assert err.code in ("bad_since", "since_unit", "bad_source", "not_excludable"), (text, err.code)
            continue
        query = q.query.text()
        assert query == query.strip()
        assert all(c.isalnum() or c in ' "-' for c in query), (text, query)
        assert query.count('"') % 2 == 0, (text, query)
        assert q.period is None or q.period in PERIOD_KEYS
        assert q.since is None or q.since.tzinfo is not None
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", s) for s in q.source_ids), (text, q.source_ids)


# text, period, since, until — NOW is Thursday 26/11/2026 15:30
CALENDAR = [
    ("tháng 9", "period.month", at(1, 9), at(1, 10)),
    ("tháng 11", "period.month", at(1, 11), at(1, 12)),  # the current month, so far
    ("tháng 12", "period.month", at(1, 12, 2025), at(1, 1)),  # still ahead this year: last year's
    ("tháng 9/2025", "period.month", at(1, 9, 2025), at(1, 10, 2025)),
    ("tháng 9 năm 2025", "period.month", at(1, 9, 2025), at(1, 10, 2025)),
    ("in September", "period.month", at(1, 9), at(1, 10)),
    ("September 2025", "period.month", at(1, 9, 2025), at(1, 10, 2025)),
    ("quý 3", "period.quarter", at(1, 7), at(1, 10)),
    ("quý 4", "period.quarter", at(1, 10), at(1, 1, 2027)),
    ("quý III/2025", "period.quarter", at(1, 7, 2025), at(1, 10, 2025)),
    ("quý 1 năm 2026", "period.quarter", at(1, 1), at(1, 4)),
    ("Q3", "period.quarter", at(1, 7), at(1, 10)),
    ("Q2/2026", "period.quarter", at(1, 4), at(1, 7)),
    ("năm 2025", "period.year", at(1, 1, 2025), at(1, 1)),
    ("in 2025", "period.year", at(1, 1, 2025), at(1, 1)),
    ("từ 1/9 đến 30/9", "period.range", at(1, 9), at(1, 10)),  # the end day is included
    ("from 1/9 to 30/9", "period.range", at(1, 9), at(1, 10)),
    ("từ ngày 1/9/2026 đến ngày 15/9/2026", "period.range", at(1, 9), at(16, 9)),
    ("từ 15/12 đến 15/1", "period.range", at(15, 12, 2025), at(16, 1)),
    ("từ 20/12 đến 5/1/2026", "period.range", at(20, 12, 2025), at(6, 1)),
    ("từ 1/9", "period.since_date", at(1, 9), None),
    ("từ 1/12", "period.since_date", at(1, 12, 2025), None),
    ("từ 1/9/2025", "period.since_date", at(1, 9, 2025), None),
    ("since:36h", "period.last_n_hours", NOW - timedelta(hours=36), None),
    ("since:2w", "period.last_n_days", NOW - 14 * DAY, None),
    ("since:25/11/2026", "period.since_date", at(25), None),
]


@pytest.mark.parametrize(("text", "period", "since", "until"), CALENDAR)
def test_calendar_periods(text, period, since, until):
    q = ask(f"giá lúa {text}")
    assert (q.period, q.since, q.until) == (period, since, until)
    assert q.query.text() == "giá lúa"


@pytest.mark.parametrize("text", ["tháng 13", "quý 5", "năm 1800", "từ 31/2", "từ 31/9", "may"])
def test_numbers_that_make_no_period_stay_words(text):
    q = ask(text)
    assert q.period is None and q.since is None
    assert q.query.has_words


def test_operators_mean_what_they_mean_in_search():
    q = ask("bão since:24h")
    assert (q.query.text(), q.period, q.since) == ("bão", "period.last_24_hours", NOW - timedelta(hours=24))
    assert ask("bão nguồn:vnexpress").source_ids == ("vnexpress",)
    assert ask("bão since:7d since:2026-11-25").since == at(25)  # the later one wins, as in /search


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("bão since:2m", "since_unit"),
        ("bão since:hôm qua", "bad_since"),
        ("bão since:2026-02-30", "bad_since"),
        ("bão source:!!", "bad_source"),
        ("bão -source:vtv", "not_excludable"),
    ],
)
def test_a_bad_operator_is_not_dropped_silently(text, code):
    with pytest.raises(QueryError) as caught:
        ask(text)
    assert caught.value.code == code


@pytest.mark.parametrize("text", ["?", "!!!", "cảm ơn", "cám ơn bạn", "thanks", "thank you", "ok", "xin chào", "AND"])
def test_greetings_and_punctuation_have_no_content(text):
    q = ask(text)
    assert not q.query.has_words and q.period is None and not q.source_ids


def test_content_words_that_contain_a_greeting_stay():
    assert ask("lễ chào cờ đầu tuần").query.text() == "lễ chào cờ đầu tuần"
    assert ask("lễ chào mừng nhà giáo").query.text() == "lễ chào mừng nhà giáo"


def test_long_question_keeps_the_first_64_words():
    q = ask(" ".join(f"từ{i}" for i in range(100)))
    assert q.query.token_count() == 64 and q.dropped_words == 36
    assert q.query.groups[0][0].tokens == ("từ0",)
