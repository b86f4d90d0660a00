"""The charset of the HTTP Content-Type, for feed bytes that do not say their own encoding.

A feed served as `text/xml; charset=windows-1258` without an XML encoding declaration was
read as windows-1252 (feedparser, given no headers, falls back to it): Vietnamese letters
came out as mojibake. The order followed here is the bytes' own word first, then the header:

1. a byte-order mark (handled by the parser's UTF-16/32 step, untouched here);
2. the XML declaration's encoding, or UTF-8 when there is none (XML 1.0 §4.3.3), as long as
   the bytes decode with it (for UTF-8: mostly, a stray bad byte is the parser's to drop): a
   server's charset is often a default nobody set for the feed;
3. the header's charset, when the bytes decode with it: the body is re-encoded as UTF-8
   (NFC, as cp1258 writes most tones as combining marks) and its declaration says so.

RFC 7303 makes the header authoritative; we let it win only where the bytes prove the
declaration wrong, so a correct feed behind a wrongly configured server stays readable.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from bot.errors import ParseError

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_DECLARED = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_ENCODING_VALUE = re.compile(rb"""^(<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[^"']*\2""")
_UTF8_NAMES = frozenset({"utf-8", "utf_8", "utf8", "u8"})
# Charsets whose every byte is one character: UTF-8 bytes declared as one of these read as
# mojibake without any decoding error, so valid UTF-8 wins (real windows-1258 Vietnamese is
# never valid UTF-8: its letters are lone bytes above 0x7F).
_SINGLE_BYTE = re.compile(r"ascii|latin_1|cp(?:4|8|12)\d\d|iso8859_\d+|koi8_\w|mac_\w+|tis_620|cp874")
# Bytes XML 1.0 forbids (C0 controls but tab, CR, LF): expat stops at the first one. ESC
# stays in ISO-2022 charsets, whose letters it switches.
_FORBIDDEN_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_FORBIDDEN_BUT_ESC = _FORBIDDEN_BYTES.replace(b"\x1b", b"")
_FORBIDDEN_CHARS = dict.fromkeys(_FORBIDDEN_BYTES)  # the same, for str.translate after decoding
# `<?xm` in EBCDIC: feedparser reads such bytes as cp037 (XML 1.0, appendix F).
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"
# Not ASCII supersets: ASCII-looking bytes mean other text (Python's codec names).
_REFUSED = frozenset({"utf_7", "cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140"})


def http_charset(content_type: str | None) -> str | None:
    """The codec named by a Content-Type's charset parameter; None when absent or unknown to Python."""
    match = _CHARSET_PARAM.search(content_type or "")
    return _codec(match.group(1)) if match else None


def decode_by_http_charset(body: bytes, content_type: str | None) -> bytes:
    """`body`, or the same text as UTF-8 when only the HTTP charset reads it right."""
    charset = http_charset(content_type)
    if charset is None or body.startswith(_BOMS):
        return body
    match = _DECLARED.match(body)
    declared = _codec(match.group(1).decode("ascii")) if match else "utf-8"
    if charset == declared or (declared is not None and _decodes(body, declared)):
        return body
    if declared == "utf-8" and _mostly_utf8(body):
        return body  # UTF-8 text with a few bad bytes: those cost their item, not every letter
    if charset == "utf-8" or not _decodes(body, charset):
        return body  # nothing reads it cleanly: the parser's own fallbacks decide
    text = unicodedata.normalize("NFC", body.decode(charset))
    return set_declared_utf8(text.encode("utf-8"))


def set_declared_utf8(body: bytes) -> bytes:
    """`body` (UTF-8 bytes now) with its XML declaration's encoding saying so."""
    return _ENCODING_VALUE.sub(rb"\1\2utf-8\2", body, count=1)


def repair_encoding(body: bytes) -> bytes:
    """ASCII-compatible feed bytes made readable: forbidden control bytes removed, invalid
    UTF-8 sequences replaced by U+FFFD, a wrong single-byte declaration over UTF-8 made `utf-8`.

    Linear, and a few copies of the body at most: a small share of feedparser's own cost.
    """
    declared = _declared_encoding(body)
    iso2022 = declared is not None and declared.startswith("iso2022")
    body = body.translate(None, _FORBIDDEN_BUT_ESC if iso2022 else _FORBIDDEN_BYTES)
    if body.isascii():
        return body
    if declared is None or declared in _UTF8_NAMES:
        return _valid_utf8(body)
    if _SINGLE_BYTE.fullmatch(declared) and _decodes(body, "utf-8"):
        return set_declared_utf8(body)
    return body


def as_utf8(body: bytes) -> bytes:
    """ASCII-compatible feed bytes (after `repair_encoding`) as UTF-8, declared so.

    The DOCTYPE scan reads bytes; feedparser reads the text its charset decodes. Charsets
    whose decoding drops or maps bytes inside ASCII markup (ISO-2022 and HZ escapes, UTF-7
    `+ADw-`, EBCDIC) let a `<!DOCTYPE` appear only after the scan. So we decode here and
    feedparser gets UTF-8: what the scan saw is what it parses. UTF-7 and EBCDIC are
    refused, not read: no feed uses them and only an attack would.
    """
    if body.startswith(_EBCDIC_XML):
        raise ParseError("not a feed: unsupported encoding (EBCDIC)")
    declared = _declared_encoding(body)
    if declared is None or declared in _UTF8_NAMES or declared == "ascii":
        return body
    # feedparser drops a UTF-8 BOM and still decodes in the declared charset: so do we.
    body = body.removeprefix(_BOMS[0])
    if declared in _REFUSED or declared.startswith("cp1140"):
        raise ParseError(f"not a feed: unsupported encoding {declared}")
    if declared.startswith(("utf_16", "utf_32")) or _codec(declared) is None:
        # Wide text was transcoded before this step, so the bytes are not what they say;
        # an unknown name leaves feedparser to its UTF-8 / windows-1252 fallbacks anyway.
        return set_declared_utf8(body)
    text = body.decode(declared, errors="replace").translate(_FORBIDDEN_CHARS)
    return set_declared_utf8(unicodedata.normalize("NFC", text).encode("utf-8"))


def _declared_encoding(body: bytes) -> str | None:
    """Python's name for the charset of the XML declaration (lower case), None when there is none."""
    match = _DECLARED.match(body)
    if match is None:
        return None
    name = match.group(1).decode("ascii").lower()
    return (_codec(name) or name).replace("-", "_")


def _valid_utf8(body: bytes) -> bytes:
    """`body` with invalid UTF-8 sequences replaced by U+FFFD; as it is when it is valid or mostly not UTF-8.

    Fewer valid non-ASCII letters than invalid sequences means another charset than the one
    declared (real windows-1258 Vietnamese is almost all invalid UTF-8): feedparser's fallback
    then guesses it, where U+FFFD would replace every letter.
    """
    if _decodes(body, "utf-8"):
        return body
    text, valid, bad = _utf8_letters(body)
    return text.encode("utf-8") if valid >= bad else body


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _mostly_utf8(body: bytes) -> bool:
    """More well-formed multi-byte UTF-8 letters than malformed bytes (text in a legacy code page
    almost never forms a valid sequence)."""
    _, valid, bad = _utf8_letters(body)
    return valid > bad


def _utf8_letters(body: bytes) -> tuple[str, int, int]:
    """`body` read as UTF-8 (bad sequences → U+FFFD), its valid non-ASCII letters, its bad sequences."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    return text, len(text) - len(text.encode("ascii", errors="ignore")) - bad, bad


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
