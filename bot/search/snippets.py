"""Search snippets: the matched part of an article with the matches marked.

The folded column marks what an accent-free term matched; its positions are mapped back
onto the accented text so the snippet always shows the outlet's own spelling.
"""

from __future__ import annotations

from bot.search.types import MARK_END, MARK_START
from bot.textnorm import fold_vietnamese

SNIPPET_CHARS = 220
SNIPPET_LEAD = 60  # characters of context kept before the first match


def _strip_marks(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without marks plus the (start, end) character spans that were marked."""
    plain: list[str] = []
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for char in marked:
        if char == MARK_START:
            start = len(plain)
        elif char == MARK_END:
            if start is not None and len(plain) > start:
                spans.append((start, len(plain)))
            start = None
        else:
            plain.append(char)
    return "".join(plain), spans


def _fold_positions(exact: str) -> list[int]:
    """For each character of fold_vietnamese(exact), the index of the character it came from."""
    positions: list[int] = []
    for index, char in enumerate(exact):
        positions.extend([index] * len(fold_vietnamese(char)))
    return positions


def _matched_spans(exact_marked: str, fold_marked: str) -> tuple[str, list[tuple[int, int]]]:
    # The folded column marks what an accent-free term matched; its positions map back to
    # the accented text because folding keeps or drops characters one by one.
    exact, spans = _strip_marks(exact_marked)
    folded, fold_spans = _strip_marks(fold_marked)
    positions = _fold_positions(exact)
    if len(positions) == len(folded):
        spans += [(positions[s], positions[e - 1] + 1) for s, e in fold_spans]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # "Đền" and "Hùng" matched as two words read better as one marked "Đền Hùng".
        if merged and (start <= merged[-1][1] or not exact[merged[-1][1] : start].strip()):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return exact, merged


def _window(text: str, first: tuple[int, int]) -> tuple[int, int]:
    start = 0
    if first[0] > SNIPPET_LEAD:
        space = text.find(" ", first[0] - SNIPPET_LEAD, first[0])
        start = space + 1 if space != -1 else first[0] - SNIPPET_LEAD
    end = len(text)
    if end - start > SNIPPET_CHARS:
        end = start + SNIPPET_CHARS
        space = text.rfind(" ", first[1], end)
        end = max(space if space != -1 else end, first[1])
    return start, end


def _with_marks(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out, cursor = [], start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out += [text[cursor:s], MARK_START, text[s:e], MARK_END]
        cursor = e
    out.append(text[cursor:end])
    body = "".join(out).strip()
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def marked_snippet(display: str, exact_marked: str, fold_marked: str, *, title: str = "") -> str | None:
    """The matched part of a column with MARK_START/MARK_END around matches; None when nothing matched.

    A leading repeat of `title` is left out (the answer shows the title already)."""
    exact, spans = _matched_spans(exact_marked, fold_marked)
    # Show the outlet's own text (its tone placement) when it lines up with the indexed form.
    text = display if len(display) == len(exact) else exact
    skip = after_title(text, title)
    text, spans = text[skip:], [(max(s, skip) - skip, e - skip) for s, e in spans if e > skip]
    if not spans:
        return None
    start, end = _window(text, spans[0])
    return _with_marks(text, spans, start, end)


def plain_snippet(text: str, title: str = "") -> str:
    """The start of a summary (after a leading repeat of `title`), cut at a word boundary."""
    text = text[after_title(text, title) :]
    if len(text) <= SNIPPET_CHARS:
        return text
    space = text.rfind(" ", 0, SNIPPET_CHARS)
    return text[: space if space > 0 else SNIPPET_CHARS].rstrip() + "…"


def after_title(text: str, title: str) -> int:
    """Where `text` goes on after repeating `title` at its start; 0 when it does not.

    Many feeds start the description with the title, sometimes with other punctuation or
    spacing ("Tiêu đề. Nội dung…", "Tiêu đề - Nội dung…"): letters and digits are compared
    with case and accents folded, everything else is skipped. Linear in the two lengths.
    """
    wanted = [c for c in fold_vietnamese(title).casefold() if c.isalnum()]
    if not wanted:
        return 0
    matched, end = 0, 0
    for index, char in enumerate(text):
        if not char.isalnum():
            continue
        if matched == len(wanted):
            return 0 if end == index else _skip_separators(text, end)  # "Bão số 3" is not "Bão số 30"
        if fold_vietnamese(char).casefold() != wanted[matched]:
            return 0
        matched, end = matched + 1, index + 1
    return len(text) if matched == len(wanted) else 0


def _skip_separators(text: str, start: int) -> int:
    end = start
    while end < len(text) and not text[end].isalnum() and text[end] not in "(\"'“‘[":
        end += 1
    return end
