"""The words printed on charts and in exported files, Vietnamese first, English too.

Chat messages live in the bot's catalogues (bot.telegram.locales); these are the words
inside the files themselves, which the command line writes too.
"""

from __future__ import annotations

from collections.abc import Mapping

LABELS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "articles_axis": "Số bài",
        "day_axis": "Ngày",
        "others": "Các báo khác",
        "compare_title": "So sánh các chiến dịch",
        "no_articles": "Không có bài nào trong kỳ",
        "sheet_articles": "Bài báo",
        "sheet_summary": "Tổng hợp",
        "col_time": "Thời gian đăng",
        "col_outlet": "Báo",
        "col_title": "Tiêu đề",
        "col_url": "Đường dẫn",
        "col_campaign": "Chiến dịch",
        "col_story": "Mã sự kiện",
        "col_story_outlets": "Số báo cùng đưa tin",
        "col_articles": "Số bài",
        "col_share": "Tỷ lệ",
        "col_sources": "Các báo",
        "summary_title": "Báo cáo chiến dịch truyền thông",
        "period": "Thời gian",
        "total": "Tổng số bài",
        "previous": "Kỳ trước ({days} ngày)",
        "change": "Thay đổi so với kỳ trước",
        "share_of_voice": "Tỷ trọng trong các chiến dịch",
        "by_outlet": "Số bài theo báo",
        "top_stories": "Sự kiện nổi bật",
        "new": "mới",
        "review_title": "ĐIỂM BÁO",
        "review_day": "Ngày {date}",
        "review_total": "{n} bài, trong đó {warnings} bài cần lưu ý",
        "review_warnings": "⚠ Cần lưu ý",
        "review_news": "Tin về cơ quan",
        "review_campaign": "Chiến dịch: {name}",
        "review_term": "có «{term}»",
    },
    "en": {
        "articles_axis": "Articles",
        "day_axis": "Day",
        "others": "Other outlets",
        "compare_title": "Campaigns compared",
        "no_articles": "No articles in this period",
        "sheet_articles": "Articles",
        "sheet_summary": "Summary",
        "col_time": "Published",
        "col_outlet": "Outlet",
        "col_title": "Title",
        "col_url": "Link",
        "col_campaign": "Campaign",
        "col_story": "Story id",
        "col_story_outlets": "Outlets carrying the story",
        "col_articles": "Articles",
        "col_share": "Share",
        "col_sources": "Outlets",
        "summary_title": "Campaign coverage report",
        "period": "Period",
        "total": "Articles",
        "previous": "Previous period ({days} days)",
        "change": "Change against the previous period",
        "share_of_voice": "Share of all campaigns' articles",
        "by_outlet": "Articles per outlet",
        "top_stories": "Top stories",
        "new": "new",
        "review_title": "PRESS REVIEW",
        "review_day": "{date}",
        "review_total": "{n} articles, {warnings} of them warnings",
        "review_warnings": "⚠ Warnings",
        "review_news": "About the organization",
        "review_campaign": "Campaign: {name}",
        "review_term": "says «{term}»",
    },
}


def label(key: str, lang: str, **values: object) -> str:
    """The label `key` in `lang` (Vietnamese for any other language)."""
    text = LABELS.get(lang, LABELS["vi"])[key]
    return text.format(**values) if values else text


def date_span(first: object, last: object) -> str:
    """`01/09/2026–30/09/2026` (one day: `01/09/2026`), as reports print a period."""
    start, end = f"{first:%d/%m/%Y}", f"{last:%d/%m/%Y}"
    return start if start == end else f"{start}–{end}"
