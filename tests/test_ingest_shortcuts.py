"""Each shortcut of the ingest hot path gives exactly what the general path it skips gives.

The shortcuts (a URL already canonical, a plain RFC 822 date, feedparser's URL joining without
a base, its copy of string-only content parameters) are checked against the general code on
generated inputs around their edges; tests/test_parse.py checks worker processes (which
install the feedparser shortcuts) against inline parsing on every corpus feed.
"""

from __future__ import annotations

import copy
import re
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import feedparser.urls
import pytest
from feedparser.util import FeedParserDict
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.dates import _read_any, _read_plain_rfc822, parse_date
from bot.ingest.lean_feedparser import FlatCopy, urljoin_without_base
from bot.ingest.normalize import _ALREADY_CANONICAL, _rebuilt_url, canonical_url

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FALLBACK = datetime(2026, 12, 1, tzinfo=UTC)

_URL_PART = st.text(alphabet=string.ascii_letters + string.digits + "-._~/?#%:@!$&'()*+,;=[] \t" + "đĐạ", max_size=25)
URLS = st.builds(
    lambda scheme, host, rest: f"{scheme}{host}{rest}",
    st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "//", "", "https:///"]),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-.:@[]ĐA", min_size=0, max_size=15),
    _URL_PART,
)


@settings(max_examples=3000)
@given(URLS, st.sampled_from([None, "https://baophutho.vn/rss/", "http://127.0.0.1:8080/"]))
def test_canonical_url_shortcut_equals_the_full_rebuild(url: str, base: str | None) -> None:
    assert canonical_url(url, base) == _rebuilt_url(url, base)


def test_canonical_url_shortcut_is_taken_for_plain_links() -> None:
    for url in ("https://vnexpress.net/thoi-su/bai-1.html", "http://bao3.example.vn/", "https://a.vn/tin/đền-hùng"):
        assert _ALREADY_CANONICAL.match(url) and _rebuilt_url(url, None) == url
    for url in ("https://VnExpress.net/a", "https://a.vn/x?utm_source=rss", "https://a.vn./x", "https://a.vn:443/x"):
        assert not _ALREADY_CANONICAL.match(url)


_DAYS = st.sampled_from(["", "Sun, ", "Mon, ", "Thu, "])
RFC822 = st.builds(
    lambda wd, d, mon, y, h, mi, s, sign, oh, om: f"{wd}{d} {mon} {y} {h}:{mi}:{s} {sign}{oh}{om}",
    _DAYS,
    st.sampled_from(["1", "01", "9", "29", "30", "31", "32", "00"]),
    st.sampled_from(["Jan", "Feb", "Apr", "Sep", "Dec"]),
    st.sampled_from(["1969", "1970", "2024", "2026", "2200", "2201", "9999"]),
    st.sampled_from(["00", "07", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "30", "59", "60", "61"]),
    st.sampled_from(["+", "-"]),
    st.sampled_from(["00", "07", "14", "23", "24", "99"]),
    st.sampled_from(["00", "30", "45", "59"]),
)


@settings(max_examples=3000)
@given(RFC822)
def test_plain_rfc822_shortcut_equals_the_general_readers(text: str) -> None:
    fast, general = _read_plain_rfc822(text), _read_any(text, TZ)
    if fast is not None:  # None: the general readers decide, as before
        assert general is not None and fast == general and fast.utcoffset() == general.utcoffset()
    assert parse_date(text, TZ, fallback=FALLBACK) == (general.astimezone(TZ) if general else FALLBACK)


def test_plain_rfc822_shortcut_reads_vietnamese_feed_dates() -> None:
    value = _read_plain_rfc822("Mon, 14 Sep 2026 19:46:22 +0700")
    assert value is not None and value.isoformat() == "2026-09-14T19:46:22+07:00"
    assert _read_plain_rfc822("Mon, 14 Sep 2026 19:46:22 GMT+7") is None  # VietnamBiz: the general path


@settings(max_examples=3000)
@given(st.sampled_from(["", "https://baoquangninh.vn/tin/", "http://x.vn"]), _URL_PART | URLS)
def test_feedparser_urljoin_shortcut_equals_feedparser(base: str, uri: str) -> None:
    assert urljoin_without_base(base, uri) == feedparser.urls._urljoin(base, uri)


_VALUES = st.none() | st.text(max_size=10) | st.integers() | st.lists(st.text(max_size=3), max_size=2)


@given(st.dictionaries(st.sampled_from(["type", "language", "base", "value", "src", "description", "url"]), _VALUES))
def test_flat_copy_equals_deepcopy(items: dict[str, object]) -> None:
    params = FeedParserDict(items)
    fast, slow = FlatCopy.deepcopy(params), copy.deepcopy(params)
    assert type(fast) is type(slow) is FeedParserDict
    assert dict(fast) == dict(slow) and fast is not params
    if any(isinstance(v, list) for v in items.values()):
        assert all(fast[k] is not v for k, v in items.items() if isinstance(v, list))  # still a deep copy


def test_a_link_urljoin_refuses_loses_the_link_not_the_feed() -> None:
    from bot.ingest.normalize import normalize_entries
    from bot.models import ParsedFeed, RawEntry

    bad = RawEntry("Tin Hà Nội", "HTTPS://[", "g1", "", "", None)
    good = RawEntry("Tin Đà Nẵng", "https://baodanang.vn/a.html", "g2", "", "", None, image_url="HTTP://[x")
    feed = ParsedFeed("Báo", "https://baodanang.vn/", (bad, good))
    articles = normalize_entries(feed, source_id="s", feed_url="https://baodanang.vn/rss", fetched_at=FALLBACK, tz=TZ)
    assert [(a.url, a.image_url) for a in articles] == [("https://baodanang.vn/a.html", None)]  # ValueError before


@settings(max_examples=2000)
@given(st.text(alphabet=st.characters(max_codepoint=0x2200), max_size=40) | st.text(max_size=40))
def test_cp1252_list_table_translates_as_feedparser_dict(text: str) -> None:
    import feedparser.html

    from bot.ingest.lean_feedparser import CP1252_TABLE

    assert text.translate(CP1252_TABLE) == text.translate(feedparser.html._cp1252)


_KEYS = st.sampled_from(
    [
        "title",
        "link",
        "id",
        "guid",
        "summary",
        "description",
        "url",
        "href",
        "updated",
        "published",
        "category",
        "updated_parsed",
        "published_parsed",
        "tags",
        "links",
        "enclosures",
        "license",
        "channel",
        "feed",
        "date",
    ]
)
_ENTRY_VALUES = st.none() | st.text(max_size=5) | st.just([{"term": "Thời sự", "rel": "license", "href": "h"}])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # feedparser's own `updated` → `published` notice
@settings(max_examples=3000)
@given(st.dictionaries(_KEYS, _ENTRY_VALUES), _KEYS)
def test_feedparserdict_shortcuts_answer_as_feedparser(items: dict[str, object], key: str) -> None:
    from bot.ingest import lean_feedparser as lean

    entry = FeedParserDict(items)

    def outcome(lookup: object) -> object:
        try:
            return ("value", lookup(entry, key))  # type: ignore[operator]
        except (KeyError, IndexError, TypeError) as err:
            return ("raised", type(err))

    assert outcome(lean.getitem) == outcome(lean._GETITEM)
    assert outcome(lean.get) == outcome(lean._GET)
    assert outcome(lean.contains) == outcome(lean._CONTAINS)


_OLD_BLOCK_TAGS = {  # the patterns before, whose matches were replaced by " " + the match
    "htmltext": re.compile(
        r"<\s*(?:/\s*)?(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|figure|figcaption"
        r"|section|article|header|footer|hr|dd|dt|dl|img)\b",
        re.IGNORECASE,
    ),
    "normalize": re.compile(r"</?\s*(?:br|p|div|li|h[1-6]|tr|td)\b", re.IGNORECASE),
}
_MARKUP = st.lists(
    st.sampled_from([*"<>/ \tbrpdivlimgtaBRPIMGhé1ư", "<br>", "</p>", "< / br", "<img src=x>"]), max_size=40
).map("".join)


@settings(max_examples=2000)
@given(_MARKUP)
def test_block_tag_spacing_by_look_ahead_equals_the_template(text: str) -> None:
    from bot.ingest import htmltext, normalize

    for module in (htmltext, normalize):
        old = _OLD_BLOCK_TAGS[module.__name__.rsplit(".", 1)[1]]
        assert module._BLOCK_TAG.sub(" ", text) == old.sub(r" \g<0>", text)


@given(st.text(max_size=60) | _MARKUP)
def test_story_key_by_word_runs_equals_substitute_and_split(text: str) -> None:
    from bot.ingest.normalize import story_title_key

    folded = text.casefold()
    assert story_title_key(text, folded=True) == " ".join(re.sub(r"[\W_]+", " ", folded).split())
