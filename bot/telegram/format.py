"""Telegram HTML for search results, and splitting it into messages Telegram accepts.

Telegram limits a message to 4096 characters counted in UTF-16 code units after
entity parsing. We count the raw HTML instead (always at least as long), so a part
that fits here fits there. Every function returns balanced HTML using only the
tags Telegram allows, with `&`, `<`, `>` escaped in text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.search.types import MARK_END, MARK_START, SearchHit
from bot.telegram.i18n import Html, t_plain
from bot.textnorm import encodable

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for callback_data
PAGER_NOOP = "pg:noop"
MAX_TITLE = 300
MAX_SNIPPET = 300
_ATOM = re.compile(r"<[^<>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)")
_MAX_TAG = 1024  # an opening tag longer than this (a huge href) is dropped, its text kept
_PAGER = re.compile(r"^pg:([A-Za-z0-9_-]{1,40}):(\d{1,6})$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_SPACE = re.compile(r"\s+")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def esc(text: str) -> Html:
    """Escape text for Telegram HTML (& < > and ", so it is also safe inside an attribute)."""
    return Html(html.escape(encodable(str(text)), quote=False).replace('"', "&quot;"))


def link(url: str, title: str) -> Html:
    """<a href="url">title</a>, both escaped; plain escaped title unless url is http(s)."""
    title = title if title.strip() else url
    try:
        parts = urlsplit(url.strip())
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    except ValueError:
        usable = False
    if not usable or any(c.isspace() or ord(c) < 32 for c in url.strip()):
        return esc(title)
    return Html(f'<a href="{esc(url.strip())}">{esc(title)}</a>')


def local_time(dt: datetime, tz: ZoneInfo, now: datetime | None = None) -> str:
    """'22/11 16:30' in the organization's timezone, '22/11/2025 16:30' outside the current year.

    A naive time is taken as UTC; `now` defaults to the current time."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    local = dt.astimezone(tz)
    this_year = (now or datetime.now(UTC)).astimezone(tz).year
    return local.strftime("%d/%m %H:%M" if local.year == this_year else "%d/%m/%Y %H:%M")


def snippet_html(snippet: str) -> Html:
    """Escape a snippet and turn its match marks into <b>…</b>, balanced whatever the marks."""
    out: list[str] = []
    bold = False
    for piece in re.split(f"([{MARK_START}{MARK_END}])", snippet):
        if piece == MARK_START:
            bold = True
        elif piece == MARK_END:
            bold = False
        elif piece:
            out.append(f"<b>{esc(piece)}</b>" if bold else esc(piece))
    return Html("".join(out).replace("</b><b>", ""))


def truncate_text(text: str, max_chars: int) -> str:
    """Shorten to at most `max_chars` characters on a word boundary, ending in '…'."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return "…"[: max(max_chars, 0)]
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if not text[max_chars - 1].isspace() and space >= max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + "…"


def _clean_title(title: str) -> str:
    return truncate_text(_SPACE.sub(" ", title).strip(), MAX_TITLE)


def format_hits(
    hits: Sequence[SearchHit],
    tz: ZoneInfo,
    *,
    start_index: int = 1,
    with_snippets: bool = False,
    lang: str = "vi",
    now: datetime | None = None,
) -> list[str]:
    """One HTML block per hit: '1. <a>title</a>\\n<i>Outlet</i> · 22/11 16:30' (+ snippet)."""
    blocks = []
    for number, hit in enumerate(hits, start=start_index):
        when = local_time(hit.published_at, tz, now) if hit.dated else t_plain("date.unknown", lang)
        block = f"{number}. {link(hit.url, _clean_title(hit.title))}\n"
        block += f"<i>{esc(_SPACE.sub(' ', hit.source_name).strip())}</i> · {esc(when)}"
        snippet = _SPACE.sub(" ", hit.snippet).strip()
        if with_snippets and snippet.strip(MARK_START + MARK_END):
            block += "\n" + snippet_html(truncate_text(snippet, MAX_SNIPPET))
        blocks.append(block)
    return blocks


def format_results(summary_line: str, blocks: Sequence[str], *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack the summary and hit blocks into as few messages as possible, each <= limit."""
    messages: list[str] = []
    current = ""
    pieces = split_html(summary_line, limit) if summary_line.strip() else []
    pieces += [shorten_html(block, limit) for block in blocks]
    for piece in pieces:
        if not piece.strip():
            continue
        joined = f"{current}\n\n{piece}" if current else piece
        if utf16_len(joined) <= limit:
            current = joined
        else:
            messages.append(current)
            current = piece
    if current:
        messages.append(current)
    return messages


def shorten_html(fragment: str, limit: int) -> str:
    """Fit one HTML fragment into `limit` by shortening its longest text, never cutting a tag or entity."""
    if utf16_len(fragment) <= limit:
        return fragment
    segments = _segments(fragment)
    sizes = [utf16_len(seg if is_tag else _escaped(seg)) for is_tag, seg in segments]
    total = sum(sizes)
    texts = sorted(
        (i for i, (is_tag, seg) in enumerate(segments) if not is_tag and len(seg) > 1), key=lambda i: -sizes[i]
    )
    for i in texts:
        excess = total - limit
        if excess <= 0:
            break
        text = segments[i][1]
        budget = sizes[i] - excess - 1  # 1 for the "…"
        short = truncate_text(text, _chars_within(text, budget) + 1) if budget > 0 else "…"
        segments[i] = (False, short)
        total -= sizes[i] - utf16_len(_escaped(short))
    if total > limit:
        # Markup alone is too long: keep the words, drop the tags.
        parts = split_html(esc(html.unescape(re.sub(r"<[^>]*>", "", fragment))), limit)
        return parts[0] if parts else ""
    return "".join(seg if is_tag else _escaped(seg) for is_tag, seg in segments)


def _chars_within(text: str, budget: int) -> int:
    """How many leading characters of `text` fit in `budget` UTF-16 units once escaped."""
    used = 0
    for count, char in enumerate(text):
        used += utf16_len(_escaped(char))
        if used > budget:
            return count
    return len(text)


def _escaped(text: str) -> str:
    return html.escape(text, quote=False)


def _segments(fragment: str) -> list[tuple[bool, str]]:
    """Split HTML into tags and unescaped text runs, so text can be cut without breaking an entity."""
    out: list[tuple[bool, str]] = []
    for part in re.split(r"(<[^<>]*>)", fragment):
        if part.startswith("<") and part.endswith(">"):
            out.append((True, part))
        elif part:
            out.append((False, html.unescape(part)))
    return out


def split_html(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split long HTML into valid parts <= limit: at line breaks, else inside text, reopening open tags."""
    atoms = _drop_huge_tags(_ATOM.findall(text))
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open at the cut
    i = 0
    while i < len(atoms):
        while i < len(atoms) and atoms[i] == "\n":
            i += 1  # a part never starts with blank lines
        if i >= len(atoms):
            break
        body, i, stack = _fill_part(atoms, i, stack, limit)
        if re.sub(r"<[^>]*>", "", body).strip():
            parts.append(body)
    return parts


def _fill_part(
    atoms: Sequence[str], start: int, stack: list[tuple[str, str]], limit: int
) -> tuple[str, int, list[tuple[str, str]]]:
    """Take atoms from `start` while the part (with closing tags) fits; cut at the last line break."""
    part = [opening for _, opening in stack]
    size = sum(utf16_len(a) for a in part)
    open_now = list(stack)
    best: tuple[int, int, list[tuple[str, str]]] | None = None  # (next atom, part length, stack)
    j = start
    while j < len(atoms):
        atom = atoms[j]
        if _is_stray_close(open_now, atom):
            j += 1  # a closing tag whose opening tag was dropped or never existed
            continue
        after = _apply_tag(open_now, atom)
        if size + utf16_len(atom) + _closing_len(after) > limit:
            break
        part.append(atom)
        size += utf16_len(atom)
        open_now = after
        j += 1
        if atom == "\n":
            best = (j, len(part) - 1, list(open_now))
    if j < len(atoms) and best is not None:
        j, length, open_now = best
        part = part[:length]
    if j == start:
        j += 1  # one atom that can never fit (cannot happen for text within sane limits): skip it
    return "".join(part) + _closing(open_now), j, open_now


def _is_stray_close(stack: Sequence[tuple[str, str]], atom: str) -> bool:
    match = _TAG_NAME.match(atom) if atom.startswith("</") else None
    return match is not None and (not stack or stack[-1][0] != match.group(2).lower())


def _apply_tag(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    match = _TAG_NAME.match(atom) if atom.startswith("<") else None
    if not match:
        return stack
    closing, name = match.group(1) == "/", match.group(2).lower()
    if not closing:
        return [*stack, (name, atom)]
    if stack and stack[-1][0] == name:
        return stack[:-1]
    return stack


def _closing(stack: Sequence[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _closing_len(stack: Sequence[tuple[str, str]]) -> int:
    return sum(len(name) + 3 for name, _ in stack)


def _drop_huge_tags(atoms: list[str]) -> list[str]:
    """Remove opening tags too long to ever fit next to text (and their closing tags)."""
    out: list[str] = []
    dropped: list[bool] = []  # per open tag: was it dropped?
    for atom in atoms:
        match = _TAG_NAME.match(atom) if atom.startswith("<") else None
        if match and match.group(1) != "/":
            drop = len(atom) > _MAX_TAG
            dropped.append(drop)
            if drop:
                continue
        elif match and dropped and dropped.pop():
            continue
        out.append(atom)
    return out


def pager_keyboard(
    token: str, page: int, pages: int, lang: str, *, follow: str | None = None
) -> InlineKeyboardMarkup | None:
    """« Prev / Next » buttons with callback data 'pg:{token}:{page}' (none for a single page), and
    under them "🔔 Follow" ('sub:f:{follow}') when the answer can be followed; None when neither."""
    if not _TOKEN.match(token) or (follow is not None and not _TOKEN.match(follow)):
        raise ValueError("pager and follow tokens must be 1-40 characters of A-Z a-z 0-9 _ -")
    rows = [_pager_row(token, page, pages, lang)] if pages > 1 else []
    if follow is not None:
        rows.append([InlineKeyboardButton(t_plain("button.follow", lang), callback_data=f"sub:f:{follow}")])
    return InlineKeyboardMarkup(rows) if rows else None


def _pager_row(token: str, page: int, pages: int, lang: str) -> list[InlineKeyboardButton]:
    page = max(0, min(page, pages - 1))
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(t_plain("button.prev", lang), callback_data=f"pg:{token}:{page - 1}"))
    # The page counter is a button that does nothing: the handler just answers "noop".
    buttons.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=PAGER_NOOP))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(t_plain("button.next", lang), callback_data=f"pg:{token}:{page + 1}"))
    return buttons


def parse_pager_data(data: str | None) -> tuple[str, int] | None:
    """(token, page) from a pager button's callback data; None if it is not one."""
    match = _PAGER.match(data or "")
    return (match.group(1), int(match.group(2))) if match else None
