"""Attacks on `mediabot import-opml`: a DOCTYPE (entity declarations) must be refused wherever it is."""

from __future__ import annotations

import pytest

from bot.cli.opml import read_opml
from bot.errors import ConfigError

# Each entity is ten of the previous: &e; is 100,000 characters, 50 outlines make 5 MB of names from 1 KB.
_ENTITIES = '<!ENTITY a "xxxxxxxxxx">' + "".join(
    f'<!ENTITY {b} "{f"&{a};" * 10}">' for a, b in zip("abcd", "bcde", strict=True)
)
_BODY = "".join(f'<outline text="&e;" xmlUrl="https://a{i}.vn/rss"/>' for i in range(50))


def _document(prefix: str) -> str:
    return f'<?xml version="1.0"?>\n{prefix}<!DOCTYPE opml [{_ENTITIES}]>\n<opml><body>{_BODY}</body></opml>'


@pytest.mark.parametrize(
    "data",
    [
        _document("").encode(),
        # The check looked at the first 4,096 bytes only: a long comment pushed the DOCTYPE past it.
        _document("<!--" + " " * 5000 + "-->\n").encode(),
        # ...and at bytes: in UTF-16 "<!DOCTYPE" is not those bytes, and expat reads UTF-16.
        _document("").replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
    ],
    ids=["plain", "after-4096-bytes", "utf-16"],
)
def test_a_doctype_is_refused_wherever_it_is(data: bytes) -> None:
    with pytest.raises(ConfigError, match="DOCTYPE"):
        read_opml(data, "hostile.opml")


def test_an_ordinary_utf16_opml_is_still_read() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><opml><body><outline text="Báo" xmlUrl="https://a.vn/rss"/></body></opml>'
    assert [feed.url for feed in read_opml(text.encode("utf-16")).feeds] == ["https://a.vn/rss"]
