"""Every query example a user is shown works as its text says: the README's search-language table,
each `/search` example and each example with an exclusion in the README and the /help catalogues (vi, en).

The examples are read from the documents themselves and run, as /search or as a chat question, on a
small archive built so that each documented effect is visible: `-"quảng cáo"` must drop the article
with the phrase and keep those with only `quảng` or only `cáo`, which `-quảng cáo` would not do.
An example added, changed or removed in a document without its expectation here fails the test.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.config import config_from_dict
from bot.models import Article
from bot.runtime import Runtime
from bot.services.archive import ArchiveService
from bot.store.articles import store_articles
from bot.telegram.i18n import CATALOGUES

ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=TZ)

# (key, outlet, days ago, title, summary)
ARTICLES = [
    ("cqs", "vnexpress", 2, "Phú Thọ xây dựng chính quyền số phục vụ người dân", "Tỉnh đưa dịch vụ công lên mạng."),
    ("cqs_ad", "baophutho", 3, "Quảng cáo: giải pháp chính quyền số trọn gói", "Liên hệ để được tư vấn."),
    ("cqs_quang", "vnexpress", 4, "Quảng Ninh hoàn thiện chính quyền số", "Tỉnh kết nối dữ liệu các sở."),
    ("cqs_cao", "baophutho", 5, "Báo cáo tiến độ chính quyền số năm 2026", "Các sở gửi số liệu trước ngày 15."),
    ("cqs_old", "vnexpress", 45, "Chính quyền số: nhìn lại một năm", "Tổng kết năm đầu tiên."),
    ("hung", "baophutho", 0.5, "Lễ hội Đền Hùng thu hút hàng vạn du khách", "Giỗ Tổ Hùng Vương trang trọng."),
    ("hung_ad", "vnexpress", 2, "Tour Đền Hùng giá rẻ", "Quảng cáo: đặt tour hành hương trọn gói."),
    ("hung_quang", "vnexpress", 3, "Đoàn khách Quảng Nam dâng hương Đền Hùng", "Du khách về Phú Thọ."),
    ("hung_cao", "baophutho", 4, "Ban tổ chức lễ hội Đền Hùng báo cáo công tác", "Gửi lên tỉnh."),
    ("hung_6d", "baophutho", 6, "Trùng tu di tích Đền Hùng", "Khởi công hạng mục mới."),
    ("hung_10d", "vnexpress", 10, "Đền Hùng đón khách quốc tế", "Du lịch tâm linh tăng."),
    ("hung_20d", "baophutho", 20, "Đền Hùng trong sách giáo khoa", "Bài học lịch sử."),
    ("hung_40d", "vnexpress", 40, "Khảo cổ quanh Đền Hùng", "Phát hiện mới."),
    ("cds", "vnexpress", 6, "Phú Thọ đẩy mạnh chuyển đổi số", "Ở mọi xã có tổ công nghệ."),
    ("cds_ad", "baophutho", 6, "Quảng cáo khóa học chuyển đổi số", "Học phí ưu đãi."),
    ("cds_abbr", "baophutho", 7, "CĐS cấp xã: những việc cần làm", "Hướng dẫn cho cán bộ."),
    ("bao", "vnexpress", 1, "Bão số 3 đổ bộ vào miền Bắc", "Người dân ven biển sơ tán."),
    ("bao_ad", "baophutho", 2, "Quảng cáo áo mưa mùa bão", "Giảm giá trước bão."),
    ("bao_lu", "vnexpress", 3, "Bão gây lũ lớn ở miền Trung", "Nhiều tuyến đường bị chia cắt."),
    ("storm", "vnexpress", 2, "Storm Kajiki weakens over Laos", "Heavy rain expected in the north."),
    ("storm_flood", "baophutho", 3, "Storm brings flood to central provinces", "Roads cut off."),
    ("g5", "vnexpress", 8, "Viettel thử nghiệm 5G tại Việt Trì", "Mạng mới ở trung tâm thành phố."),
    ("phusong", "baophutho", 9, "Mở rộng phủ sóng di động vùng cao", "Các trạm BTS mới."),
    ("dang", "vnexpress", 10, "Đảng bộ tỉnh Phú Thọ tổng kết công tác", "Ban Thường vụ Tỉnh ủy họp."),
    ("dangky", "baophutho", 10, "Hướng dẫn đăng ký xe máy trực tuyến", "Người dân làm thủ tục qua mạng."),
    ("ubnd", "vnexpress", 11, "UBND tỉnh ban hành kế hoạch", "Kế hoạch năm 2027."),
    ("uyban", "baophutho", 12, "Ủy ban nhân dân huyện Lâm Thao họp", "Phiên họp thường kỳ."),
    ("hcm", "vnexpress", 13, "TP.HCM mở rộng metro", "Tuyến số 2 khởi công."),
    ("hcm_full", "baophutho", 14, "Thành phố Hồ Chí Minh đón khách quốc tế", "Lượng khách tăng."),
    ("tttt", "vnexpress", 15, "Sở TT&TT tập huấn an toàn thông tin", "Cán bộ các huyện tham dự."),
    ("tttt_full", "baophutho", 16, "Sở Thông tin và Truyền thông hướng dẫn báo chí", "Hội nghị giao ban."),
]

HUNG = {"hung", "hung_ad", "hung_quang", "hung_cao", "hung_6d", "hung_10d", "hung_20d", "hung_40d"}
RECENT_CQS = {"cqs", "cqs_ad", "cqs_quang", "cqs_cao"}

# example as documented → (what is run, or None for the example itself; the articles it must find)
EXPECTED: dict[str, tuple[str | None, set[str]]] = {
    # README, search-language table
    "chuyen doi so": (None, {"cds", "cds_ad", "cds_abbr"}),
    "đảng": (None, {"dang"}),  # not đăng ký
    '"chính quyền số"': (None, RECENT_CQS | {"cqs_old"}),
    '5G OR "phủ sóng"': (None, {"g5", "phusong"}),
    "-lũ": ("bão -lũ", {"bao", "bao_ad"}),
    '-"quảng cáo"': ('"Đền Hùng" -"quảng cáo"', HUNG - {"hung_ad"}),  # quảng alone or cáo alone stay
    "source:vnexpress": ('"Đền Hùng" source:vnexpress', {"hung_ad", "hung_quang", "hung_10d", "hung_40d"}),
    "nguồn:vnexpress": ('"Đền Hùng" nguồn:vnexpress', {"hung_ad", "hung_quang", "hung_10d", "hung_40d"}),
    "since:7d": ('"Đền Hùng" since:7d', {"hung", "hung_ad", "hung_quang", "hung_cao", "hung_6d"}),
    "since:2w": ('"Đền Hùng" since:2w', HUNG - {"hung_20d", "hung_40d"}),
    "since:24h": ('"Đền Hùng" since:24h', {"hung"}),
    "since:2026-11-01": ('"Đền Hùng" since:2026-11-01', HUNG - {"hung_40d"}),
    "since:25/11/2026": ('"Đền Hùng" since:25/11/2026', {"hung", "hung_ad", "hung_quang", "hung_cao"}),
    "UBND": (None, {"ubnd", "uyban"}),
    "TP.HCM": (None, {"hcm", "hcm_full"}),
    "CĐS": (None, {"cds", "cds_ad", "cds_abbr"}),
    "TT&TT": (None, {"tttt", "tttt_full"}),
    # /search examples (README, /help and the usage hint in both languages)
    '/search "chính quyền số" -"quảng cáo" since:30d': (None, {"cqs", "cqs_quang", "cqs_cao"}),
    # other examples with an exclusion: a chat question (README) and /subscribe (README, hint)
    '"Đền Hùng" -"quảng cáo"': (None, HUNG - {"hung_ad"}),
    '/subscribe chuyển đổi số -"quảng cáo"': (None, {"cds", "cds_abbr"}),
    '/subscribe bão -"quảng cáo"': (None, {"bao", "bao_lu"}),
    # the hint for a query of exclusions only (both languages)
    "bão -lũ": (None, {"bao", "bao_ad"}),
    "storm -flood": (None, {"storm"}),
}

_SPAN = re.compile(r"`([^`]+)`")
_CODE = re.compile(r"<code>(.*?)</code>", re.DOTALL)
# A word, then an exclusion: a query example (not `-word` standing for the syntax itself).
_EXCLUSION = re.compile(r"\S\s+-[\w\"“]")
_SECTIONS = ("## Search language", "## Telegram bot")


def _readme_section(readme: str, title: str) -> str:
    return readme.split(f"\n{title}\n", 1)[1].split("\n## ", 1)[0]


def table_examples(readme: str) -> list[str]:
    """The first column of the README's search-language table."""
    section = _readme_section(readme, "## Search language")
    rows = [r.split("|") for r in section.splitlines() if r.startswith("|")]
    return [span for cells in rows[2:] for span in _SPAN.findall(cells[1])]


def document_spans() -> list[str]:
    """Code spans of the README's search and bot sections and of every catalogue message."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    spans = [s for title in _SECTIONS for s in _SPAN.findall(_readme_section(readme, title))]
    for messages in CATALOGUES.values():
        for value in messages.values():
            for text in value.values() if isinstance(value, dict) else [value]:
                spans += [html.unescape(code) for code in _CODE.findall(text)]
    return spans


def documented_examples() -> set[str]:
    """Every example this test holds the documents to."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = set(table_examples(readme))
    for span in document_spans():
        if (span.startswith("/search ") and span != "/search QUERY") or _EXCLUSION.search(span):
            examples.add(span)
    return examples


def test_the_documents_show_exactly_the_examples_checked_here() -> None:
    examples = documented_examples()
    assert not examples - EXPECTED.keys(), f"examples without an expectation: {sorted(examples - EXPECTED.keys())}"
    assert not EXPECTED.keys() - examples, f"expectations of no example: {sorted(EXPECTED.keys() - examples)}"


async def test_a_bare_word_after_an_exclusion_is_searched_for(archive: tuple[ArchiveService, dict[int, str]]) -> None:
    """What the README says `-quảng cáo` means (why the examples quote the phrase): `-quảng` and `cáo`."""
    service, keys = archive
    answer = await service.search('"Đền Hùng" -quảng cáo', page_size=50)
    assert {keys[hit.id] for hit in answer.page.hits} == {"hung_cao"}


@pytest.fixture
async def archive(tmp_path: Path) -> AsyncIterator[tuple[ArchiveService, dict[int, str]]]:
    tmp = tmp_path
    data = {
        "organization": {"name": "Sở Thông tin và Truyền thông Phú Thọ", "timezone": "Asia/Ho_Chi_Minh"},
        "sources": [
            {"id": "vnexpress", "name": "VnExpress", "url": "https://vnexpress.net/rss/tin-moi-nhat.rss"},
            {"id": "baophutho", "name": "Báo Phú Thọ", "url": "https://baophutho.vn/rss/home.rss"},
        ],
    }
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    runtime = Runtime(config_from_dict(data, str(path), path), tmp / "db.sqlite", parser_workers=0)
    await runtime.start()
    oldest_first = sorted(ARTICLES, key=lambda row: -row[2])
    articles = [
        Article(outlet, f"https://{outlet}.vn/{key}", key, title, summary, when, when)
        for key, outlet, days, title, summary in oldest_first
        for when in [NOW - timedelta(days=days)]
    ]
    stored = await runtime.write(store_articles, [(articles, None)])
    try:
        yield (
            ArchiveService(runtime, clock=lambda: NOW),
            dict(zip(stored.new_ids, (r[0] for r in oldest_first), strict=True)),
        )
    finally:
        await runtime.aclose()


@pytest.mark.parametrize("example", sorted(EXPECTED))
async def test_each_example_finds_what_it_says(archive: tuple[ArchiveService, dict[int, str]], example: str) -> None:
    service, keys = archive
    run, expected = EXPECTED[example]
    text = run or example
    if text.startswith("/search "):
        answer = await service.search(text.removeprefix("/search "), page_size=50)
    elif text.startswith("/subscribe "):
        # A subscription follows the search language exactly as /search reads it (README).
        answer = await service.search(text.removeprefix("/subscribe "), page_size=50)
    elif example in table_examples((ROOT / "README.md").read_text(encoding="utf-8")):
        answer = await service.search(text, page_size=50)
    else:  # a chat question
        answer = await service.ask(text, page_size=50)
    assert {keys[hit.id] for hit in answer.page.hits} == expected
