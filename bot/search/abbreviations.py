"""Abbreviations the Vietnamese press writes and people type: `UBND` = `ủy ban nhân dân`.

Data, not code: `DEFAULT_TABLE` maps an abbreviation to its expansions (and other
spellings); an organization extends or overrides it in feeds.yaml under
`organization.abbreviations`. All forms of an entry are one class: a query for any of
them finds the others (bot.search.query compiles a term into an OR of its forms).

Forms are compared as FTS5 unicode61 tokens without case or accents: `TP.HCM` is the
tokens tp, hcm (as is `TP HCM`), `TT&TT` is tt, tt, `CĐS` is cđs in the exact columns
and cds in the folded ones, which is why the other forms are matched folded.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from bot.textnorm import fold_vietnamese, nfc

_TOKEN = re.compile(r"[^\W_]+")

# Only abbreviations whose meaning in administrative news is not in doubt.
DEFAULT_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("UBND", ("ủy ban nhân dân",)),
    ("HĐND", ("hội đồng nhân dân",)),
    ("TP.HCM", ("TPHCM", "TP. Hồ Chí Minh", "thành phố Hồ Chí Minh")),
    ("TT&TT", ("TTTT", "thông tin và truyền thông")),
    ("CĐS", ("chuyển đổi số",)),
    ("CNTT", ("công nghệ thông tin",)),
    ("KH&CN", ("KHCN", "khoa học và công nghệ")),
    ("ATTT", ("an toàn thông tin",)),
    ("BHXH", ("bảo hiểm xã hội",)),
    ("BHYT", ("bảo hiểm y tế",)),
    ("THPT", ("trung học phổ thông",)),
    ("THCS", ("trung học cơ sở",)),
    ("MTTQ", ("mặt trận tổ quốc",)),
    ("CSGT", ("cảnh sát giao thông",)),
    ("ATGT", ("an toàn giao thông",)),
    ("GD&ĐT", ("GDĐT", "giáo dục và đào tạo")),
    ("NN&PTNT", ("NNPTNT", "nông nghiệp và phát triển nông thôn")),
    ("TN&MT", ("TNMT", "tài nguyên và môi trường")),
    ("LĐ-TB&XH", ("LĐTBXH", "lao động thương binh và xã hội")),
    ("VH-TT&DL", ("VHTTDL", "văn hóa thể thao và du lịch")),
    ("GTVT", ("giao thông vận tải",)),
    ("KT-XH", ("KTXH", "kinh tế xã hội")),
    ("ĐBQH", ("đại biểu quốc hội",)),
    ("BCH", ("ban chấp hành",)),
    ("PCCC", ("phòng cháy chữa cháy",)),
    ("CCHC", ("cải cách hành chính",)),
    ("HTX", ("hợp tác xã",)),
    ("VKSND", ("viện kiểm sát nhân dân",)),
    ("TAND", ("tòa án nhân dân",)),
)  # fmt: skip

Key = tuple[str, ...]


def folded_key(tokens: Sequence[str]) -> Key:
    """Tokens compared without case or accents (`Ủy`, `uỷ` and `uy` are one key)."""
    return tuple(fold_vietnamese(t).casefold() for t in tokens)  # no marks left: tone placement is moot


def form_key(text: str) -> Key:
    """The key of a form as written in the table or in feeds.yaml."""
    return folded_key(_TOKEN.findall(nfc(text)))


class Abbreviations:
    """Classes of equivalent forms, looked up by folded token key."""

    def __init__(self, table: Sequence[tuple[str, Sequence[str]]]) -> None:
        entries: dict[Key, set[Key]] = {}
        for abbreviation, expansions in table:  # a later entry for the same abbreviation replaces
            key = form_key(abbreviation)
            if key:
                entries[key] = {key, *(k for k in map(form_key, expansions) if k)}
        self._classes: dict[Key, frozenset[Key]] = {}
        for forms in entries.values():
            merged = set(forms).union(*(self._classes.get(k, ()) for k in forms))
            for key in merged:
                self._classes[key] = frozenset(merged)
        self.longest = max((len(k) for k in self._classes), default=0)
        self._firsts = frozenset(k[0] for k in self._classes)

    def other_forms(self, tokens: Sequence[str]) -> list[Key]:
        """The folded forms equivalent to `tokens`, itself excluded, in a stable order."""
        return self.others_of(folded_key(tokens))

    def others_of(self, key: Key) -> list[Key]:
        """`other_forms` for a key already folded (`folded_key`)."""
        if not key or key[0] not in self._firsts:
            return []
        return sorted(self._classes.get(key, frozenset()) - {key})

    def longest_run(self, words: Sequence[Key | None], start: int) -> int:
        """How many folded words of `words[start:]` (None: not a plain word) spell a known form; 0 if none."""
        first = words[start] if start < len(words) else None
        if not first or first[0] not in self._firsts:
            return 0
        tokens: Key = ()
        best = 0
        for count, word in enumerate(words[start:], 1):
            if word is None:
                break
            tokens += word
            if len(tokens) > self.longest:
                break
            if tokens in self._classes:
                best = count
        return best

    def __len__(self) -> int:
        return len(self._classes)


@functools.lru_cache(maxsize=8)
def abbreviations_for(extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> Abbreviations:
    """The default table extended (or overridden, entry by entry) by an organization's own."""
    return Abbreviations(DEFAULT_TABLE + extra)


DEFAULT_ABBREVIATIONS = abbreviations_for()
