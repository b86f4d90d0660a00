"""Telegram's `parse_mode=HTML`: markup → plain text + entities, with Telegram's error texts.

Modelled on tdlib's `parse_html`: only the documented tags, tag names case-insensitive,
`&lt; &gt; &amp; &quot;` and numeric entities decoded, any other `&…` kept literally,
offsets and lengths in UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]+));")
_NAME_CHARS = re.compile(r"[a-zA-Z0-9-]*")
_ATTR_NAME = re.compile(r"[a-zA-Z0-9_-]*")


class HtmlError(ValueError):
    """Markup Telegram refuses; the message is Telegram's own wording."""


@dataclass(slots=True)
class _Open:
    name: str
    attrs: dict[str, str]
    offset: int
    child_language: str | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and limits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return (plain text, entities) or raise HtmlError."""
    return _Parser(text).run()


def decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the entity at `pos` as Telegram does, or None when it stays literal."""
    match = _ENTITY.match(text, pos)
    if not match:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED.get(name)
        return (char, match.end()) if char else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.offset = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        """Parse the whole text."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "<":
                self._tag()
                continue
            decoded = decode_entity(text, self.pos) if char == "&" else None
            if decoded:
                char, self.pos = decoded
            else:
                self.pos += 1
            self.out.append(char)
            self.offset += 2 if ord(char) > 0xFFFF else 1
        if self.stack:
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _byte_offset(self, pos: int) -> int:
        return len(self.text[:pos].encode("utf-8"))

    def _fail(self, message: str, pos: int) -> HtmlError:
        return HtmlError(f"{message} at byte offset {self._byte_offset(pos)}")

    def _tag(self) -> None:
        if self.text.startswith("</", self.pos):
            self._end_tag()
        else:
            self._start_tag()

    def _start_tag(self) -> None:
        begin = self.pos
        name_match = _NAME_CHARS.match(self.text, begin + 1)
        name = name_match.group().lower()
        if not name:
            raise self._fail("Unexpected end of name token", name_match.end())
        if name not in _ENTITY_TYPES:
            raise self._fail(f'Unsupported start tag "{name}"', begin)
        self.pos = name_match.end()
        attrs = self._attributes(name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self._fail('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_Open(name, attrs, self.offset))

    def _attributes(self, tag: str, begin: int) -> dict[str, str]:
        text, attrs = self.text, {}
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                raise self._fail("Unclosed start tag", begin)
            if text[self.pos] == ">":
                self.pos += 1
                return attrs
            name = _ATTR_NAME.match(text, self.pos).group().lower()
            if not name:
                raise self._fail('Empty attribute name in the tag "' + tag + '"', self.pos)
            self.pos += len(name)
            if text.startswith("=", self.pos):
                self.pos += 1
                attrs[name] = self._attribute_value(tag)
            elif tag == "blockquote" and name == "expandable":
                attrs[name] = ""
            else:
                raise self._fail(f'Expected equal sign in declaration of an attribute of the tag "{tag}"', self.pos)

    def _attribute_value(self, tag: str) -> str:
        text = self.text
        if self.pos >= len(text):
            raise self._fail("Unclosed start tag", self.pos)
        quote = text[self.pos]
        if quote in "\"'":
            end = text.find(quote, self.pos + 1)
            if end == -1:
                raise self._fail(f'Unclosed end of attribute value in the tag "{tag}"', self.pos)
            raw, self.pos = text[self.pos + 1 : end], end + 1
        else:
            end = self.pos
            while end < len(text) and not text[end].isspace() and text[end] != ">":
                end += 1
            raw, self.pos = text[self.pos : end], end
        return _decode_all(raw)

    def _end_tag(self) -> None:
        begin = self.pos
        close = self.text.find(">", begin)
        if close == -1:
            raise self._fail("Unclosed end tag", begin)
        name = self.text[begin + 2 : close].strip().lower()
        if not self.stack:
            raise self._fail("Unexpected end tag", begin)
        opened = self.stack[-1]
        if opened.name != name:
            raise HtmlError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{opened.name}>", found "</{name}>"'
            )
        self.stack.pop()
        self.pos = close + 1
        self._emit(opened)

    def _emit(self, opened: _Open) -> None:
        length = self.offset - opened.offset
        kind = _ENTITY_TYPES[opened.name]
        parent = self.stack[-1] if self.stack else None
        if kind == "code" and parent is not None and parent.name == "pre":
            # `<pre><code class="language-x">` is one pre entity with a language, as in Telegram.
            language = opened.attrs.get("class", "")
            if language.startswith("language-"):
                parent.child_language = language.removeprefix("language-")
                return
        if length == 0:
            return
        entity: dict[str, Any] = {"type": kind, "offset": opened.offset, "length": length}
        if kind == "text_link":
            url = opened.attrs.get("href", "")
            if not url:
                return
            entity["url"] = url
        elif kind == "pre" and opened.child_language:
            entity["language"] = opened.child_language
        elif kind == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = opened.attrs.get("emoji-id", "")
        self.entities.append(entity)


def _decode_all(raw: str) -> str:
    parts, pos = [], 0
    while pos < len(raw):
        decoded = decode_entity(raw, pos) if raw[pos] == "&" else None
        if decoded:
            parts.append(decoded[0])
            pos = decoded[1]
        else:
            parts.append(raw[pos])
            pos += 1
    return "".join(parts)
