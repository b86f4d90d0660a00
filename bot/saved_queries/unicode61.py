"""FTS5's `unicode61 remove_diacritics 0` tokenizer, emulated exactly, for the percolator.

The percolator must see the very tokens FTS5 indexes, and SQLite's Unicode tables are not
Python's (measured on SQLite 3.40.1 against Python 3.11: unassigned code points are token
characters, 21 letters newer than SQLite's tables are separators, the combining marks of
U+0300–U+0331 continue a token but never start one; 403 letters fold differently: Cherokee
and newer capitals are not folded, `µ`→`μ`, `ſ`→`s`, `ς`→`σ`, and Python's `lower()`
writes a final `Σ` as `ς`). So the tables below come from SQLite itself (`derive_tables`;
`python -m bot.saved_queries.unicode61` prints them), and tests/test_percolator.py asks the
running SQLite again about every code point where they change, the whole BMP and a sample
of the rest.

A token is a letter or digit followed by letters, digits and diacritics, each folded on
its own; FTS5 cuts a token longer than 32,768 UTF-8 bytes to that length, in the index
and in queries alike.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

# Hex code point ranges, from `derive_tables` on SQLite 3.40.1.
TOKEN_CHARS = """
30-39 41-5a 61-7a aa b2-b3 b5 b9-ba bc-be c0-d6 d8-f6 f8-2c1 2c6-2d1 2e0-2e4 2ec 2ee 370-374 376-37d 37f-383 386
388-3f5 3f7-481 48a-559 560-588 58b-58e 590 5c8-5f2 5f5-5ff 605 61c-61d 620-64a 660-669 66e-66f 671-6d3 6d5 6e5-6e6
6ee-6fc 6ff 70e 710 712-72f 74b-7a5 7b1-7ea 7f4-7f5 7fa-815 81a 824 828 82e-82f 83f-858 85c-85d 85f-8e3 8ff 904-939
93d 950 958-961 966-96f 971-980 984-9bb 9bd 9c5-9c6 9c9-9ca 9ce-9d6 9d8-9e1 9e4-9f1 9f4-9f9 9fc-a00 a04-a3b a3d
a43-a46 a49-a4a a4e-a50 a52-a6f a72-a74 a76-a80 a84-abb abd ac6 aca ace-ae1 ae4-aef af2-b00 b04-b3b b3d b45-b46
b49-b4a b4e-b55 b58-b61 b64-b6f b71-b81 b83-bbd bc3-bc5 bc9 bce-bd6 bd8-bf2 bfb-c00 c04-c3d c45 c49 c4e-c54 c57-c61
c64-c7e c80-c81 c84-cbb cbd cc5 cc9 cce-cd4 cd7-ce1 ce4-d01 d04-d3d d45 d49 d4e-d56 d58-d61 d64-d78 d7a-d81 d84-dc9
dcb-dce dd5 dd7 de0-df1 df5-e30 e32-e33 e3b-e3e e40-e46 e50-e59 e5c-eb0 eb2-eb3 eba ebd-ec7 ece-f00 f20-f33 f40-f70
f88-f8c f98 fbd fcd fdb-102a 103f-1049 1050-1055 105a-105d 1061 1065-1066 106e-1070 1075-1081 108e 1090-1099
10a0-10fa 10fc-135c 1369-138f 139a-13ff 1401-166c 166f-167f 1681-169a 169d-16ea 16ee-1711 1715-1731 1737-1751
1754-1771 1774-17b3 17d7 17dc 17de-17ff 180f-18a8 18aa-191f 192c-192f 193c-193f 1941-1943 1946-19af 19c1-19c7
19ca-19dd 1a00-1a16 1a1c-1a1d 1a20-1a54 1a5f 1a7d-1a7e 1a80-1a9f 1aa7 1aae-1aff 1b05-1b33 1b45-1b59 1b7d-1b7f
1b83-1ba0 1bae-1be5 1bf4-1bfb 1c00-1c23 1c38-1c3a 1c40-1c7d 1c80-1cbf 1cc8-1ccf 1ce9-1cec 1cee-1cf1 1cf5-1dbf
1de7-1dfb 1e00-1fbc 1fbe 1fc2-1fcc 1fd0-1fdc 1fe0-1fec 1ff0-1ffc 1fff 2065-2069 2070-2079 207f-2089 208f-209f
20ba-20cf 20f1-20ff 2102 2107 210a-2113 2115 2119-211d 2124 2126 2128 212a-212d 212f-2139 213c-213f 2145-2149 214e
2150-218f 23f4-23ff 2427-243f 244b-249b 24ea-24ff 2700 2776-2793 2b4d-2b4f 2b5a-2ce4 2ceb-2cee 2cf2-2cf8 2cfd
2d00-2d6f 2d71-2d7e 2d80-2ddf 2e2f 2e3c-2e7f 2e9a 2ef4-2eff 2fd6-2fef 2ffc-2fff 3005-3007 3021-3029 3031-3035
3038-303c 3040-3098 309d-309f 30a1-30fa 30fc-318f 3192-3195 31a0-31bf 31e4-31ff 321f-3229 3248-324f 3251-325f
3280-3289 32b1-32bf 32ff 3400-4dbf 4e00-a48f a4c7-a4fd a500-a60c a610-a66e a67f-a69e a6a0-a6ef a6f8-a6ff a717-a71f
a722-a788 a78b-a801 a803-a805 a807-a80a a80c-a822 a82c-a835 a83a-a873 a878-a87f a882-a8b3 a8c5-a8cd a8d0-a8df
a8f2-a8f7 a8fb-a925 a930-a946 a954-a95e a960-a97f a984-a9b2 a9ce-a9dd a9e0-aa28 aa37-aa42 aa44-aa4b aa4e-aa5b
aa60-aa76 aa7a aa7c-aaaf aab1 aab5-aab6 aab9-aabd aac0 aac2-aadd aae0-aaea aaf2-aaf4 aaf7-abe2 abee-d7ff e000-fb1d
fb1f-fb28 fb2a-fbb1 fbc2-fd3d fd40-fdfb fdfe-fdff fe1a-fe1f fe27-fe2f fe53 fe67 fe6c-fefe ff00 ff10-ff19 ff21-ff3a
ff41-ff5a ff66-ffdf ffe7 ffef-fff8 10000-100ff 10103-10136 10140-10178 1018a-1018f 1019c-101cf 101fe-1039e
103a0-103cf 103d1-10856 10858-1091e 10920-1093e 10940-10a00 10a04 10a07-10a0b 10a10-10a37 10a3b-10a3e 10a40-10a4f
10a59-10a7e 10a80-10b38 10b40-10fff 11003-11037 1104e-1107f 11083-110af 110c2-110ff 11103-11126 11135-1113f
11144-1117f 11183-111b2 111c1-111c4 111c9-116aa 116b8-1246f 12474-16f50 16f7f-16f8e 16f93-1cfff 1d0f6-1d0ff
1d127-1d128 1d1de-1d1ff 1d246-1d2ff 1d357-1d6c0 1d6c2-1d6da 1d6dc-1d6fa 1d6fc-1d714 1d716-1d734 1d736-1d74e
1d750-1d76e 1d770-1d788 1d78a-1d7a8 1d7aa-1d7c2 1d7c4-1eeef 1eef2-1efff 1f02c-1f02f 1f094-1f09f 1f0af-1f0b0
1f0bf-1f0c0 1f0d0 1f0e0-1f10f 1f12f 1f16c-1f16f 1f19b-1f1e5 1f203-1f20f 1f23b-1f23f 1f249-1f24f 1f252-1f2ff
1f321-1f32f 1f336 1f37d-1f37f 1f394-1f39f 1f3c5 1f3cb-1f3df 1f3f1-1f3ff 1f43f 1f441 1f4f8 1f4fd-1f4ff 1f53e-1f53f
1f544-1f54f 1f568-1f5fa 1f641-1f644 1f650-1f67f 1f6c6-1f6ff 1f774-e0000 e0002-e001f e0080-e00ff e01f0-10ffff
"""
DIACRITICS = """
300-304 306-30c 30f 311 31b 323-328 32d-32e 330-331
"""
KEPT_CASE = """
130 37f 528 52a 52c 52e 13a0-13f5 1c90-1cba 1cbd-1cbf 2c2f a698 a69a a796 a798 a79a a79c a79e a7ab-a7ae a7b0-a7b4
a7b6 a7b8 a7ba a7bc a7be a7c0 a7c2 a7c4-a7c7 a7c9 a7d0 a7d6 a7d8 a7f5 104b0-104d3 10570-1057a 1057c-1058a
1058c-10592 10594-10595 10c80-10cb2 118a0-118bf 16e40-16e5f 1e900-1e921
"""
FOLDED = """
b5:3bc 17f:73 3c2:3c3 3d0:3b2 3d1:3b8 3d5:3c6 3d6:3c0 3f0:3ba 3f1:3c1 3f5:3b5 1e9b:1e61 1fbe:3b9
"""

MAX_TOKEN_BYTES = 32_768  # FTS5_MAX_TOKEN_SIZE
_LONG = MAX_TOKEN_BYTES // 4  # a shorter token cannot reach the limit (<= 4 bytes a character)


def _ranges(spec: str) -> list[tuple[int, int]]:
    out = []
    for item in spec.split():
        first, _, last = item.partition("-")
        out.append((int(first, 16), int(last or first, 16)))
    return out


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


def _token_pattern(limit: int) -> re.Pattern[str]:
    # FTS5 starts a token at a letter or digit; a diacritic continues one but never starts it.
    starts = _char_class([(a, min(b, limit)) for a, b in _ranges(TOKEN_CHARS) if a <= limit])
    return re.compile(f"[{starts}][{starts}{_char_class(_ranges(DIACRITICS))}]*")


# A character class reaching beyond the BMP is matched range by range (9× slower on
# Vietnamese text), so text without such characters gets a class of the BMP alone.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_TOKEN = _token_pattern(0x10FFFF)
_TOKEN_BMP = _token_pattern(0xFFFF)
_FOLD_EXCEPTIONS = {a: a for first, last in _ranges(KEPT_CASE) for a in range(first, last + 1)}
_FOLD_EXCEPTIONS.update({int(k, 16): int(v, 16) for k, v in (pair.split(":") for pair in FOLDED.split())})
_FOLD_EXCEPTIONS[ord("Σ")] = ord("σ")  # str.lower() applies the final-sigma rule; FTS5 folds per character
_FOLD_EXCEPTIONS_BMP = re.compile(f"[{_char_class(sorted((c, c) for c in _FOLD_EXCEPTIONS if c <= 0xFFFF))}]")


def token_text(text: str) -> str:
    """The tokens FTS5 makes of `text`, folded, joined by single spaces (`Hà Nội: COVID-19` → `hà nội covid 19`)."""
    if _ASTRAL.search(text) is None:
        joined = " ".join(_TOKEN_BMP.findall(text))
        exceptional = not joined.isascii() and _FOLD_EXCEPTIONS_BMP.search(joined) is not None
    else:
        joined = " ".join(_TOKEN.findall(text))
        exceptional = True
    if exceptional:
        joined = "".join(chr(_FOLD_EXCEPTIONS[ord(c)]) if ord(c) in _FOLD_EXCEPTIONS else c.lower() for c in joined)
    else:
        joined = joined.lower()
    if len(joined) > _LONG:
        joined = " ".join(map(_cut, joined.split(" ")))
    return joined


def tokens(text: str) -> list[str]:
    """The tokens FTS5 makes of `text`, folded, in order."""
    joined = token_text(text)
    return joined.split(" ") if joined else []


def _cut(token: str) -> str:
    # The cut may split a character; surrogateescape keeps the bytes, so equality stays byte equality.
    raw = token.encode("utf-8", "surrogateescape")
    return raw[:MAX_TOKEN_BYTES].decode("utf-8", "surrogateescape") if len(raw) > MAX_TOKEN_BYTES else token


EVERY_CODE_POINT = tuple(c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and c != 0x20)


def derive_tables(
    conn: sqlite3.Connection, points: Sequence[int] = EVERY_CODE_POINT
) -> dict[int, tuple[bool, int] | None]:
    """Ask this SQLite how it tokenizes each code point: None for a separator, else (starts a token, its fold)."""
    conn.execute("CREATE VIRTUAL TABLE temp.unicode61_probe USING fts5 (t, tokenize = 'unicode61 remove_diacritics 0')")
    conn.execute("CREATE VIRTUAL TABLE temp.unicode61_terms USING fts5vocab (temp, unicode61_probe, instance)")
    try:
        # One document "x<c>y <c>y …": a separator gives the terms x, y, y; a token character
        # x<fold>y and <fold>y; a mark that only continues a token (a diacritic) x<fold>y and y.
        text = " ".join(f"x{chr(c)}y {chr(c)}y" for c in points)
        conn.execute("INSERT INTO temp.unicode61_probe (t) VALUES (?)", (text,))
        terms = iter([row[0] for row in conn.execute("SELECT term FROM temp.unicode61_terms ORDER BY offset")])
        table: dict[int, tuple[bool, int] | None] = {}
        for point in points:
            inside = next(terms)
            if inside == "x":
                next(terms), next(terms)
                table[point] = None
            else:
                table[point] = (next(terms) != "y", ord(inside[1]))
        return table
    finally:
        conn.execute("DROP TABLE temp.unicode61_terms")
        conn.execute("DROP TABLE temp.unicode61_probe")


def _spec(points: list[int]) -> str:
    runs: list[list[int]] = []
    for point in points:
        if runs and runs[-1][1] == point - 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return " ".join(f"{a:x}" if a == b else f"{a:x}-{b:x}" for a, b in runs)


def table_specs(table: dict[int, tuple[bool, int] | None]) -> tuple[str, str, str, str]:
    """TOKEN_CHARS, DIACRITICS, KEPT_CASE and FOLDED as derived from `table` (see `derive_tables`)."""
    chars = {c: entry for c, entry in table.items() if entry is not None}
    odd = {c: fold for c, (_, fold) in chars.items() if chr(c).lower() != chr(fold)}
    starts = _spec(sorted(c for c, (start, _) in chars.items() if start))
    diacritics = _spec(sorted(c for c, (start, _) in chars.items() if not start))
    kept = _spec(sorted(c for c, fold in odd.items() if c == fold))
    folded = " ".join(f"{c:x}:{fold:x}" for c, fold in sorted(odd.items()) if c != fold)
    return starts, diacritics, kept, folded


if __name__ == "__main__":
    import textwrap

    specs = table_specs(derive_tables(sqlite3.connect(":memory:")))
    for name, spec in zip(("TOKEN_CHARS", "DIACRITICS", "KEPT_CASE", "FOLDED"), specs, strict=True):
        print(f'{name} = """\n' + "\n".join(textwrap.wrap(spec, 116)) + '\n"""')
