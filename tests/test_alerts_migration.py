"""A group upgraded to a supergroup keeps its alerts: its subscriptions, queued alerts and 403 mark
move to the new chat id, whether the bot learns it from a send (400 with `migrate_to_chat_id`)
or from Telegram's service messages; one function (SubscriptionService.chat_migrated) for both.

The fake Bot API migrates a basic group (`migrate_to_supergroup`): the old id answers 400 with
the new id, the new supergroup works. Tested with the real sender on a real Runtime, and with
the whole bot (BotThread) subscribed by command in the group.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.outbox import AlertMatch, enqueue_alerts, move_chat_rows
from bot.alerts.outbox_rows import block_chat
from bot.models import Article
from bot.runtime import Runtime
from bot.store.articles import store_articles
from bot.store.db import transaction
from bot.telegram.context import SERVICES_KEY
from tests.conftest import BOT_TOKEN, BOT_USERNAME
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall
from tests.test_alerts_access import configure, delivering, drained
from tests.test_delivery import article as stored
from tests.test_delivery import prepare
from tests.test_handlers import ADMIN, BotThread, make_config
from tests.test_subscriptions import LAN, article, follow, place, publish

OLD, OTHER_OLD = -4001, -4002  # basic groups: Telegram gives them short negative ids
NEW, OTHER_NEW = -1004001, -1004002  # their supergroups: -100 and the old digits (the fake's default)
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


def chat_ids(rt: Runtime, sql: str) -> list[int]:
    return [r[0] for r in rt.reader().execute(sql)]


async def test_a_send_to_the_old_group_moves_everything_and_goes_to_the_supergroup(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    srv = fake_telegram
    boss = srv.user(ADMIN, "Trưởng nhóm", language_code="vi")
    srv.group(OLD, "Tổ báo chí Đồng Tháp", type="group")
    rt = Runtime(configure(tmp_path, [LAN]), tmp_path / "db.sqlite", parser_workers=0)
    await rt.start()
    try:
        sub = await follow(rt, "bão", place(OLD, user=ADMIN, kind="group"))
        await publish(rt, article("Bão số 9 đổ bộ Đồng Tháp"), article("Bão số 10 suy yếu"))
        assert chat_ids(rt, "SELECT chat_id FROM outbox WHERE status = 'pending'") == [OLD, OLD]
        assert srv.migrate_to_supergroup(OLD, boss, announce=False).id == NEW  # the bot missed the news
        async with delivering(srv, rt):
            await drained(rt)
            assert chat_ids(rt, "SELECT chat_id FROM subscriptions") == [NEW]
            assert chat_ids(rt, "SELECT chat_id FROM outbox WHERE status = 'sent'") == [NEW, NEW]
            # The registry was recompiled: the next match is queued for the supergroup directly.
            await publish(rt, article("Bão số 11 hình thành trên Biển Đông"))
            await drained(rt)
        assert chat_ids(rt, "SELECT chat_id FROM outbox ORDER BY id") == [NEW, NEW, NEW]
        assert chat_ids(rt, "SELECT id FROM subscriptions WHERE chat_type = 'supergroup'") == [sub.id]
    finally:
        await rt.aclose()
    calls = [c for c in srv.sent if c.method == "sendMessage"]
    assert [(c.chat_id, c.ok) for c in calls] == [(OLD, False), (NEW, True), (NEW, True), (NEW, True)]
    assert calls[0].description == UPGRADED
    titles = ("Bão số 9 đổ bộ Đồng Tháp", "Bão số 10 suy yếu", "Bão số 11 hình thành trên Biển Đông")
    assert [next(t for t in titles if t in c.text) for c in calls[1:]] == list(titles)  # oldest first
    assert [m["chat"]["type"] for m in srv.bot_messages(NEW)] == ["supergroup"] * 3


def test_moving_a_chat_moves_its_pending_rows_and_403_mark_once(tmp_path: Path) -> None:
    """The move itself: pending rows and the blocked mark go, sent rows stay, a row the new chat
    has already is skipped (never sent twice), and a second move changes nothing."""
    conn = prepare(tmp_path / "db.sqlite")
    titles = ("Tin 1 về Đồng Tháp", "Tin 2 về Cần Thơ", "Tin 3 về Huế")
    ids = store_articles(conn, [([stored(str(i), "vtv", t) for i, t in enumerate(titles)], None)]).new_ids
    with transaction(conn):
        enqueue_alerts(conn, [AlertMatch(1, OLD, None, a) for a in ids] + [AlertMatch(2, NEW, None, ids[2])])
        conn.execute("UPDATE outbox SET status = 'sent' WHERE article_id = ? AND chat_id = ?", (ids[0], OLD))
    block_chat(conn, OTHER_OLD, "Forbidden: bot was kicked from the group chat", time.time())
    for _ in range(2):
        with transaction(conn):
            move_chat_rows(conn, OLD, NEW)
            move_chat_rows(conn, OTHER_OLD, OTHER_NEW)
    rows = conn.execute("SELECT article_id, chat_id, status FROM outbox ORDER BY article_id, chat_id").fetchall()
    assert rows == [(ids[0], OLD, "sent"), (ids[1], NEW, "pending"), (ids[2], NEW, "pending"), (ids[2], OLD, "skipped")]
    assert conn.execute("SELECT chat_id FROM outbox_blocked_chats").fetchall() == [(OTHER_NEW,)]


# ---- the whole bot


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("migration")
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        srv.user(ADMIN, "Quản trị", language_code="vi")
        with BotThread(srv, make_config(tmp, server), tmp / "mediabot.db") as thread:
            yield {"srv": srv, "thread": thread, "db": tmp / "mediabot.db"}


def in_group(srv: FakeTelegram, user: FakeUser, chat: int, text: str) -> RecordedCall:
    message_id = srv.send_text(user, text, chat=chat)
    return srv.wait_for_message(chat, after=message_id)


def store(bot: dict[str, Any], title: str) -> None:
    """Store an article as the poller does (the subscription recorder, then the sender woken)."""
    thread: BotThread = bot["thread"]
    runtime = thread.app.bot_data[SERVICES_KEY].runtime
    now = datetime.now(UTC) - timedelta(minutes=2)
    url = f"https://baodongthap.example.vn/{abs(hash(title))}.html"
    batch = [([Article("baodongthap", url, url, title, f"{title}. Tin chi tiết.", now, now)], None)]
    assert thread.loop and runtime.poller
    asyncio.run_coroutine_threadsafe(runtime.write(store_articles, batch, runtime.poller.hooks), thread.loop).result(10)


def subscribed_chats(bot: dict[str, Any], query: str) -> list[int]:
    conn = sqlite3.connect(f"file:{bot['db']}?mode=ro", uri=True)
    try:
        return [
            r[0] for r in conn.execute("SELECT chat_id FROM subscriptions WHERE query = ? AND active = 1", (query,))
        ]
    finally:
        conn.close()


@pytest.mark.parametrize(("old", "new", "announce"), [(OLD, NEW, False), (OTHER_OLD, OTHER_NEW, True)])
def test_a_group_upgraded_to_a_supergroup_keeps_its_alerts_and_its_list(
    bot: dict[str, Any], old: int, new: int, announce: bool
) -> None:
    """Subscribed by command in the group; upgraded (the bot told by the service messages, or
    not); a matching article is alerted in the supergroup and /subscriptions lists it there."""
    srv: FakeTelegram = bot["srv"]
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    srv.group(old, "Nhóm phóng viên", type="group")
    query = f"sen Tháp Mười {'báo' if announce else 'tin'}"
    assert in_group(srv, admin, old, f"/subscribe {query}").text.startswith(f"🔔 Đã theo dõi {query}")
    srv.migrate_to_supergroup(old, admin, new, announce=announce)
    if announce:  # the service messages alone move the subscription, before anything is sent
        deadline = time.monotonic() + 10
        while subscribed_chats(bot, query) != [new]:
            assert time.monotonic() < deadline, subscribed_chats(bot, query)
            time.sleep(0.02)
    mark = srv.mark()
    title = f"Mùa sen Tháp Mười {'báo' if announce else 'tin'} hút khách"
    store(bot, title)
    alert = srv.wait_for_message(new, lambda c: c.method == "sendMessage" and title in c.text, after_call=mark)
    assert alert.ok and subscribed_chats(bot, query) == [new]
    to_old = [c for c in srv.sent[mark:] if c.chat_id == old]
    assert [(c.ok, c.description) for c in to_old] == ([] if announce else [(False, UPGRADED)])
    listing = in_group(srv, admin, new, "/subscriptions")
    assert query in listing.text and "Chưa theo dõi" not in listing.text
