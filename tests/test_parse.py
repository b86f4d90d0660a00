"""parse stage: Atom, RDF, relative links, hostile DTDs, non-feeds, and the process pool."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.ingest.parse import Parser, parse_and_normalize, parse_feed, repair_encoding, sanitize_xml
from tests.corpus import CORPUS

ICT = timezone(timedelta(hours=7))
FETCHED = datetime(2026, 12, 1, tzinfo=UTC)
TZ_NAME = "Asia/Ho_Chi_Minh"

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://baoquangninh.vn/">
  <title>Báo Quảng Ninh</title>
  <link rel="alternate" href="https://baoquangninh.vn/"/>
  <link rel="self" href="https://baoquangninh.vn/atom.xml"/>
  <id>urn:bqn</id>
  <updated>2026-11-22T16:30:11+07:00</updated>
  <entry>
    <title type="html">Hạ Long &amp;ocirc; nhiễm: &lt;b&gt;cảnh báo&lt;/b&gt;</title>
    <link rel="alternate" href="tin/ha-long-123.html?utm_source=atom"/>
    <id>urn:bqn:123</id>
    <published>2026-11-22T16:30:11+07:00</published>
    <updated>2026-11-22T18:00:00+07:00</updated>
    <author><name>Thu Hằng</name></author>
    <summary type="html">&lt;p&gt;Chất lượng không khí &lt;b&gt;giảm&lt;/b&gt;.&lt;/p&gt;</summary>
    <content type="html">&lt;p&gt;&lt;img src="/anh/hl.jpg"&gt;Nội dung đầy đủ&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Cảng Cái Lân</title>
    <link href="https://baoquangninh.vn/tin/cai-lan-124.html"/>
    <id>urn:bqn:124</id>
    <updated>2026-11-22T09:00:00Z</updated>
  </entry>
</feed>
"""

RDF_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://baohaiphong.vn/rss">
    <title>Báo Hải Phòng</title>
    <link>https://baohaiphong.vn/</link>
    <description>Tin tức</description>
  </channel>
  <item rdf:about="https://baohaiphong.vn/tin/1.html">
    <title>Đồ Sơn đón khách</title>
    <link>https://baohaiphong.vn/tin/1.html</link>
    <description>Khách du lịch tăng &lt;i&gt;mạnh&lt;/i&gt;</description>
    <dc:date>2026-11-22T16:30:11+07:00</dc:date>
  </item>
  <item rdf:about="https://baohaiphong.vn/tin/2.html">
    <title>Cát Bà</title>
    <link>https://baohaiphong.vn/tin/2.html</link>
    <dc:date>2026-11-21</dc:date>
  </item>
</rdf:RDF>
"""


def _rss(items: str, *, channel_link: str = "https://vov.vn/", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<rss version="2.0"><channel><title>VOV</title>'
        f"<link>{channel_link}</link>{items}</channel></rss>"
    ).encode()


def _articles(body: bytes, feed_url: str = "https://vov.vn/rss/kinh-te.rss") -> list:
    return parse_and_normalize(body, feed_url=feed_url, source_id="t", fetched_at=FETCHED, tz_name=TZ_NAME)


def test_atom_feed() -> None:
    feed = parse_feed(ATOM_FEED.encode(), "https://baoquangninh.vn/atom.xml")
    assert feed.kind == "atom"
    assert feed.title == "Báo Quảng Ninh"
    first, second = _articles(ATOM_FEED.encode(), "https://baoquangninh.vn/atom.xml")
    assert first.title == "Hạ Long ô nhiễm: cảnh báo"
    assert first.url == "https://baoquangninh.vn/tin/ha-long-123.html"
    assert first.guid == "urn:bqn:123"
    assert first.summary == "Chất lượng không khí giảm."
    assert first.image_url == "https://baoquangninh.vn/anh/hl.jpg"
    assert first.author == "Thu Hằng"
    assert first.published_at == datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)
    assert second.published_at == datetime(2026, 11, 22, 16, 0, tzinfo=ICT)  # only <updated>


def test_rdf_feed() -> None:
    feed = parse_feed(RDF_FEED.encode(), "https://baohaiphong.vn/rss")
    assert feed.kind == "rdf"
    first, second = _articles(RDF_FEED.encode(), "https://baohaiphong.vn/rss")
    assert (first.title, first.summary) == ("Đồ Sơn đón khách", "Khách du lịch tăng mạnh")
    assert first.published_at == datetime(2026, 11, 22, 16, 30, 11, tzinfo=ICT)
    assert second.published_at == datetime(2026, 11, 21, tzinfo=ICT)
    assert second.url == "https://baohaiphong.vn/tin/2.html"


def test_relative_links_resolve_against_channel_link() -> None:
    items = (
        "<item><title>Một</title><link>/kinh-te/mot.vov</link></item>"
        "<item><title>Hai</title><link>hai.vov</link>"
        '<enclosure url="/anh/hai.jpg" type="image/jpeg"/></item>'
    )
    body = _rss(items, channel_link="https://vov.vn/kinh-te/")
    one, two = _articles(body, "https://feeds.vov.vn/rss/kinh-te.rss")
    assert one.url == "https://vov.vn/kinh-te/mot.vov"
    assert two.url == "https://vov.vn/kinh-te/hai.vov"
    assert two.image_url == "https://vov.vn/anh/hai.jpg"


def test_relative_links_resolve_against_feed_url_without_channel_link() -> None:
    body = (
        b'<rss version="2.0"><channel><title>X</title><item><title>A</title><link>/a.htm</link></item></channel></rss>'
    )
    (article,) = _articles(body, "https://baochinhphu.vn/kinh-te.rss")
    assert article.url == "https://baochinhphu.vn/a.htm"


def test_empty_but_valid_feeds_are_not_errors() -> None:
    assert _articles(_rss("")) == []
    atom = '<feed xmlns="http://www.w3.org/2005/Atom"><title>Trống</title></feed>'.encode()
    assert _articles(atom) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t ",
        "<!DOCTYPE html><html><head><title>Trang chủ</title></head><body><p>Xin chào</p></body></html>".encode(),
        b"<html><body><h1>403 Forbidden</h1></body></html>",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        bytes(range(256)) * 4,
        b'{"items": [{"title": "not xml"}]}',
        b"Service Unavailable",
    ],
    ids=["empty", "blank", "html5", "html-403", "png", "binary", "json", "plain-text"],
)
def test_non_feeds_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, "https://vov.vn/rss")


def test_html_page_is_named_in_the_error() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(b"<!doctype html><html><body>Blocked</body></html>", "https://vov.vn/rss")


def test_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # feedparser given bytes tries open(body) as a path; a body must only ever be content.
    local = tmp_path / "feed.xml"
    local.write_bytes(_rss("<item><title>Bí mật</title><link>https://vov.vn/x</link></item>"))
    with pytest.raises(ParseError):
        parse_feed(str(local).encode(), "https://vov.vn/rss")


def _blow_up_feed(size: int = 200_000) -> bytes:
    value = "Hà" * (size // 6)  # half the feed is one entity (3 bytes per "Hà")
    refs = "&big;" * ((size - len(value.encode())) // len("&big;"))
    title_refs, summary_refs = refs[: len(refs) // 2], refs[len(refs) // 2 :]
    # One declaration per line, as feedparser's own entity filter expects: it keeps this
    # "safe-looking" entity and its loose fallback parser then expands every reference.
    prolog = f'\n<!DOCTYPE rss [\n<!ENTITY big "{value}">\n]>\n'
    items = (
        f"<item><title>{title_refs}</title><description>{summary_refs}</description>"
        "<link>https://vov.vn/a</link></item>"
    )
    return _rss(items, prolog=prolog)


def test_internal_entity_blow_up_is_not_expanded() -> None:
    body = _blow_up_feed()
    assert 190_000 < len(body) < 260_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        articles = _articles(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert peak < 50 * 1024 * 1024
    assert elapsed < 5
    (article,) = articles
    assert len(article.title) < len(body)
    assert "HàHà" not in article.title + article.summary


def test_sanitize_removes_the_dtd_only() -> None:
    body = _blow_up_feed(120_000)
    clean = sanitize_xml(body)
    assert b"<!DOCTYPE" not in clean and b"<!ENTITY" not in clean
    assert clean == body[: body.index(b"<!DOCTYPE")] + body[body.index(b"]>") + 2 :]


def test_sanitize_leaves_a_feed_without_dtd_unchanged() -> None:
    body = (CORPUS / "vnexpress.rss").read_bytes()
    assert sanitize_xml(body) == body


def test_billion_laughs_is_not_expanded() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    body = _rss(
        "<item><title>&lol9;</title><link>https://vov.vn/a</link></item>", prolog=f"<!DOCTYPE rss [{''.join(levels)}]>"
    )
    (article,) = _articles(body)
    assert "lollol" not in article.title
    assert len(article.title) < 100


def test_external_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("mật khẩu-7f3a9")
    body = _rss(
        "<item><title>Tin &xxe;</title><link>https://vov.vn/a</link></item>",
        prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    )
    (article,) = _articles(body)
    assert "7f3a9" not in article.title


@pytest.mark.parametrize(
    "prolog",
    [
        '<!-- ghi chú --><?xml-stylesheet href="rss.xsl"?>\n<!DOCTYPE rss [<!ENTITY e "x]>y">]>',
        "<!DOCTYPE rss [<!-- ]> ' --><!ENTITY e 'a\"b'>]>",
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        '<!doctype rss [ <!ENTITY e "<b>bold</b>"> ]>',
    ],
    ids=["bracket-in-value", "quotes-in-comment", "public-id", "markup-in-value"],
)
def test_tricky_doctypes_are_removed_and_the_feed_still_parses(prolog: str) -> None:
    body = _rss("<item><title>Tin &amp; ảnh</title><link>https://vov.vn/a</link></item>", prolog=prolog)
    assert b"DOCTYPE" not in sanitize_xml(body).upper()
    (article,) = _articles(body)
    assert article.title == "Tin & ảnh"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "never closed',
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "x">',
        b'garbage<!DOCTYPE rss [<!ENTITY big "xxxxxxxx">]><rss version="2.0"></rss>',
        b'<?xml version="1.0"?><!ENTITY big "xxxxxxxx"><rss version="2.0"></rss>',
    ],
    ids=["unterminated-literal", "unterminated-subset", "after-garbage", "bare-entity"],
)
def test_unremovable_declarations_are_refused(body: bytes) -> None:
    with pytest.raises(ParseError):
        sanitize_xml(body)


def test_utf16_feed_with_dtd_is_sanitized_and_read() -> None:
    text = (
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY big "' + "x" * 1000 + '">]>'
        '<rss version="2.0"><channel><title>Tài chính</title>'
        "<item><title>Giá vàng &big;</title><link>https://vietnambiz.vn/a.htm</link></item></channel></rss>"
    )
    body = text.encode("utf-16")
    clean = sanitize_xml(body)
    assert b"<!DOCTYPE" not in clean
    (article,) = _articles(body)
    assert article.title.startswith("Giá vàng")
    assert "xxxx" not in article.title


def test_declared_utf16_but_utf8_bytes_still_reads_vietnamese() -> None:
    # VietnamBiz once declared utf-16 while sending UTF-8.
    body = _rss("<item><title>Tỷ giá euro</title><link>https://vietnambiz.vn/a.htm</link></item>")
    (article,) = _articles(body.replace(b'encoding="UTF-8"', b'encoding="utf-16"'))
    assert article.title == "Tỷ giá euro"


def _kwargs(source_id: str = "kt") -> dict:
    return {
        "feed_url": "https://www.koreatimes.co.kr/rss",
        "source_id": source_id,
        "fetched_at": FETCHED,
        "tz_name": TZ_NAME,
    }


async def test_process_pool_matches_inline() -> None:
    bodies = [path.read_bytes() for path in sorted(CORPUS.glob("*.rss"))]
    assert bodies
    inline = Parser(workers=0)
    pool = Parser(workers=2)
    try:
        pooled = await asyncio.gather(*(pool.parse_articles(body, **_kwargs()) for body in bodies))
        direct = [await inline.parse_articles(body, **_kwargs()) for body in bodies]
    finally:
        pool.close()
        inline.close()
    assert pooled == direct
    assert sum(len(articles) for articles in pooled) > 300


async def test_process_pool_raises_parse_error_and_keeps_working() -> None:
    pool = Parser(workers=2)
    try:
        with pytest.raises(ParseError, match="HTML page"):
            await pool.parse_articles(b"<html><body>Access denied</body></html>", **_kwargs())
        articles = await pool.parse_articles((CORPUS / "vtv.rss").read_bytes(), **_kwargs("vtv"))
    finally:
        pool.close()
    pool.close()  # idempotent
    assert [a.source_id for a in articles] == ["vtv", "vtv"]


def _big_feed() -> bytes:
    """The Korea Times feed with its items repeated under distinct links: a long parse."""
    text = (CORPUS / "mediacloud_real-korean-times.rss").read_text(encoding="utf-8")
    head, _, rest = text.partition("<item>")
    items, _, tail = rest.rpartition("</item>")
    block = "<item>" + items + "</item>"
    copies = [block.replace(".html?fl", f".html?copy={n}") for n in range(8)]
    return (head + "".join(copies) + tail).encode()


async def test_pool_keeps_the_event_loop_responsive() -> None:
    body = _big_feed()
    started = time.perf_counter()
    expected = parse_and_normalize(body, **_kwargs())
    inline_seconds = time.perf_counter() - started
    assert len(expected) == 8 * 195

    pool = Parser(workers=2)
    try:
        await pool.parse_articles(b"<rss version='2.0'><channel></channel></rss>", **_kwargs())  # warm up
        longest_gap = 0.0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal longest_gap
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                longest_gap = max(longest_gap, now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        result = await pool.parse_articles(body, **_kwargs())
        done.set()
        await ticking
    finally:
        pool.close()
    assert result == expected
    assert longest_gap < inline_seconds / 2, (longest_gap, inline_seconds)


# --- bytes that are not what they claim: a bad byte costs at most its own item ---------------

_PLACES = ["Hà Nội", "Đà Nẵng", "Cần Thơ", "Huế", "Điện Biên"]


def _five_items() -> bytes:
    return _rss(
        "".join(
            f"<item><title>Tin {place} số {n}</title><link>https://vov.vn/{n}.vov</link>"
            f"<description>Người dân {place} đón nhận</description></item>"
            for n, place in enumerate(_PLACES)
        )
    )


@pytest.mark.parametrize(
    "bad",
    [b"\xff", b"\xc3", b"\xe1\xbb", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\x80\x80\x80"],
)
def test_an_invalid_utf8_sequence_garbles_only_its_own_text(bad: bytes) -> None:
    body = _five_items().replace("Tin Cần Thơ".encode(), "Tin Cần".encode() + bad + " Thơ".encode())
    articles = _articles(body)
    assert [a.title for a in articles if "Cần" not in a.title] == [
        f"Tin {place} số {n}" for n, place in enumerate(_PLACES) if place != "Cần Thơ"
    ]
    (damaged,) = [a for a in articles if "Cần" in a.title]
    assert damaged.title.startswith("Tin Cần") and damaged.title.endswith("Thơ số 2")
    assert all(a.summary.startswith("Người dân ") for a in articles)


@pytest.mark.parametrize("bad", [b"\x00", b"\x00" * 50, b"\x01\x02\x1b\x07\x0b\x0c\x1f"])
def test_nul_and_control_bytes_lose_nothing(bad: bytes) -> None:
    body = _five_items().replace("Tin Huế".encode(), b"Tin" + bad + " Huế".encode())
    body = body.replace(b"</item><item>", b"</item>" + bad + b"<item>", 1)  # between elements too
    titles = [a.title for a in _articles(body)]
    assert len(titles) == 5
    assert titles == [f"Tin {place} số {n}" for n, place in enumerate(_PLACES)]
    assert not any(char in "".join(titles) for char in "\x00\x01\x07\x1b")


def _vtv_declared(charset: str) -> bytes:
    body = (CORPUS / "vtv.rss").read_bytes()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    return body.replace(b'encoding="UTF-8"', f'encoding="{charset}"'.encode(), 1)


@pytest.mark.parametrize("charset", ["windows-1258", "WINDOWS-1258", "iso-8859-1", "us-ascii"])
def test_utf8_bytes_declared_as_a_single_byte_charset_are_read_as_utf8(charset: str) -> None:
    # Every byte of this real VTV sample is defined in windows-1258, so the declared charset
    # reads it without an error, as mojibake: `Viá»‡t` for `Việt`.
    expected = [(a.title, a.summary) for a in _articles((CORPUS / "vtv.rss").read_bytes())]
    assert any("ệ" in title for title, _summary in expected)
    assert [(a.title, a.summary) for a in _articles(_vtv_declared(charset))] == expected


def _cp1258(text: str) -> bytes:
    """`text` as windows-1258 writes Vietnamese: base letters it has (ơ, ư, â, đ…), tone marks apart."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            tone = "".join(c for c in parts if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tone))
            out += base.encode("cp1258") + tone.encode("cp1258")
    return out


def test_a_real_windows_1258_feed_is_still_read_in_windows_1258() -> None:
    title = "Thời tiết Hà Nội: mưa rào và dông ở Điện Biên"
    body = _rss(f"<item><title>{title}</title><link>https://vov.vn/1.vov</link></item>")
    body = _cp1258(body.replace(b'encoding="UTF-8"', b'encoding="windows-1258"').decode())
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert repair_encoding(body) == body
    (article,) = _articles(body)
    assert article.title == title


def test_a_feed_mostly_not_utf8_is_left_to_the_charset_fallback() -> None:
    # Declared UTF-8 (or not at all) but written in windows-1258 throughout: turning every
    # letter into U+FFFD would lose more than feedparser's own guess does.
    body = _rss("<item><title>Thời tiết Hà Nội</title><link>https://vov.vn/1.vov</link></item>")
    legacy = _cp1258(body.decode())
    assert repair_encoding(legacy) == legacy


def test_repair_leaves_clean_utf8_as_it_is() -> None:
    for path in sorted(CORPUS.glob("*.rss")):
        body = path.read_bytes()
        if b"\x00" not in body and b"\x1b" not in body:
            assert repair_encoding(body) == body, path.name


# Bytes that are not text: controls and everything above ASCII, in any order (most sequences are
# invalid UTF-8, some are valid letters). Up to 16: with more invalid sequences than the feed
# has valid letters it counts as written in another charset (repair_encoding leaves it alone).
_JUNK = st.binary(min_size=1, max_size=16).map(lambda raw: bytes(b if b < 0x20 or b > 0x7F else b | 0x80 for b in raw))


@settings(max_examples=300, deadline=None)
@given(_JUNK, st.integers(0, len(_PLACES) - 1))
def test_any_junk_bytes_in_one_item_leave_the_others_exact(junk: bytes, where: int) -> None:
    place = _PLACES[where]
    body = _five_items().replace(f"Tin {place}".encode(), f"Tin {place}".encode() + junk)
    articles = _articles(body)
    assert len(articles) == len(_PLACES)
    for n, (article, name) in enumerate(zip(articles, _PLACES, strict=True)):
        if n != where:
            assert article.title == f"Tin {name} số {n}"
        assert article.summary == f"Người dân {name} đón nhận"
