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

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_DECLARED = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_ENCODING_VALUE = re.compile(rb"""^(<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[^"']*\2""")


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
    return _ENCODING_VALUE.sub(rb"\1\2utf-8\2", text.encode("utf-8"), count=1)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _mostly_utf8(body: bytes) -> bool:
    """More well-formed multi-byte UTF-8 letters than malformed bytes (text in a legacy code page
    almost never forms a valid sequence)."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    return len(text) - len(text.encode("ascii", "ignore")) - bad > bad


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        return False
    return True
