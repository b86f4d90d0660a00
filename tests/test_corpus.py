"""Every real feed in the shared corpus parses, checked against an independent reading.

Expected values come from xml.etree + html.unescape + NFC and from one strptime
format per file (plus the hand-read instant of each file's first item), never
from our own parser or date code.
"""

from __future__ import annotations

import html
import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from html.entities import codepoint2name
from pathlib import Path

import pytest

from bot.ingest.parse import parse_and_normalize, parse_feed
from tests.corpus import CORPUS

FEEDS = sorted(CORPUS.glob("*.rss"))
TZ_NAME = "Asia/Ho_Chi_Minh"
ICT = timezone(timedelta(hours=7))
KST = timezone(timedelta(hours=9))
FETCHED = datetime(2026, 12, 1, tzinfo=UTC)  # after every corpus date, so nothing is clamped
ATOM = "{http://www.w3.org/2005/Atom}"
RDF_ITEM = "{http://purl.org/rss/1.0/}item"
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
TAG = re.compile(r"</?[A-Za-z][^<>]*>")

RFC822 = "%a, %d %b %Y %H:%M:%S %z"
# file → (strptime format, (old, new) rewrite of the raw date or None, first item's instant read by hand)
DATE_FORMATS: dict[str, tuple[str, tuple[str, str] | None, datetime]] = {
    "baochinhphu.rss": ("%m/%d/%Y %I:%M:%S %p", None, datetime(2026, 9, 14, 18, 44, tzinfo=ICT)),
    "cafef.rss": ("%a, %d %b %y %H:%M:%S %z", None, datetime(2026, 9, 14, 8, 0, tzinfo=ICT)),
    "dantri.rss": (RFC822, None, datetime(2026, 9, 14, 14, 18, 47, tzinfo=ICT)),
    "mediacloud_real-cnn.rss": (RFC822, ("GMT", "+0000"), datetime(2022, 7, 27, 3, 27, 9, tzinfo=UTC)),
    "mediacloud_real-korean-times.rss": (
        "%a,%d %b %Y %H:%M:%S %z",
        ("GMT+9", "+0900"),
        datetime(2022, 7, 28, 4, 35, 5, tzinfo=KST),
    ),
    "nguoiquansat.rss": (RFC822, None, datetime(2026, 9, 24, 8, 30, 1, tzinfo=ICT)),
    "nhandan.rss": (RFC822, None, datetime(2026, 9, 14, 18, 48, 23, tzinfo=ICT)),
    "sggp.rss": (RFC822, None, datetime(2026, 9, 23, 17, 2, 29, tzinfo=ICT)),
    "thanhnien.rss": ("%a, %d %b %y %H:%M:%S %z", None, datetime(2026, 9, 14, 9, 13, tzinfo=ICT)),
    "tienphong.rss": (RFC822, None, datetime(2026, 9, 14, 14, 54, 42, tzinfo=ICT)),
    "tuoitre.rss": (RFC822, None, datetime(2026, 9, 14, 7, 37, tzinfo=ICT)),
    "vietnambiz.rss": (RFC822, ("GMT+7", "+0700"), datetime(2026, 9, 15, 9, 2, 15, tzinfo=ICT)),
    "vietnamnet.rss": (RFC822, None, datetime(2026, 9, 24, 9, 13, 34, tzinfo=ICT)),
    "vietnamplus.rss": (RFC822, None, datetime(2026, 9, 14, 19, 44, 41, tzinfo=ICT)),
    "vietstock.rss": (RFC822, None, datetime(2026, 9, 14, 19, 14, 53, tzinfo=ICT)),
    "vneconomy.rss": (RFC822, ("GMT", "+0000"), datetime(2026, 9, 14, 3, 55, 37, tzinfo=UTC)),
    "vnexpress.rss": (RFC822, None, datetime(2026, 9, 14, 9, 43, 55, tzinfo=ICT)),
    "vnexpress_intl.rss": (RFC822, None, datetime(2026, 9, 24, 5, 0, tzinfo=ICT)),
    "vnexpress_tin-moi-nhat_2017.rss": (RFC822, None, datetime(2017, 7, 26, 19, 41, 14, tzinfo=ICT)),
    "vov.rss": (RFC822, None, datetime(2026, 9, 14, 19, 42, 39, tzinfo=ICT)),
    "vtv.rss": (RFC822, ("+07", "+0700"), datetime(2026, 9, 14, 19, 46, 22, tzinfo=ICT)),
    "znews.rss": (RFC822, None, datetime(2026, 9, 14, 14, 53, 20, tzinfo=ICT)),
}
# VnExpress template: `<a><img src=…></a></br>summary` (or `<br/>`) in CDATA.
LEAD_IMAGE_FEEDS = [
    "nguoiquansat.rss",
    "vietnamnet.rss",
    "vnexpress_intl.rss",
    "vnexpress_tin-moi-nhat_2017.rss",
]


def _items(root: ET.Element) -> list[ET.Element]:
    return [*root.iter("item"), *root.iter(f"{ATOM}entry"), *root.iter(RDF_ITEM)]


def _child_text(item: ET.Element, *names: str) -> str:
    for name in names:
        node = item.find(name)
        if node is not None and node.text:
            return node.text
    return ""


def _expected_text(raw: str) -> str:
    return unicodedata.normalize("NFC", " ".join(html.unescape(raw).split()))


def _expected_date(raw: str, name: str) -> datetime:
    fmt, rewrite, _ = DATE_FORMATS[name]
    raw = " ".join(raw.split())
    if not raw:
        return FETCHED  # no date in the item (CNN): the fetch time stands in
    if rewrite:
        raw = raw.replace(*rewrite)
    value = datetime.strptime(raw, fmt)
    return value if value.tzinfo else value.replace(tzinfo=ICT)


def _articles(body: bytes, name: str) -> list:
    return parse_and_normalize(
        body, feed_url=f"https://corpus.test/{name}", source_id=name.split(".")[0], fetched_at=FETCHED, tz_name=TZ_NAME
    )


def test_corpus_is_present_and_fully_described() -> None:
    assert len(FEEDS) >= 20, f"corpus not found at {CORPUS}"
    assert {path.name for path in FEEDS} == set(DATE_FORMATS)


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
def test_corpus_feed(path: Path) -> None:
    body = path.read_bytes()
    items = _items(ET.fromstring(body))
    assert items, "the corpus file itself has items"

    feed = parse_feed(body, f"https://corpus.test/{path.name}")
    assert len(feed.entries) == len(items)

    links = [" ".join(_child_text(item, "link", "guid").split()) for item in items]
    assert len(set(links)) == len(links), "corpus items are distinct articles"
    articles = _articles(body, path.name)
    assert len(articles) == len(items)

    titles = [_expected_text(_child_text(item, "title", f"{ATOM}title")) for item in items]
    assert [a.title for a in articles] == titles
    for article in articles:
        assert not ENTITY.search(article.title), article.title
        assert not TAG.search(article.title), article.title
        assert not TAG.search(article.summary), article.summary
        assert unicodedata.is_normalized("NFC", article.title + article.summary)
        assert article.url.startswith(("http://", "https://"))
        assert article.published_at.tzinfo is not None
        assert article.fetched_at == FETCHED

    date_tags = ("pubDate", "pubdate", f"{ATOM}published", f"{ATOM}updated")
    raw_dates = [_child_text(item, *date_tags) for item in items]
    assert [a.published_at for a in articles] == [_expected_date(raw, path.name) for raw in raw_dates]
    assert articles[0].published_at == DATE_FORMATS[path.name][2]


@pytest.mark.parametrize("name", LEAD_IMAGE_FEEDS)
def test_lead_image_and_summary_from_description(name: str) -> None:
    body = (CORPUS / name).read_bytes()
    items = _items(ET.fromstring(body))
    for item, article in zip(items, _articles(body, name), strict=True):
        description = _child_text(item, "description")
        image = re.search(r'<img[^>]*\ssrc="([^"]+)"', description)
        assert image is not None
        assert article.image_url == html.unescape(image.group(1))
        summary = re.split(r"</br>|<br\s*/?>", description)[-1]
        assert article.summary == _expected_text(summary)
        assert article.summary


def test_vnexpress_relative_link_with_utm_is_resolved_and_cleaned() -> None:
    body = (CORPUS / "vnexpress.rss").read_bytes()
    articles = parse_and_normalize(
        body,
        feed_url="https://vnexpress.net/rss/kinh-doanh.rss",
        source_id="vnexpress",
        fetched_at=FETCHED,
        tz_name=TZ_NAME,
    )
    assert articles[2].url == "https://vnexpress.net/gia-vang-duoc-du-bao-tang-tro-lai-vao-cuoi-nam-5119580.html"
    assert articles[1].title == "Giá dầu thô tăng khi Arab Saudi đóng đường ống qua Hormuz"


def test_sggp_summary_keeps_text_and_drops_related_links() -> None:
    articles = _articles((CORPUS / "sggp.rss").read_bytes(), "sggp.rss")
    assert articles[0].summary == (
        "Cơn mưa lớn vào chiều 23-9, trên địa bàn TPHCM khiến nhiều tuyến đường ngập, "
        "gây khó khăn cho việc đi lại của người dân."
    )
    assert "ngập sâu" not in articles[0].summary  # a related-article link title
    assert articles[0].image_url is not None
    assert articles[0].image_url.startswith("https://image.sggp.org.vn/")


def test_vietnambiz_numeric_entities_inside_cdata() -> None:
    articles = _articles((CORPUS / "vietnambiz.rss").read_bytes(), "vietnambiz.rss")
    assert articles[0].title == ("Tỷ giá euro ngày 15/9: Euro tiếp tục mất giá, thị trường chờ tín hiệu hồi phục")
    assert articles[1].title.startswith("ABBank công bố biến động sở hữu, có thêm một cổ đông")


def test_vietnamplus_nfd_titles_become_nfc() -> None:
    # The stored fixture is NFC; the live feed served NFD, so feed the same bytes decomposed.
    original = (CORPUS / "vietnamplus.rss").read_text(encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", original)
    assert decomposed != original
    articles = _articles(decomposed.encode("utf-8"), "vietnamplus.rss")
    assert articles[0].title == "Thị trường vốn Việt Nam: Từ nâng hạng chỉ số đến đạt chuẩn đầu tư"
    assert articles[1].title == "Giá dầu vượt 107 USD mỗi thùng và 3 kịch bản cho kinh tế vĩ mô"
    assert all(unicodedata.is_normalized("NFC", a.title) for a in articles)


def _double_encode(title: str) -> str:
    """`này` → `n&amp;agrave;y`: XML decoding leaves `n&agrave;y`, as Thanh Niên serves."""
    return "".join(f"&amp;{codepoint2name[ord(c)]};" if ord(c) in codepoint2name else c for c in title)


def test_thanhnien_double_encoded_titles_and_two_digit_years() -> None:
    original = (CORPUS / "thanhnien.rss").read_text(encoding="utf-8")
    titles = re.findall(r"<item>\s*<title>([^<]*)</title>", original)
    encoded = original
    for title in titles:
        encoded = encoded.replace(f"<title>{title}</title>", f"<title>{_double_encode(title)}</title>")
    assert "&amp;agrave;" in encoded or "&amp;ecirc;" in encoded
    articles = _articles(encoded.encode("utf-8"), "thanhnien.rss")
    assert [a.title for a in articles] == titles
    assert articles[0].published_at == datetime(2026, 9, 14, 9, 13, tzinfo=ICT)
    assert articles[1].published_at == datetime(2026, 9, 14, 9, 10, tzinfo=ICT)


def test_english_feeds_parse_with_images() -> None:
    cnn = _articles((CORPUS / "mediacloud_real-cnn.rss").read_bytes(), "cnn.rss")
    korea = _articles((CORPUS / "mediacloud_real-korean-times.rss").read_bytes(), "kt.rss")
    assert cnn[0].image_url == (
        "https://cdn.cnn.com/cnnnext/dam/assets/220726125917-short-trump-jacob-split-super-169.jpg"
    )
    assert korea[0].image_url == "http://img.koreatimes.co.kr/upload/thumbnailV2/K2022072700409_b067c0ea56bf.jpg"
    assert korea[0].guid == "333483"
    assert korea[0].url == "https://www.koreatimes.co.kr/www/nation/2022/07/501_333483.html?fl"
    assert any("R&D" in a.title for a in korea)
