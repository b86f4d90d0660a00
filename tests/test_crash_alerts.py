"""Crash safety: `mediabot run` killed with SIGKILL at random moments while alerts flow, then restarted.

Hundreds of alerts wait in the outbox before the first start and more are written while the
bot runs (as a second process would). The bot is killed at least 20 times — mostly while it
sends (the fake answers 20 ms after recording a message, so many kills land between a
delivered send and its mark), sometimes while it starts — and restarted each time; at the end every alert arrived
at the fake Bot API at least once, the duplicates are at most the number of kills, and the
database passes PRAGMA integrity_check.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.alerts.outbox import AlertMatch, enqueue_alerts
from bot.config import Source
from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import open_db, transaction
from bot.store.sources import upsert_source
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot, wait_until

pytestmark = pytest.mark.e2e
KILLS = 22
CHATS = 80
NOW = datetime.now(UTC).replace(microsecond=0)
_LINK = re.compile(r'href="([^"]+)"')


def add_alerts(db: Path, chats: Sequence[int], first: int, count: int) -> None:
    """`count` new stories, each matched by every chat's subscription (rows written as the recorder does)."""
    articles = [
        Article(
            "baodongthap",
            f"https://baodongthap.vn/tin-{n}.html",
            f"tin-{n}",
            f"Tin Đồng Tháp số {n}: lúa, đường và cầu {n * 7919 % 1000}",
            "Người dân đón tin vui.",
            NOW - timedelta(minutes=n),
            NOW,
        )
        for n in range(first, first + count)
    ]
    conn = open_db(db).conn
    try:

        def hook(c: sqlite3.Connection, ids: Sequence[int]) -> None:
            enqueue_alerts(c, [AlertMatch(chat, chat, None, a) for a in ids for chat in chats])

        store_articles(conn, [(articles, None)], hooks=[hook])
    finally:
        conn.close()


def prepare(tmp: Path, server: FeedServer, chats: Sequence[int]) -> tuple[Path, Path]:
    server.add("/dongthap.rss", rss("Báo Đồng Tháp", [("Giá lúa hôm nay", "Ổn định.", NOW)]))
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dongthap.rss")}],
        access={"mode": "private", "admins": [], "users": list(chats), "chats": []},  # delivery checks access
    )
    cfg = tmp / "feeds.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    db = tmp / "data" / "mediabot.db"
    conn = open_db(db).conn
    with transaction(conn):
        upsert_source(conn, Source(id="baodongthap", name="Báo Đồng Tháp", urls=("https://x.vn/rss",)), "config", NOW)
        for chat in chats:
            conn.execute(
                "INSERT INTO subscriptions (id, chat_id, query, created_at, created_by) VALUES (?, ?, 'tin', ?, ?)",
                (chat, chat, NOW.isoformat(), chat),
            )
    conn.close()
    return cfg, db


def delivered(srv: FakeTelegram) -> Counter[tuple[int, str]]:
    """(chat, article URL) of every alert the fake accepted."""
    found: Counter[tuple[int, str]] = Counter()
    for call in srv.sent:
        if call.method == "sendMessage" and call.ok and (link := _LINK.search(call.params.get("text", ""))):
            found[(int(call.chat_id), link.group(1))] += 1
    return found


def sends(srv: FakeTelegram) -> int:
    return sum(1 for c in srv.sent if c.method == "sendMessage" and c.ok)


def test_kill_9_while_alerts_flow_loses_nothing_and_duplicates_at_most_once_per_kill(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    rng = random.Random(7)
    with FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        srv.flood_limits = True
        # Each message is recorded 20 ms before the bot hears back: a kill then is a kill between
        # a delivered send and its mark, the moment that makes duplicates.
        srv.answer_delay = 0.02
        chats = [srv.user(20_000 + i, f"Người đọc {i}").id for i in range(CHATS)]
        cfg, db = prepare(tmp_path, feed_server, chats)
        add_alerts(db, chats, 0, 5)  # 400 alerts before the first start
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=srv.url)
        kills = 0
        for round_number in range(KILLS):
            before = sends(srv)
            proc = start_bot(cfg, db, env, tmp_path)
            try:
                if round_number % 4 == 3:  # sometimes while it starts
                    _sleep(rng.uniform(0.2, 2.0))
                else:  # mostly while it sends
                    wait_until(lambda before=before: sends(srv) > before, 30, "alerts flowing after a restart")
                    _sleep(rng.uniform(0.0, 0.6))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            kills += 1
            if round_number == KILLS // 2:
                add_alerts(db, chats, 5, 1)  # more alerts written between two runs
        proc = start_bot(cfg, db, env, tmp_path)
        try:
            add_alerts(db, chats, 6, 1)  # … and while the bot runs (picked up by its idle check)
            wait_until(lambda: _pending(db) == 0, 120, "the outbox drained")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        got = delivered(srv)
        refused = [c.summary() for c in srv.sent if c.error_code is not None]
    expected = _alerts(db)
    assert len(expected) == CHATS * 7
    assert set(expected) <= set(got), f"lost: {sorted(set(expected) - set(got))[:5]}"
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
    assert duplicates >= 1  # some kills did land between a delivered send and its mark
    assert not refused, f"Telegram refused: {refused[:5]}"  # paced across restarts too: no 429
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")) == {"sent": CHATS * 7}
    finally:
        conn.close()


def _sleep(seconds: float) -> None:
    """Let the bot run for a random while: the kill lands at a random point of its work."""
    threading.Event().wait(seconds)


def _pending(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    finally:
        conn.close()


def _alerts(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT o.chat_id, a.url FROM outbox o JOIN articles a ON a.id = o.article_id WHERE o.kind = 'alert'"
        ).fetchall()
    finally:
        conn.close()
