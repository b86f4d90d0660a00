"""The words bot.search.question reads questions with: periods, filler, protected compounds, language markers.

Data, not code: phrases are matched by words, longest first; add to them freely (the
tests in tests/test_nlq.py read real questions through them).
"""

from __future__ import annotations

from bot.textnorm import fold_vietnamese

PERIOD_KEYS = (
    "period.today", "period.yesterday", "period.this_week", "period.last_week", "period.last_n_days",
    "period.this_month", "period.last_month", "period.this_year", "period.last_year",
    "period.last_24_hours", "period.since_date", "period.last_n_hours", "period.month", "period.quarter",
    "period.year", "period.range",
)  # fmt: skip

# "#" stands for a number typed in digits; "days:N" is a rolling window, "days:N*" N per unit typed.
TIME_PHRASES: tuple[tuple[str, str], ...] = (
    ("hôm nay", "period.today"), ("ngày hôm nay", "period.today"), ("sáng nay", "period.today"),
    ("chiều nay", "period.today"), ("tối nay", "period.today"), ("today", "period.today"),
    ("hôm qua", "period.yesterday"), ("ngày hôm qua", "period.yesterday"), ("yesterday", "period.yesterday"),
    ("tuần này", "period.this_week"), ("this week", "period.this_week"),
    ("tuần qua", "days:7"), ("tuần vừa qua", "days:7"), ("một tuần qua", "days:7"),
    ("past week", "days:7"), ("the past week", "days:7"),
    ("tuần trước", "period.last_week"), ("tuần rồi", "period.last_week"),
    ("last week", "period.last_week"), ("previous week", "period.last_week"),
    ("tháng này", "period.this_month"), ("this month", "period.this_month"),
    ("tháng qua", "days:30"), ("tháng vừa qua", "days:30"), ("past month", "days:30"),
    ("tháng trước", "period.last_month"), ("tháng rồi", "period.last_month"),
    ("last month", "period.last_month"),
    ("năm nay", "period.this_year"), ("this year", "period.this_year"),
    ("năm ngoái", "period.last_year"), ("năm trước", "period.last_year"), ("last year", "period.last_year"),
    ("24 giờ qua", "period.last_24_hours"), ("24h qua", "period.last_24_hours"),
    ("24 tiếng qua", "period.last_24_hours"), ("last 24 hours", "period.last_24_hours"),
    ("past 24 hours", "period.last_24_hours"), ("last 24h", "period.last_24_hours"),
    ("# ngày qua", "days:1*"), ("# ngày vừa qua", "days:1*"), ("# ngày gần đây", "days:1*"),
    ("# ngày gần nhất", "days:1*"), ("# ngày trở lại đây", "days:1*"), ("# ngày nay", "days:1*"),
    ("last # days", "days:1*"), ("past # days", "days:1*"), ("last # day", "days:1*"),
    ("past # day", "days:1*"),
    ("# tuần qua", "days:7*"), ("# tuần gần đây", "days:7*"), ("last # weeks", "days:7*"),
    ("past # weeks", "days:7*"),
    ("# tháng qua", "days:30*"), ("# tháng gần đây", "days:30*"), ("last # months", "days:30*"),
    ("past # months", "days:30*"),
    # A month, quarter or year named by number: "month" reads (month[, year]), "month=9" (year?).
    ("tháng #", "month"), ("tháng # #", "month"), ("tháng # năm #", "month"),
    ("quý #", "quarter"), ("quý # #", "quarter"), ("quý # năm #", "quarter"),
    ("năm #", "year"), ("in #", "year"),
)  # fmt: skip


def _calendar_phrases() -> tuple[tuple[str, str], ...]:
    """Quarters in Roman numerals and as Q3, English month names, date ranges "từ 1/9 đến 30/9"."""
    out: list[tuple[str, str]] = []
    for n, roman in enumerate(("i", "ii", "iii", "iv"), 1):
        for tail in ("", " #", " năm #"):
            out += [(f"quý {roman}{tail}", f"quarter={n}"), (f"q{n}{tail}", f"quarter={n}")]
    months = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december")  # fmt: skip
    for n, name in enumerate(months, 1):  # bare "may"/"march" are words: only with "in" or a year
        out += [(f"in {name}", f"month={n}"), (f"in {name} #", f"month={n}"), (f"{name} #", f"month={n}")]
    dates = ("# #", "# # #")  # day/month, day/month/year
    for start in ("từ", "từ ngày", "from"):
        for first in dates:
            out.append((f"{start} {first}", f"from:{first.count('#')}"))
            for to in ("đến", "tới", "đến ngày", "to", "until"):
                out += [(f"{start} {first} {to} {last}", f"range:{first.count('#')}:{last.count('#')}")
                        for last in dates]  # fmt: skip
    return tuple(out)


TIME_PHRASES += _calendar_phrases()

# Question words and politeness: dropped wherever they stand (as whole words only).
VI_FILLER: tuple[str, ...] = (
    "có bài nào", "có tin nào", "có bài viết nào", "có thông tin gì", "có thông tin nào", "có gì mới",
    "tin gì mới", "gì mới", "tin mới nhất", "bài mới nhất", "tin mới", "bài mới",
    "có bài", "có tin", "bài viết", "bài báo", "tin tức", "thông tin", "bản tin", "liên quan đến",
    "liên quan tới", "liên quan", "cho tôi", "cho mình", "cho em", "cho anh", "cho chị", "cho tớ",
    "tìm giúp", "tìm cho", "tìm kiếm", "xem giúp", "mới nhất", "gần đây", "hay không", "hay chưa",
    "đề cập", "nhắc đến", "nhắc tới", "viết về", "nói về", "đăng về", "bài nào", "tin nào", "những gì",
    "về", "không", "các", "tin", "xem", "giúp", "gì", "nào", "bao nhiêu", "thử",
    "cảm ơn", "cám ơn", "xin chào", "chào bạn", "chào bot", "ok", "oke", "okay", "alo",
)  # fmt: skip
# Fillers whose unaccented spelling is also a common content word (noi/Nội, dang/Đảng, da/Đà,
# cua/cửa, tim/tim mạch, hay/hay, vay/vay vốn, ...): dropped only when typed with accents.
VI_FILLER_ACCENTED_ONLY: tuple[str, ...] = (
    "có", "bài", "chưa", "những", "cho", "tìm", "hãy", "với", "được", "đã", "đăng", "nói", "của",
    "ạ", "nhé", "nha", "nhỉ", "vậy", "thế", "đang", "đâu", "đến", "tới", "ở", "tại", "trên", "mình",
    "tôi", "ơi", "bạn", "bot", "hả", "à", "vâng", "dạ", "viết", "chào", "ừ",
)  # fmt: skip
EN_FILLER: tuple[str, ...] = (
    "is there", "are there", "show me", "tell me", "give me", "do you have", "have there been",
    "what", "any", "anything", "news", "about", "article", "articles", "stories", "story", "find",
    "search", "on", "the", "in", "please", "a", "an", "is", "are", "was", "were", "there", "me",
    "show", "some", "get", "list", "latest", "recent", "related", "to", "regarding", "concerning",
    "published", "posted", "written", "did", "does", "do", "have", "has", "been", "from", "at", "by",
    "s", "i", "can", "you", "want", "see", "look", "up", "for", "of", "with",
    "thanks", "thank you", "thank", "hello", "hi", "hey", "ok", "okay", "bye",
)  # fmt: skip
# Weak words dropped only when more than four content words remain (they would make
# "all words must match" too strict), kept in a short question where they may matter.
VI_SOFT: tuple[str, ...] = (
    "và", "hoặc", "trong", "tình hình", "vấn đề", "việc", "mới", "là", "thì", "mà", "để", "ngày", "tỉnh",
)  # fmt: skip
EN_SOFT: tuple[str, ...] = ("and", "or", "new", "this", "that", "which", "who", "how")
# Content compounds that contain a filler word: kept whole.
PROTECTED: tuple[str, ...] = (
    "công nghệ thông tin", "sở thông tin", "bộ thông tin", "thông tin và truyền thông", "tin học",
    "tin nhắn", "tin tưởng", "tin giả", "tin đồn", "niềm tin", "tín dụng", "tín hiệu", "tín ngưỡng",
    "bài học", "bài toán", "bài hát", "bài thuốc", "bài bản", "bài trừ", "hàng không", "không gian",
    "không khí", "không quân", "phòng không", "không ảnh", "trở về", "quay về", "về hưu", "về đích",
    "về nguồn", "xem xét", "tìm hiểu", "giúp đỡ", "được mùa", "nói chuyện", "đăng ký", "đăng kiểm",
    "đăng cai", "cái gì", "nông thôn mới", "fake news", "news agency", "chào mừng", "chào đón",
    "chào cờ",
)  # fmt: skip
# Words that may stand right before an outlet name: "trên báo VnExpress", "của Báo Phú Thọ".
# "và"/"and" join two outlet names ("Dân trí và VnExpress").
OUTLET_PREFIXES: tuple[str, ...] = (
    "trên", "của", "từ", "báo", "tờ", "trang", "và", "hoặc", "on", "from", "in", "at", "by", "and", "or",
)  # fmt: skip
# Words asking for a campaign's report rather than its articles ("báo cáo chuyển đổi số tháng này",
# "report on 5G this month"); without a campaign they are ordinary words ("báo cáo tài chính").
REPORT_PHRASES: tuple[str, ...] = (
    "báo cáo", "thống kê", "tổng hợp", "số liệu", "report", "coverage report", "coverage", "statistics",
    "stats",
)  # fmt: skip
# Words that tell the language of a question (compared without accents for vi, exactly for en).
VI_MARKERS = frozenset(
    fold_vietnamese(w) for w in (
        "có", "bài", "nào", "về", "không", "tin", "tuần", "này", "hôm", "qua", "ngày", "tháng", "năm",
        "cho", "tôi", "mình", "của", "trên", "tìm", "gì", "những", "các", "đăng", "được", "chưa", "và",
    )
)  # fmt: skip
EN_MARKERS = frozenset((
    "any", "news", "about", "what", "is", "are", "there", "this", "week", "the", "today", "yesterday",
    "last", "past", "days", "month", "year", "show", "me", "find", "articles", "article", "on", "from",
    "please", "and", "of", "in", "stories", "latest", "did", "write", "wrote",
))  # fmt: skip
