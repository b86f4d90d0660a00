"""Telegram HTML: escaping, links, snippets, message packing and splitting (<= 4096 UTF-16 units)."""

from __future__ import annotations

import html
import itertools
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.search.types import MARK_END, MARK_START, SearchHit
from bot.telegram.format import (
    PAGER_NOOP,
    esc,
    format_hits,
    format_results,
    link,
    local_time,
    pager_keyboard,
    parse_pager_data,
    shorten_html,
    snippet_html,
    split_html,
    truncate_text,
    utf16_len,
)
from bot.telegram.i18n import summary_line

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
_ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
            "tg-spoiler", "span"}  # fmt: skip
_TOKEN = re.compile(r"<[^>]*>|&[^;\s<>&]*;?|[^<&]+|[<&]")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_OPEN = re.compile(r'<([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>')
_CLOSE = re.compile(r"</([a-z-]+)>")


def assert_valid_html(text: str, limit: int = 4096) -> None:
    """Strict check of what Telegram's HTML parse mode accepts, plus our length rule."""
    assert utf16_len(text) <= limit, f"{utf16_len(text)} > {limit}"
    stack: list[str] = []
    visible = []
    for token in _TOKEN.findall(text):
        if token.startswith("</"):
            match = _CLOSE.fullmatch(token)
            assert match, f"bad closing tag {token!r}"
            assert stack and stack[-1] == match.group(1), f"unbalanced {token!r} in {text!r}"
            stack.pop()
        elif token.startswith("<"):
            match = _OPEN.fullmatch(token)
            assert match and match.group(1) in _ALLOWED, f"bad tag {token!r}"
            attributes = re.findall(r'([a-z-]+)="([^"]*)"', match.group(2))
            if match.group(1) == "a":
                assert [name for name, _ in attributes] == ["href"], token
                assert "a" not in stack, "nested link"
                href = html.unescape(attributes[0][1])
                assert href.startswith(("http://", "https://")), href
            else:
                assert attributes == [] or match.group(1) == "span", token
            stack.append(match.group(1))
        elif token.startswith("&"):
            assert _ENTITY.fullmatch(token), f"bad entity {token!r}"
            visible.append(html.unescape(token))
        else:
            assert ">" not in token, f"raw > in {token!r}"
            visible.append(token)
    assert not stack, f"unclosed {stack}"
    assert "".join(visible).strip(), "message without visible text"


def visible_text(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def hit(n: int, title: str, *, url: str = "", source_name: str = "Báo Phú Thọ", snippet: str = "") -> SearchHit:
    return SearchHit(
        id=n,
        title=title,
        url=url or f"https://baophutho.vn/bai-{n}.html?a=1&b=2",
        source="baophutho",
        source_name=source_name,
        published_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC) + timedelta(minutes=n),
        snippet=snippet,
    )


def test_validator_rejects_what_telegram_rejects():
    for bad in ["<b>x", "x</b>", "<b><i>x</b></i>", "a & b", "a < b", "<script>x</script>", "&nbsp;x",
                '<a href="javascript:x">x</a>', "<a>x</a>", "", "<b></b>"]:  # fmt: skip
        with pytest.raises(AssertionError):
            assert_valid_html(bad)
    assert_valid_html('<b>Đền</b> &amp; <a href="https://x.vn/?a=1&amp;b=2">Hùng &lt;3</a> &#128512;')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sở TT&TT <Phú Thọ>", "Sở TT&amp;TT &lt;Phú Thọ&gt;"),
        ('Họp "nóng"', "Họp &quot;nóng&quot;"),
        ("&amp;", "&amp;amp;"),
        ("Đền Hùng 🇻🇳", "Đền Hùng 🇻🇳"),
    ],
)
def test_esc(text, expected):
    assert esc(text) == expected


@pytest.mark.parametrize(
    ("url", "title", "expected"),
    [
        ("https://vn.vn/a?x=1&y=2", "Lũ & sạt lở", '<a href="https://vn.vn/a?x=1&amp;y=2">Lũ &amp; sạt lở</a>'),
        ('https://x.vn/"><script>', "T", '<a href="https://x.vn/&quot;&gt;&lt;script&gt;">T</a>'),
        ("javascript:alert(1)", "Bấm <đây>", "Bấm &lt;đây&gt;"),
        ("ftp://x.vn/a", "Tệp", "Tệp"),
        ("https://x.vn/a b", "Có khoảng trắng", "Có khoảng trắng"),
        ("https://x.vn/a", "   ", '<a href="https://x.vn/a">https://x.vn/a</a>'),
        ("http://[::1", "Hỏng", "Hỏng"),
    ],
)  # fmt: skip
def test_link(url, title, expected):
    assert link(url, title) == expected


def test_local_time_is_in_org_timezone():
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert local_time(datetime(2026, 11, 22, 9, 30, tzinfo=UTC), TZ, now) == "22/11 16:30"
    assert local_time(datetime(2026, 11, 22, 9, 30), TZ, now) == "22/11 16:30"  # naive = UTC
    assert local_time(datetime(2026, 1, 1, 0, 0, tzinfo=TZ), TZ, now) == "01/01 00:00"


@pytest.mark.parametrize(
    ("moment", "now", "expected"),
    [
        # another year shows it, in the organization's timezone on both sides
        (datetime(2025, 11, 22, 9, 30, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC), "22/11/2025 16:30"),
        (datetime(2026, 12, 31, 20, 5, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), "01/01/2027 03:05"),
        # 31/12 18:00 UTC is already 1 January in Hà Nội: the same year as the article
        (datetime(2026, 12, 31, 20, 5, tzinfo=UTC), datetime(2026, 12, 31, 18, 0, tzinfo=UTC), "01/01 03:05"),
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, tzinfo=TZ), "31/12/2026 23:00"),
    ],
)
def test_local_time_shows_the_year_outside_the_current_one(moment, now, expected):
    assert local_time(moment, TZ, now) == expected


S, E = MARK_START, MARK_END


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (f"Tỉnh đẩy mạnh {S}chuyển đổi số{E} & cải cách", "Tỉnh đẩy mạnh <b>chuyển đổi số</b> &amp; cải cách"),
        (f"{S}Đền{E} {S}Hùng{E}", "<b>Đền</b> <b>Hùng</b>"),
        (f"mở {S}không đóng", "mở <b>không đóng</b>"),
        (f"đóng{E} không mở", "đóng không mở"),
        (f"{S}{S}hai lần{E}{E}", "<b>hai lần</b>"),
        (f"{S}{E}rỗng", "rỗng"),
        (f"{S}<a>{E}", "<b>&lt;a&gt;</b>"),
    ],
)
def test_snippet_html(snippet, expected):
    assert snippet_html(snippet) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Đền Hùng", 20, "Đền Hùng"),
        ("Lễ hội Đền Hùng năm 2026 thu hút du khách", 20, "Lễ hội Đền Hùng năm…"),
        ("Chuyểnđổisốtoàndiệnkhôngkhoảngtrắng", 10, "Chuyểnđổi…"),
        ("a b", 1, "…"),
        ("abc", 0, ""),
    ],
)
def test_truncate_text(text, limit, expected):
    out = truncate_text(text, limit)
    assert out == expected
    assert len(out) <= limit


def test_format_hits_block_shape():
    blocks = format_hits(
        [hit(1, 'Phú Thọ: <chuyển đổi số> & "cải cách"', snippet=f"đẩy mạnh {S}chuyển đổi số{E}")],
        TZ,
        start_index=11,
        with_snippets=True,
        now=NOW,
    )
    assert blocks == [
        '11. <a href="https://baophutho.vn/bai-1.html?a=1&amp;b=2">Phú Thọ: &lt;chuyển đổi số&gt; &amp; '
        "&quot;cải cách&quot;</a>\n<i>Báo Phú Thọ</i> · 22/11 16:31\nđẩy mạnh <b>chuyển đổi số</b>"
    ]
    assert_valid_html(blocks[0])


@pytest.mark.parametrize(("lang", "label"), [("vi", "không rõ ngày"), ("en", "no date")])
def test_an_undated_hit_says_so_and_an_old_one_shows_its_year(lang: str, label: str) -> None:
    undated = replace(hit(1, "Đền Hùng đón khách"), dated=False)
    old = replace(hit(2, "Đền Hùng năm ngoái"), published_at=datetime(2025, 4, 7, 1, 0, tzinfo=UTC))
    blocks = format_hits([undated, old, hit(3, "Đền Hùng hôm nay")], TZ, lang=lang, now=NOW)
    assert [block.splitlines()[1] for block in blocks] == [
        f"<i>Báo Phú Thọ</i> · {label}",
        "<i>Báo Phú Thọ</i> · 07/04/2025 08:00",
        "<i>Báo Phú Thọ</i> · 22/11 16:33",
    ]


def test_an_empty_snippet_gives_no_snippet_line() -> None:
    blocks = format_hits([hit(1, "Đền Hùng đón khách", snippet="")], TZ, with_snippets=True, now=NOW)
    assert len(blocks[0].splitlines()) == 2
    assert_valid_html(blocks[0])


def test_format_results_packs_into_few_messages():
    blocks = format_hits([hit(n, f"Tin số {n} về Đền Hùng") for n in range(1, 11)], TZ)
    messages = format_results("Tìm thấy 10 bài", blocks)
    assert len(messages) == 1
    assert messages[0].startswith("Tìm thấy 10 bài\n\n1. ")


def test_format_results_splits_between_blocks_and_keeps_order():
    blocks = format_hits([hit(n, "Lễ hội Đền Hùng " * 15) for n in range(1, 41)], TZ)
    messages = format_results("Tìm thấy 40 bài", blocks, limit=1000)
    assert len(messages) > 1
    for message in messages:
        assert_valid_html(message, 1000)
    for a, b in itertools.pairwise(messages):
        assert utf16_len(f"{a}\n\n{b.split(chr(10) * 2)[0]}") > 1000  # greedy: nothing more fitted
    numbers = [int(m) for m in re.findall(r"^(\d+)\. ", "\n".join(messages), re.MULTILINE)]
    assert numbers == list(range(1, 41))


def test_block_longer_than_limit_is_shortened_in_its_title():
    title = "Sở TT&TT <Phú Thọ> họp báo " * 500  # ~13,000 characters, many entities
    block = f"1. {link('https://baophutho.vn/a?x=1&y=2', title)}\n<i>Báo Phú Thọ</i> · 22/11 16:31"
    summary, message = format_results("Tìm thấy 1 bài", [block])
    assert summary == "Tìm thấy 1 bài"  # the block alone takes a whole message
    assert_valid_html(message)
    assert message.startswith('1. <a href="https://baophutho.vn/a?x=1&amp;y=2">Sở TT&amp;TT')
    assert message.endswith("…</a>\n<i>Báo Phú Thọ</i> · 22/11 16:31")
    assert utf16_len(message) > 4000  # shortened only as much as needed


def test_shorten_html_never_cuts_an_entity():
    fragment = "<b>" + "&amp;" * 100 + "</b>"
    for limit in range(10, 60):
        out = shorten_html(fragment, limit)
        assert_valid_html(out, limit)


def test_huge_href_is_dropped_not_cut():
    fragment = f'<a href="https://x.vn/{"a" * 5000}">Tiêu đề</a>\n<i>VnExpress</i>'
    for message in format_results("Kết quả", [fragment]):
        assert_valid_html(message)


def test_split_html_keeps_all_text_and_reopens_tags():
    line = "<b>Đền Hùng &amp; " + "lễ hội " * 50 + "</b> <i>Phú Thọ</i>"
    text = "\n".join([line] * 30) + "\n<b>" + "dài " * 3000 + "</b>"
    parts = split_html(text, 500)
    assert len(parts) > 10
    for part in parts:
        assert_valid_html(part, 500)
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squash("".join(visible_text(p) for p in parts)) == squash(visible_text(text))


def test_split_html_prefers_line_breaks():
    lines = [f"Dòng {n}: chuyển đổi số" for n in range(100)]
    parts = split_html("\n".join(lines), 300)
    for part in parts:
        assert all(line in lines for line in part.split("\n"))


def test_split_html_short_text_is_one_part():
    assert split_html("<b>Đền Hùng</b>") == ["<b>Đền Hùng</b>"]
    assert split_html("\n\n") == []


_PIECES = ["&", "<", ">", '"', "'", "&amp;", "<b>", "</a>", "Sở TT&TT", "Đền Hùng", "chuyển đổi số", "😀", "🇻🇳",
           "𝕏", "Nghị quyết 57-NQ/TW", " ", "  ", "\n", "ừ", "Ð", "e\u0301"]  # fmt: skip


def _random_title(rng: random.Random) -> str:
    n = rng.choice([1, 5, 20, 60, 400, 3000])
    return "".join(rng.choice(_PIECES) for _ in range(n))


def test_random_titles_always_valid_and_within_limit():
    rng = random.Random(57)
    hits = [
        hit(n, _random_title(rng), source_name=_random_title(rng)[:50] or "VnExpress",
            snippet=f"{_random_title(rng)[:200]}{S}{_random_title(rng)[:20]}{E}{_random_title(rng)[:100]}")
        for n in range(1, 201)
    ]  # fmt: skip
    summary = summary_line(200, "vi", period="tuần này", outlets=[("Sở TT&TT <Phú Thọ>", 120), ("VnExpress", 80)])
    for with_snippets in (False, True):
        messages = format_results(summary, format_hits(hits, TZ, with_snippets=with_snippets))
        for message in messages:
            assert_valid_html(message)
        numbers = [int(m) for m in re.findall(r"^(\d+)\. ", "\n".join(messages), re.MULTILINE)]
        assert numbers == list(range(1, 201))


def test_pager_keyboard_callback_data_fits_telegram_limit():
    token = "A" * 40
    keyboard = pager_keyboard(token, 3, 999_999, "vi")
    [row] = keyboard.inline_keyboard
    assert [b.text for b in row] == ["« Trước", "4/999999", "Sau »"]
    for button in row:
        assert len(button.callback_data.encode()) <= 64
    assert parse_pager_data(row[0].callback_data) == (token, 2)
    assert parse_pager_data(row[2].callback_data) == (token, 4)
    assert row[1].callback_data == PAGER_NOOP
    assert parse_pager_data(PAGER_NOOP) is None


def test_pager_keyboard_edges():
    assert pager_keyboard("t1", 0, 1, "vi") is None
    [first] = pager_keyboard("t1", 0, 3, "en").inline_keyboard
    assert [b.text for b in first] == ["1/3", "Next »"]
    [last] = pager_keyboard("t1", 2, 3, "en").inline_keyboard
    assert [b.text for b in last] == ["« Prev", "3/3"]
    with pytest.raises(ValueError):
        pager_keyboard("x" * 41, 0, 3, "vi")
    with pytest.raises(ValueError):
        pager_keyboard("có dấu", 0, 3, "vi")


@pytest.mark.parametrize("data", [None, "", "pg:", "pg:tok", "pg:tok:-1", "pg:tok:x", "pg:" + "a" * 41 + ":1"])
def test_parse_pager_data_rejects_garbage(data):
    assert parse_pager_data(data) is None
