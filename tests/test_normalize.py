"""Tables for the pure normalize functions: URLs, text, dates, story keys, entries → articles."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.dates import parse_date
from bot.ingest.htmltext import first_image, html_to_text
from bot.ingest.normalize import (
    FUTURE_ALLOWANCE,
    MAX_TITLE,
    canonical_url,
    clean_text,
    normalize_entries,
    story_text_key,
    story_title_key,
    url_key,
)
from bot.models import ParsedFeed, RawEntry
from bot.textnorm import terminal_safe
from tests.corpus import CORPUS

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ICT = timezone(timedelta(hours=7))
FETCHED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("https://vnexpress.net/a-1.html?utm_source=rss&utm_medium=rss", None, "https://vnexpress.net/a-1.html"),
        ("https://vnexpress.net/a-1.html#box_comment", None, "https://vnexpress.net/a-1.html"),
        ("https://VnExpress.NET/Tin-Tuc.html", None, "https://vnexpress.net/Tin-Tuc.html"),
        ("https://tuoitre.vn:443/a.htm", None, "https://tuoitre.vn/a.htm"),
        ("http://tuoitre.vn:80/a.htm", None, "http://tuoitre.vn/a.htm"),
        ("http://tuoitre.vn:8080/a.htm", None, "http://tuoitre.vn:8080/a.htm"),
        ("http://vietstock.vn/2026/09/x.htm", None, "http://vietstock.vn/2026/09/x.htm"),
        (
            "/gia-vang-5119580.html?utm_source=rss",
            "https://vnexpress.net/rss/kinh-doanh.rss",
            "https://vnexpress.net/gia-vang-5119580.html",
        ),
        ("tin-moi.html", "https://baomoi.vn/rss/", "https://baomoi.vn/rss/tin-moi.html"),
        ("//znews.vn/a-post1.html", "https://znews.vn/rss", "https://znews.vn/a-post1.html"),
        (
            "https://thanhnien.vn/a.htm?zarsrc=30&utm_source=zalo&utm_campaign=zalo&id=5",
            None,
            "https://thanhnien.vn/a.htm?id=5",
        ),
        ("https://dantri.com.vn/a.htm?fbclid=IwAR0x&gclid=abc&_ga=2.1&gidzl=Zq", None, "https://dantri.com.vn/a.htm"),
        (
            "https://www.koreatimes.co.kr/www/nation/2022/07/501_333483.html?fl",
            None,
            "https://www.koreatimes.co.kr/www/nation/2022/07/501_333483.html?fl",
        ),
        ("https://a.vn/x?b=2&a=1&UTM_Source=x", None, "https://a.vn/x?b=2&a=1"),
        (
            "\n  http://suckhoe.vnexpress.net/tin-tuc/a-3618863.html\n",
            None,
            "http://suckhoe.vnexpress.net/tin-tuc/a-3618863.html",
        ),
        ("https://user:secret@vov.vn/a", None, "https://vov.vn/a"),
        ("https://vov.vn", None, "https://vov.vn/"),
        ("javascript:alert(1)", "https://vov.vn/", ""),
        ("mailto:toasoan@vov.vn", None, ""),
        ("", "https://vov.vn/", ""),
        ("https://[::1", None, ""),
    ],
)
def test_canonical_url(raw: str, base: str | None, expected: str) -> None:
    assert canonical_url(raw, base) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("http://vnexpress.net/a.html", "https://vnexpress.net/a.html"),
        ("https://www.vietnamplus.vn/a.vnp", "https://vietnamplus.vn/a.vnp"),
        ("https://VIETNAMPLUS.vn/a.vnp#top", "http://www.vietnamplus.vn/a.vnp?utm_medium=rss"),
        ("https://tuoitre.vn:443/a", "http://tuoitre.vn:80/a"),
    ],
)
def test_url_key_same_article(first: str, second: str) -> None:
    assert url_key(first) == url_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://vnexpress.net/a.html", "https://e.vnexpress.net/a.html"),
        ("https://vnexpress.net/a.html", "https://vnexpress.net/A.html"),
        ("https://a.vn/x?id=1", "https://a.vn/x?id=2"),
        ("https://www2.a.vn/x", "https://a.vn/x"),
    ],
)
def test_url_key_different_articles(first: str, second: str) -> None:
    assert url_key(first) != url_key(second)


def test_url_key_shape() -> None:
    assert url_key("https://www.vnexpress.net/a.html?utm_source=x#c") == "vnexpress.net/a.html"


NFD_TITLE = unicodedata.normalize("NFD", "Thị trường vốn Việt Nam đạt chuẩn")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("h&ocirc;m nay", "hôm nay"),
        ("h&amp;ocirc;m nay", "hôm nay"),
        ("c&amp;amp;ocirc;ng", "công"),
        ("Tỷ gi&#225; euro ng&#224;y 15/9", "Tỷ giá euro ngày 15/9"),
        ("n&#x1EA7;y", "nầy"),
        (NFD_TITLE, "Thị trường vốn Việt Nam đạt chuẩn"),
        ("<b>Hà</b> Nội, <i>mưa</i> lớn", "Hà Nội, mưa lớn"),
        ("Hà Nội<br/>Tin mới", "Hà Nội Tin mới"),
        ("&lt;p&gt;Đà Nẵng&lt;/p&gt;", "Đà Nẵng"),
        ("  Giá dầu thô   tăng\n khi\tArab  ", "Giá dầu thô tăng khi Arab"),
        ("R&amp;D của Hyundai", "R&D của Hyundai"),
        ("Blondie & Garfield", "Blondie & Garfield"),
        ("Tăng trưởng <5% và >3%", "Tăng trưởng <5% và >3%"),
        ("Vàng\u00a0SJC\u200b tăng", "Vàng SJC tăng"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    assert unicodedata.is_normalized("NFC", cleaned)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 14 Sep 2026 14:18:47 +0700", datetime(2026, 9, 14, 14, 18, 47, tzinfo=ICT)),
        ("Mon, 14 Sep 2026 18:48:23 +07:00", datetime(2026, 9, 14, 18, 48, 23, tzinfo=ICT)),
        ("Mon, 14 Sep 2026 19:46:22 +07", datetime(2026, 9, 14, 19, 46, 22, tzinfo=ICT)),
        ("Tue, 15 Sep 2026 09:02:15 GMT+7", datetime(2026, 9, 15, 9, 2, 15, tzinfo=ICT)),
        ("Tue, 15 Sep 2026 09:02:15 GMT+07:00", datetime(2026, 9, 15, 9, 2, 15, tzinfo=ICT)),
        ("Thu,28 Jul 2022 4:35:5 GMT+9", datetime(2022, 7, 28, 2, 35, 5, tzinfo=ICT)),
        ("Sat, 22 Nov 25 10:00:00 +0700", datetime(2025, 11, 22, 10, 0, tzinfo=ICT)),
        ("Mon, 14 Sep 26 08:00:00 +0700", datetime(2026, 9, 14, 8, 0, tzinfo=ICT)),
        ("Mon, 14 Sep 2026 03:55:37 GMT", datetime(2026, 9, 14, 3, 55, 37, tzinfo=UTC)),
        ("Mon, 14 Sep 2026 03:55:37 -0000", datetime(2026, 9, 14, 3, 55, 37, tzinfo=UTC)),
        ("Mon, 14 Sep 2026 19:46:22 ICT", datetime(2026, 9, 14, 19, 46, 22, tzinfo=ICT)),
        ("Mon, 14 Sep 2026 19:46:22", datetime(2026, 9, 14, 19, 46, 22, tzinfo=ICT)),
        ("11/22/2026 4:30:11 PM", datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)),
        ("9/14/2026 6:44:00 PM", datetime(2026, 9, 14, 18, 44, tzinfo=ICT)),
        ("9/14/2026 12:05:00 AM", datetime(2026, 9, 14, 0, 5, tzinfo=ICT)),
        ("9/4/2026 12:05:00 PM", datetime(2026, 9, 4, 12, 5, tzinfo=ICT)),
        ("14/09/2026 18:44", datetime(2026, 9, 14, 18, 44, tzinfo=ICT)),
        ("Thứ hai, 14/09/2026 - 18:44", datetime(2026, 9, 14, 18, 44, tzinfo=ICT)),
        ("Sep 14, 2026 7:00 PM", datetime(2026, 9, 14, 19, 0, tzinfo=ICT)),
        ("2026-11-22T16:30:11+07:00", datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)),
        ("2026-11-22T09:30:11Z", datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)),
        ("2026-11-22T16:30:11.123+0700", datetime(2026, 11, 22, 16, 30, 11, 123000, tzinfo=ICT)),
        ("2026-11-22 16:30:11", datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)),
        ("2026-11-22T16:30:11", datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)),
        ("2026-11-22", datetime(2026, 11, 22, tzinfo=ICT)),
        ("  Mon, 14 Sep 2026\n 14:18:47 +0700 ", datetime(2026, 9, 14, 14, 18, 47, tzinfo=ICT)),
    ],
)
def test_parse_date(raw: str, expected: datetime) -> None:
    parsed = parse_date(raw, HCM, fallback=FETCHED)
    assert parsed.tzinfo is not None
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=7)  # shown in the organization's zone


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "hôm nay",
        "not a date",
        "13/13/2026 10:00",
        "Mon, 14 Sep 2026 25:61:00 +0700",
        "0001-01-01T00:00:00",
        "2/30/2026 10:00:00 AM",
        "9/14/2026 13:00:00 PM",
    ],
)
def test_parse_date_falls_back_to_fetch_time(raw: str | None) -> None:
    assert parse_date(raw, HCM, fallback=FETCHED) is FETCHED


def test_two_digit_year_and_four_digit_year_agree() -> None:
    short = parse_date("Sat, 22 Nov 25 10:00:00 +0700", HCM, fallback=FETCHED)
    full = parse_date("Sat, 22 Nov 2025 10:00:00 +0700", HCM, fallback=FETCHED)
    assert short == full


def test_local_time_uses_the_given_zone() -> None:
    tokyo = parse_date("2026-11-22 16:30:11", ZoneInfo("Asia/Tokyo"), fallback=FETCHED)
    hanoi = parse_date("2026-11-22 16:30:11", HCM, fallback=FETCHED)
    assert hanoi - tokyo == timedelta(hours=2)


def _entry(title: str = "Tin mới", link: str = "https://vov.vn/a.vov", **kw: object) -> RawEntry:
    fields: dict[str, object] = {
        "title": title,
        "link": link,
        "guid": kw.pop("guid", link),
        "summary_html": "",
        "content_html": "",
        "published_raw": None,
    }
    fields.update(kw)
    return RawEntry(**fields)  # type: ignore[arg-type]


def _feed(*entries: RawEntry, link: str = "https://vov.vn/") -> ParsedFeed:
    return ParsedFeed(title="VOV", link=link, entries=entries)


def _normalize(feed: ParsedFeed, fetched_at: datetime = FETCHED) -> list:
    return normalize_entries(
        feed, source_id="vov", feed_url="https://vov.vn/rss/kinh-te.rss", fetched_at=fetched_at, tz=HCM
    )


def test_future_dates_are_clamped_to_fetch_time_plus_allowance() -> None:
    feed = _feed(
        # 7 hours ahead: a local time sent as UTC, the zone mistake outlets make
        _entry(link="https://vov.vn/a", published_raw="Mon, 23 Nov 2026 17:00:00 +0700"),
        _entry(link="https://vov.vn/b", published_raw="Mon, 23 Nov 2026 10:05:00 +0700"),
        _entry(link="https://vov.vn/c", published_raw="Mon, 23 Nov 2026 09:00:00 +0700"),
    )
    ahead, near, past = _normalize(feed)
    assert ahead.published_at == FETCHED + FUTURE_ALLOWANCE
    assert near.published_at == datetime(2026, 11, 23, 10, 5, tzinfo=ICT)  # 5 min ahead: clock skew
    assert past.published_at == datetime(2026, 11, 23, 9, 0, tzinfo=ICT)
    assert all(a.published_at <= a.fetched_at + FUTURE_ALLOWANCE for a in (ahead, near, past))
    assert all(a.dated for a in (ahead, near, past))


@pytest.mark.parametrize(
    "raw",
    [
        "Thu, 01 Jan 1970 00:00:00 +0000",  # the Unix epoch: a CMS's empty date
        "Mon, 01 Jan 1900 00:00:00 +0700",
        "1989-12-31T23:59:59+07:00",
        "Tue, 01 Jan 2999 00:00:00 +0700",  # a placeholder far ahead
        "Wed, 25 Nov 2026 10:00:00 +0700",  # the day after tomorrow (fetched on the 23rd)
        "11/25/2026 10:00:00 AM",
    ],
)
def test_absurd_dates_become_the_fetch_time_and_the_article_undated(raw: str) -> None:
    (article,) = _normalize(_feed(_entry(title="Hà Nội công bố lịch thi", published_raw=raw)))
    assert article.published_at == FETCHED
    assert not article.dated


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mon, 01 Jan 1990 08:00:00 +0700", datetime(1990, 1, 1, 8, 0, tzinfo=ICT)),
        ("Tue, 24 Nov 2026 09:00:00 +0700", FETCHED + FUTURE_ALLOWANCE),  # 23 h ahead: clamped, still dated
    ],
)
def test_dates_at_the_edges_of_plausible_are_kept(raw: str, expected: datetime) -> None:
    (article,) = _normalize(_feed(_entry(published_raw=raw)))
    assert article.published_at == expected
    assert article.dated


def test_missing_date_is_fetch_time() -> None:
    (article,) = _normalize(_feed(_entry(published_raw=None)))
    assert article.published_at == FETCHED
    assert article.published_at.tzinfo is not None


def test_entries_deduplicated_by_url_inside_one_feed() -> None:
    feed = _feed(
        _entry(title="Bản tin 1", link="https://vov.vn/a.vov?utm_source=rss", guid="1"),
        _entry(title="Bản tin 1 (sửa)", link="http://www.vov.vn/a.vov#top", guid="2"),
        _entry(title="Bản tin 2", link="https://vov.vn/b.vov", guid="3"),
    )
    articles = _normalize(feed)
    assert [a.title for a in articles] == ["Bản tin 1", "Bản tin 2"]
    assert [a.url for a in articles] == ["https://vov.vn/a.vov", "https://vov.vn/b.vov"]


def test_entries_without_title_and_link_are_skipped() -> None:
    feed = _feed(
        _entry(title="", link="", guid="", summary_html="Chỉ có mô tả"),
        _entry(title="Không có liên kết", link="", guid="guid-123"),
        _entry(
            title="",
            link="https://vov.vn/c.vov",
            summary_html="<p>Ủy ban nhân dân tỉnh họp báo về dự án đường cao tốc</p>",
        ),
        _entry(title="Liên kết trong guid", link="", guid="https://vov.vn/d.vov"),
    )
    articles = _normalize(feed)
    assert [a.url for a in articles] == ["https://vov.vn/c.vov", "https://vov.vn/d.vov"]
    assert articles[0].title == "Ủy ban nhân dân tỉnh họp báo về dự án đường cao tốc"


def test_article_fields_from_vnexpress_style_description() -> None:
    description = (
        '<a href="https://vnexpress.net/x.html"><img src="/i/2026/anh.jpg" alt="ảnh"></a></br>'
        "Hà Nội ghi nhận 1.400 ca sốt xuất huyết, h&amp;ocirc;m nay tăng"
    )
    entry = _entry(
        title="  Sốt   xuất huyết ",
        link="/x.html",
        guid="",
        summary_html=description,
        published_raw="Wed, 26 Jul 2017 19:41:14 +0700",
        author="Lê Nga",
    )
    (article,) = normalize_entries(
        _feed(entry, link="https://vnexpress.net/"),
        source_id="vnexpress",
        feed_url="https://vnexpress.net/rss/tin-moi-nhat.rss",
        fetched_at=FETCHED,
        tz=HCM,
    )
    assert article.title == "Sốt xuất huyết"
    assert article.url == "https://vnexpress.net/x.html"
    assert article.guid == "https://vnexpress.net/x.html"
    assert article.summary == "Hà Nội ghi nhận 1.400 ca sốt xuất huyết, hôm nay tăng"
    assert article.image_url == "https://vnexpress.net/i/2026/anh.jpg"
    assert article.published_at == datetime(2017, 7, 26, 19, 41, 14, tzinfo=ICT)
    assert article.author == "Lê Nga"
    assert article.source_id == "vnexpress"
    assert article.feed_url == "https://vnexpress.net/rss/tin-moi-nhat.rss"


def test_media_image_wins_over_description_image() -> None:
    entry = _entry(summary_html='<img src="https://vov.vn/small.jpg">Tin', image_url="/media/big.jpg")
    (article,) = _normalize(_feed(entry))
    assert article.image_url == "https://vov.vn/media/big.jpg"


def test_relative_links_resolve_against_feed_url_when_channel_link_missing() -> None:
    (article,) = _normalize(_feed(_entry(link="a.vov"), link=""))
    assert article.url == "https://vov.vn/rss/a.vov"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hà Nội: Mưa lớn, nhiều tuyến đường ngập!", "Hà Nội - mưa lớn nhiều tuyến đường ngập"),
        ("“Đồng bằng sông Cửu Long” đón lũ", unicodedata.normalize("NFD", "Đồng bằng sông Cửu Long đón lũ")),
        ("Thủy điện xả lũ", "Thuỷ điện xả lũ..."),
        ("GIÁ VÀNG HÔM NAY", "giá vàng hôm nay"),
    ],
)
def test_story_title_key_same_story(first: str, second: str) -> None:
    assert story_title_key(first) == story_title_key(second)


def test_story_title_key_shape_and_difference() -> None:
    assert story_title_key("Đồng bằng sông Cửu Long: đón lũ!") == "dong bang song cuu long don lu"
    assert story_title_key("Giá vàng tăng") != story_title_key("Giá vàng giảm")


LONG_SUMMARY = (
    "Ủy ban nhân dân tỉnh vừa tổ chức họp báo công bố kế hoạch đầu tư xây dựng tuyến đường cao tốc "
    "nối hai tỉnh đồng bằng sông Cửu Long, với tổng mức đầu tư hơn 27.000 tỷ đồng."
)


def test_story_text_key() -> None:
    key = story_text_key(LONG_SUMMARY)
    assert key is not None
    assert story_text_key(unicodedata.normalize("NFD", LONG_SUMMARY).replace(",", " ,")) == key
    assert story_text_key(LONG_SUMMARY.replace("27.000", "28.000")) != key
    # only the start counts: outlets append different bylines and "related" tails
    assert story_text_key(LONG_SUMMARY * 2 + " Theo VOV") == story_text_key(LONG_SUMMARY * 2 + " Theo TTXVN")
    assert story_text_key("Noi dung tom tat.") is None
    assert story_text_key("") is None


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<a href="/x"><img src="a.jpg"></a></br>Tóm tắt bài', "Tóm tắt bài"),
        ("<p>Đoạn một.</p><p>Đoạn hai.</p>", "Đoạn một. Đoạn hai."),
        ("<strong>Hà Nội</strong>, ngày 14/9", "Hà Nội, ngày 14/9"),
        ("Giá &amp; lãi suất &ocirc;", "Giá & lãi suất ô"),
        ("<script>alert('x')</script>Nội dung<style>p{}</style>", "Nội dung"),
        (
            "<p>Tin chính</p><ul><li><a href='/a'>Liên quan 1</a></li><li><a href='/b'>Liên quan 2</a></li></ul>",
            "Tin chính",
        ),
        ("<ul><li>Ý một</li><li>Ý hai</li></ul>", "Ý một Ý hai"),
        ("Chỉ là chữ", "Chỉ là chữ"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("html", "image"),
    [
        ('<a><img width=130 src="https://i.vnecdn.net/a.jpg" ></a></br>x', "https://i.vnecdn.net/a.jpg"),
        ('<img src="/uploads/b.png"><img src="/c.png">', "https://sggp.org.vn/uploads/b.png"),
        ('<img data-src="lazy.webp" src="data:image/gif;base64,R0lGOD">', "https://sggp.org.vn/kinh-te/lazy.webp"),
        ("<p>Không có ảnh</p>", None),
        ('<img src="javascript:alert(1)">', None),
    ],
)
def test_first_image(html: str, image: str | None) -> None:
    assert first_image(html, "https://sggp.org.vn/kinh-te/") == image


def test_guid_defaults_to_canonical_url() -> None:
    feed = _feed(
        _entry(link="/a.vov?utm_source=rss", guid="/a.vov?utm_source=rss"),
        _entry(link="/b.vov", guid="tag:vov.vn,2026:b"),
    )
    first, second = _normalize(feed)
    assert first.guid == first.url == "https://vov.vn/a.vov"
    assert second.guid == "tag:vov.vn,2026:b"


def test_oversized_text_is_cut_at_a_word() -> None:
    word = "Quảng Ninh "
    entry = _entry(title=word * 500, summary_html="<p>" + word * 2000 + "</p>", author="Tác giả " * 100)
    (article,) = _normalize(_feed(entry))
    assert 280 < len(article.title) <= MAX_TITLE == 300
    assert article.title.endswith("Ninh…") or article.title.endswith("Quảng…")
    assert 4900 < len(article.summary) <= 5000
    assert len(article.author) <= 200


def _corpus_descriptions() -> list[str]:
    import xml.etree.ElementTree as ET

    out = []
    for path in sorted(CORPUS.glob("*.rss")):
        for item in ET.fromstring(path.read_bytes()).iter("item"):
            out.append(item.findtext("description") or "")
    return [d for d in out if "<" in d]


FRAGMENTS = [
    '<a href="/x"><img width=130 height=100 src="/i/a.jpg" ></a></br>Từ ngày 17-23/7, Hà Nội ghi nhận 1.400 ca',
    "<p>Đoạn <b>một</b> &amp; hai</p><p>Đoạn &lt;ba&gt;</p>",
    '<img data-src="https://cdn.vn/x.png" src="data:image/gif;base64,AA"> Thuỷ lợi',
    "<div class='a'>Hoà bình<br/>thuỷ lợi</div>",
    "<img src=x.jpg>Tin &#225; &ocirc;ng",
]


def test_fast_html_path_agrees_with_the_parse_tree() -> None:
    from bot.ingest.htmltext import _NEEDS_TREE, _simple_text_and_image, _tree_text_and_image

    fragments = FRAGMENTS + _corpus_descriptions()
    simple = [f for f in fragments if not _NEEDS_TREE.search(f)]
    assert len(simple) >= len(FRAGMENTS)  # the fast path is really taken
    for fragment in simple:
        base = "https://baophutho.vn/rss/"
        assert _simple_text_and_image(fragment, base) == _tree_text_and_image(fragment, base), fragment


@pytest.mark.parametrize(
    "text", ["Phú Thọ: Khai mạc Giỗ Tổ Hùng Vương!", "Thuỷ lợi Hoà Bình – ĐỒNG bằng", "Plain ASCII, text."]
)
def test_story_keys_from_folded_text_equal_keys_from_raw_text(text: str) -> None:
    from bot.textnorm import index_forms

    folded = index_forms(text)[1]
    assert story_title_key(folded, folded=True) == story_title_key(text)
    long = (text + " ") * 10
    assert story_text_key(index_forms(long)[1], folded=True) == story_text_key(long)


@pytest.mark.parametrize(
    ("published_raw", "dated"),
    [
        ("Mon, 23 Nov 2026 09:00:00 +0700", True),
        ("23/11/2026 09:00", True),
        ("Mon, 23 Nov 2026 20:00:00 +0700", True),  # hours ahead: clamped, but the feed did date it
        ("Tue, 01 Dec 2026 10:00:00 +0700", False),  # over a day ahead: no usable date
        (None, False),
        ("", False),
        ("   ", False),
        ("không rõ ngày", False),
        ("31/02/2026 09:00", False),
    ],
)
def test_an_article_without_a_usable_date_is_flagged_undated(published_raw: str | None, dated: bool) -> None:
    (article,) = _normalize(_feed(_entry(link="https://vov.vn/a", published_raw=published_raw)))
    assert article.dated is dated
    if not dated:
        assert article.published_at == FETCHED  # the time it was first seen


def test_items_sharing_a_guid_with_different_links_are_all_kept() -> None:
    # A CMS that gives every item its channel's id: 20 items, one <guid>.
    feed = _feed(*(_entry(title=f"Đắk Lắk: tin {n}", link=f"/tin-{n}.vov", guid="vov-kinh-te") for n in range(20)))
    articles = _normalize(feed)
    assert len(articles) == 20
    assert len({a.guid for a in articles}) == 20
    assert all(a.guid == f"vov-kinh-te {a.url}" for a in articles)
    assert _normalize(feed) == articles  # the same bytes polled again give the same identities


def test_a_shared_guid_with_the_same_link_is_one_item_and_a_lone_guid_stays() -> None:
    feed = _feed(
        _entry(title="Đồng Tháp mùa nước nổi", link="/a.vov", guid="g-1"),
        _entry(title="Đồng Tháp mùa nước nổi (cập nhật)", link="/a.vov", guid="g-1"),
        _entry(title="Huế", link="/b.vov", guid="g-2"),
    )
    first, other = _normalize(feed)
    assert (first.title, first.guid) == ("Đồng Tháp mùa nước nổi", "g-1")
    assert other.guid == "g-2"


HIDDEN = [
    "\x1b",  # ESC, which starts every terminal control sequence
    "\x07",  # BEL
    "\x00\x08\x7f\x9b",  # NUL, backspace, DEL, the C1 CSI
    "\u202e\u202d\u202a\u202b\u202c",  # bidi override / embedding / pop
    "\u2066\u2067\u2068\u2069\u200e\u200f",  # bidi isolates and marks
    "\ue000\ue001\uf8ff",  # private use: the search engine's own highlight marks among them
    "\u200b\u2060\ufeff\u00ad",  # zero-width space, word joiner, BOM, soft hyphen
]


@pytest.mark.parametrize("hidden", HIDDEN)
def test_hidden_characters_never_reach_titles_summaries_or_authors(hidden: str) -> None:
    entry = _entry(
        title=f"Đà{hidden} Nẵng khai mạc lễ hội",
        summary_html=f"<p>Hà Nội{hidden} mưa lớn &#x1b;&#7;</p>",
        author=f"Nguyễn{hidden} Văn Đức",
    )
    (article,) = _normalize(_feed(entry))
    assert article.title == "Đà Nẵng khai mạc lễ hội"
    assert article.summary == "Hà Nội mưa lớn"
    assert article.author == "Nguyễn Văn Đức"


def test_tabs_and_newlines_in_titles_become_spaces_not_glue() -> None:
    (article,) = _normalize(_feed(_entry(title="Cần Thơ:\tđường\r\nsạt lở\x1c\x85ven sông")))
    assert article.title == "Cần Thơ: đường sạt lở ven sông"


def test_a_100_kb_title_is_shortened_at_a_word() -> None:
    (article,) = _normalize(_feed(_entry(title="Thừa Thiên Huế " * 7_000)))
    assert len(article.title) <= MAX_TITLE
    assert article.title.startswith("Thừa Thiên Huế Thừa")
    assert article.title.endswith(("Thừa…", "Thiên…", "Huế…"))


@pytest.mark.parametrize("bad", ["\x1b", "\x07", "\u202e", "\x9b"])
def test_control_and_bidi_characters_in_links_are_percent_encoded(bad: str) -> None:
    url = canonical_url(f"https://vov.vn/tin{bad}moi.html")
    assert url.startswith("https://vov.vn/tin%")
    assert url.endswith("moi.html")
    assert bad not in url


_HIDDEN_CHARS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ue000-\uf8ff\ufeff\u00ad]"
)
# Vietnamese letters among every kind of character a feed can send, hidden ones weighted up.
_FEED_TEXT = st.text(
    st.sampled_from("Đđàáảãạăằắẳẵặâầấẩẫậơờớởỡợưừứửữự \t\n") | st.characters() | st.sampled_from("".join(HIDDEN)),
    max_size=200,
)


@settings(max_examples=2000)
@given(_FEED_TEXT)
def test_clean_text_never_keeps_a_hidden_character(text: str) -> None:
    cleaned = clean_text(text)
    assert not _HIDDEN_CHARS.search(cleaned)
    assert cleaned == unicodedata.normalize("NFC", cleaned)
    assert cleaned == cleaned.strip()


@settings(max_examples=2000)
@given(_FEED_TEXT)
def test_terminal_safe_text_has_no_controls_but_tab_and_newline(text: str) -> None:
    printed = terminal_safe(text)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", printed)
    assert printed.count("\n") == text.count("\n")
