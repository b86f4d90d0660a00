"""The word-by-word `index_forms` gives exactly what the whole-text rules give."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.textnorm import canonical_tones, fold_vietnamese, index_forms

# Letters that exercise every rule: tone clusters (oa/oe/uy, qu), đ, combining marks
# (NFD input), zero-width and other non-Latin characters, spaces in runs.
_ALPHABET = st.sampled_from(
    list("aăâeêioôơuưyqQoOuUđĐdhkn ,.-:0")
    + list("àáảãạèéẻẽẹỳýỷỹỵÀÁẢÃẠÈÉẺẼẸỲÝỶỸỴ")
    + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u031b", "\u200b", "ά", "й", "한", "–", "  "]
)


def _whole_text_forms(text: str) -> tuple[str, str]:
    exact = canonical_tones(text)
    return exact, fold_vietnamese(exact)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_index_forms_equals_the_whole_text_rules(text: str) -> None:
    assert index_forms(text) == _whole_text_forms(text)


@given(st.text(max_size=80))
def test_index_forms_equals_the_whole_text_rules_on_any_text(text: str) -> None:
    assert index_forms(text) == _whole_text_forms(text)


@pytest.mark.parametrize(
    ("text", "exact", "folded"),
    [
        ("Thuỷ lợi Hoà Bình khoẻ mạnh", "Thủy lợi Hòa Bình khỏe mạnh", "Thuy loi Hoa Binh khoe manh"),
        ("Đền Hùng quý hoàn toàn", "Đền Hùng quý hoàn toàn", "Den Hung quy hoan toan"),
        ("Ho\u0300a  bình", "Hòa  bình", "Hoa  binh"),  # NFD input, a double space kept
        ("x" * 100 + "oà " * 3, "x" * 100 + "òa " * 3, "x" * 100 + "oa " * 3),
        ("plain ASCII", "plain ASCII", "plain ASCII"),
    ],
)
def test_index_forms_of_real_vietnamese(text: str, exact: str, folded: str) -> None:
    assert index_forms(text) == (exact, folded)
    assert index_forms(text) == (exact, folded)  # again, from the memo
