"""Attacks on daily digests: a hostile feed's long URLs must not stop digests (this one or anyone's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.alerts.digest import send_due_digests
from bot.alerts.outbox import MAX_PART_CHARS, MAX_PARTS
from bot.models import Article
from bot.runtime import Runtime
from tests.fakes.telegram import parse_html
from tests.test_subscriptions import LAN, _now, _render, follow, place, publish, rt, write_config  # noqa: F401

ADMIN_CHAT = 1001


def long_url_article(number: int) -> Article:
    # ~1,000 characters: under split_html's 1,024-character tag cap, so every link is kept.
    url = f"https://baodongthap.example.vn/{number}/" + "a" * 950 + ".html"
    when = datetime.now(UTC) - timedelta(minutes=5)
    return Article("baodongthap", url, url, f"Lúa tin số {number} " + "dài " * 70, "Lúa", when, when)


async def test_a_digest_of_long_links_is_sent_within_the_part_limit(rt: Runtime) -> None:  # noqa: F811
    hostile = await follow(rt, "daily 07:30 lúa")
    other = await follow(rt, "daily 07:30 lúa", place(ADMIN_CHAT, user=ADMIN_CHAT))
    await publish(rt, *(long_url_article(i) for i in range(100)))
    # Before the fix: ~35 parts, ValueError from enqueue_message, and the digest task died for everyone.
    sent = await rt.write(send_due_digests, rt.config, _now(7, 30), _render)
    assert sent == 2
    rows = rt.reader().execute("SELECT chat_id, parts FROM outbox WHERE kind = 'digest' ORDER BY chat_id").fetchall()
    assert sorted(chat for chat, _ in rows) == sorted([LAN, ADMIN_CHAT])
    for _chat, raw in rows:
        parts = json.loads(raw)
        assert 1 <= len(parts) <= MAX_PARTS
        for part in parts:
            assert len(part) <= MAX_PART_CHARS
            parse_html(part)
        text = "".join(parts)
        assert "100 bài" in parts[0]  # the header still counts every article
        shown = text.count("• ")
        assert shown >= 1 and (shown == 100 or f"{100 - shown} bài khác" in text)
    assert hostile.id != other.id
