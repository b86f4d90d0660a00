"""The daily press review (điểm báo): `mediabot press-review` over a generated archive with known answers.

Yesterday holds warnings (the organization named with a warning term, accented or typed without
accents in the configuration), a campaign's articles, plain department news, and articles that
must not be listed (another day, no mention of the organization, a warning term alone).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import docx
import pytest
import yaml

from bot.config import load_config
from bot.reports.press_review import one_line, review_day
from tests.cli import mediabot, one_line_error
from tests.conftest import config_dict
from tests.reports_archive import Generated, build

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ORG = "Sở Thông tin và Truyền thông Đồng Tháp"


@dataclass(frozen=True)
class Case:
    title: str
    summary: str
    source: str
    hour: int
    day_offset: int = 1  # days before today
    section: str | None = None  # where the review lists it: warning | campaign | news | None (absent)
    term: str | None = None


CASES = [
    Case(
        "Người dân bức xúc vì Sở TT&TT Đồng Tháp chậm trễ cấp phép",
        "Nhiều hồ sơ quá hạn.",
        "baodongthap",
        8,
        section="warning",
        term="chậm trễ",
    ),
    Case(
        "Thanh tra chỉ ra sai phạm tại Sở Thông tin và Truyền thông Đồng Tháp",
        "Kết luận thanh tra.",
        "vnexpress",
        9,
        section="warning",
        term="sai pham",
    ),
    Case(
        "Sở TT&TT Đồng Tháp trả lời cử tri",
        "Nhiều ý kiến khiếu nại về sóng di động chưa được giải quyết.",
        "tuoitre",
        23,
        section="warning",
        term="khiếu nại",
    ),
    Case(
        "Đồng Tháp phủ sóng 5G toàn tỉnh",
        "Các nhà mạng lắp thêm trạm BTS " + "rất nhiều " * 40,
        "baodongthap",
        10,
        section="campaign",
    ),
    Case("Sở TT&TT Đồng Tháp tổ chức hội nghị tổng kết năm", "Hội nghị tổng kết.", "tuoitre", 7, section="news"),
    Case("Sở TT&TT Đồng Tháp ra mắt cổng thông tin", "Tin cũ.", "baodongthap", 9, day_offset=2),
    Case("Giá lúa tăng mạnh", "Thị trường nông sản.", "vnexpress", 11),
    Case("Doanh nghiệp bị phạt vì sai phạm về quảng cáo", "Không nhắc cơ quan.", "vnexpress", 12),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, datetime]]:
    tmp = tmp_path_factory.mktemp("press_review")
    data = config_dict(
        sources=[
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "https://baodongthap.example.vn/rss"},
            {"id": "vnexpress", "name": "VnExpress", "url": "https://vnexpress.example.vn/rss"},
            {"id": "tuoitre", "name": "Tuổi Trẻ", "url": "https://tuoitre.example.vn/rss"},
        ],
        campaigns=[{"id": "phu-song-5g", "name": "Phủ sóng 5G", "query": '5G OR "trạm BTS"'}],
    )
    data["organization"]["warning_terms"] = ["sai pham", "chậm trễ", "bức xúc", "khiếu nại"]
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    today = datetime.now(TZ).date()
    rows = []
    for k, case in enumerate(CASES):
        moment = datetime.combine(today - timedelta(days=case.day_offset), time(case.hour, 30), tzinfo=TZ)
        url = f"https://{case.source}.example.vn/bai-{k}.html"
        rows.append(Generated(case.title, None, case.source, moment, k, url))
    rows.sort(key=lambda g: g.published)  # ids grow with fetch time, as in a real archive
    build(load_config(path), tmp / "db.sqlite", rows, summaries={c.title: c.summary for c in CASES})
    yield path, tmp / "db.sqlite", datetime.combine(today - timedelta(days=1), time(0), tzinfo=TZ)


def titles_in_order(text: str) -> list[str]:
    return [c.title for c in sorted(CASES, key=lambda c: text.find(c.title)) if c.title in text]


def test_the_docx_lists_yesterdays_articles_warnings_first(
    archive: tuple[Path, Path, datetime], tmp_path: Path
) -> None:
    config, db, yesterday = archive
    out = tmp_path / "diem-bao.docx"
    proc = mediabot(config, db, "press-review", "--format", "docx", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    document = docx.Document(str(out))
    text = "\n".join(p.text for p in document.paragraphs)
    assert ORG.upper() in text and f"{yesterday:%d/%m/%Y}" in text
    listed = titles_in_order(text)
    warnings = [c.title for c in CASES if c.section == "warning"]
    assert set(listed) == {c.title for c in CASES if c.section}
    assert set(listed[: len(warnings)]) == set(warnings)  # warnings first
    assert listed.index(CASES[3].title) < listed.index(CASES[4].title)  # the campaign before plain news
    for case in CASES:
        if case.term:
            line = next(p.text for p in document.paragraphs if case.title in p.text)
            assert f"«{case.term}»" in line
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    links = [r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")]
    assert len(links) == len(listed) and all(link.startswith("https://") for link in links)


def test_markdown_for_a_given_date_and_an_empty_day(archive: tuple[Path, Path, datetime]) -> None:
    config, db, yesterday = archive
    proc = mediabot(config, db, "press-review", "--date", f"{yesterday:%d/%m/%Y}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"# ĐIỂM BÁO — {ORG}")
    assert "5 bài, trong đó 3 bài cần lưu ý" in proc.stdout
    before = yesterday - timedelta(days=1)
    older = mediabot(config, db, "press-review", "--date", f"{before:%Y-%m-%d}")
    assert older.returncode == 0 and CASES[5].title in older.stdout and CASES[0].title not in older.stdout
    empty = mediabot(config, db, "press-review", "--date", f"{yesterday - timedelta(days=30):%Y-%m-%d}")
    assert "0 bài" in empty.stdout and "##" not in empty.stdout


@pytest.mark.parametrize("typed", ["32/13/2026", "ngày mai", "2999-01-01"])
def test_a_bad_or_future_date_is_one_line(archive: tuple[Path, Path, datetime], typed: str) -> None:
    config, db, _ = archive
    proc = mediabot(config, db, "press-review", "--date", typed)
    assert proc.returncode == 2
    assert one_line_error(proc).startswith("error: ")


def test_review_day_and_one_line() -> None:
    now = datetime(2026, 9, 15, 7, 30, tzinfo=TZ)
    assert review_day("", now).isoformat() == "2026-09-14"
    assert review_day("hôm nay", now).isoformat() == "2026-09-15"
    assert review_day("1/9", now).isoformat() == "2026-09-01"
    text = "Ủy ban nhân dân tỉnh Đồng Tháp đẩy mạnh chuyển đổi số trong toàn bộ các cơ quan hành chính"
    short = one_line(text, 40)
    assert len(short) <= 40 and short.endswith("…") and text.startswith(short[:-1])
    assert text.split()[len(short[:-1].split()) - 1] == short[:-1].split()[-1]  # cut between words
    assert one_line("  a \n b ", 40) == "a b"


def test_the_docx_survives_control_characters_and_vietnamese() -> None:
    from bot.reports.press_review import PressReview, ReviewItem, ReviewSection
    from bot.reports.review_docx import review_docx

    item = ReviewItem(1, "x", "Báo Đ\x01ồng", datetime(2026, 9, 14, 8, 0, tzinfo=TZ), True, "Tiêu đề\x0b có đ",
                      "https://x.example.vn/1", "Tóm tắt\x00", "sai phạm")  # fmt: skip
    review = PressReview(
        "Sở Y tế", datetime(2026, 9, 14).date(), (ReviewSection("warnings", "⚠", (("Báo", (item,)),)),)
    )
    document = docx.Document(io.BytesIO(review_docx(review, "vi")))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Tiêu đề có đ" in text and "Tóm tắt" in text
