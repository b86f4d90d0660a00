"""Delivery against the fake Bot API: alerts rendered and sent oldest first, edits for later outlets,
429/5xx/403/400 handled as Telegram means them, a burst for one chat never delaying the others,
and the whole bot (`running`) sending alerts as soon as the store transaction commits."""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import ExtBot

from bot.alerts.delivery import Delivery, DeliveryOptions
from bot.alerts.outbox import AlertMatch, enqueue_alerts, enqueue_message
from bot.alerts.pacing import Limits, Pacer
from bot.config import Source
from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import open_db, transaction
from bot.store.sources import upsert_source
from bot.store.writer import Writer
from bot.telegram.alerts import AlertRenderer
from bot.telegram.context import SERVICES_KEY
from bot.telegram.limiter import SharedRateLimiter
from bot.telegram.sender import BotTransport
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.test_bot_e2e import wait_until
from tests.test_handlers import ADMIN, LAN, BotThread, make_config

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.now(UTC).replace(microsecond=0)
OUTLETS = {"vtv": "VTV", "baodongthap": "Báo Đồng Tháp", "vnexpress": "VnExpress"}


def article(key: str, source: str, title: str, summary: str = "Người dân Đồng Tháp đón tin vui.") -> Article:
    return Article(
        source_id=source,
        url=f"https://{source}.vn/{key}.html",
        guid=key,
        title=title,
        summary=summary,
        published_at=NOW - timedelta(minutes=5),
        fetched_at=NOW,
    )


def prepare(path: Path) -> sqlite3.Connection:
    conn = open_db(path).conn
    with transaction(conn):
        for source_id, name in OUTLETS.items():
            upsert_source(conn, Source(id=source_id, name=name, urls=(f"https://{source_id}.vn/rss",)), "config", NOW)
    return conn


def subscribe(conn: sqlite3.Connection, chat_id: int, query: str, thread_id: int | None = None) -> int:
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO subscriptions (chat_id, thread_id, query, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
            (chat_id, thread_id, query, NOW.isoformat(), chat_id),  # made by the chat's user
        )
    return int(cursor.lastrowid or 0)


def store(conn: sqlite3.Connection, articles: Sequence[Article], subs: Sequence[tuple[int, int]]) -> list[int]:
    """Store articles; every (subscription, chat) matches them all, as the subscription recorder would."""

    def hook(c: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        enqueue_alerts(c, [AlertMatch(sub, chat, None, a) for a in new_ids for sub, chat in subs])

    return list(store_articles(conn, [(articles, None)], hooks=[hook]).new_ids)


def states(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


@dataclass
class Sender:
    delivery: Delivery
    stop: asyncio.Event
    task: asyncio.Task[None]


@asynccontextmanager
async def sender(
    srv: FakeTelegram, path: Path, *, admins: tuple[int, ...] = (), options: DeliveryOptions | None = None
) -> AsyncIterator[Sender]:
    """Delivery with the real PTB bot against the fake, on its own writer connection."""
    pacer = Pacer()
    bot: ExtBot[Any] = ExtBot(srv.token, base_url=srv.base_url, rate_limiter=SharedRateLimiter(pacer))
    await bot.initialize()
    writer = Writer(open_db(path).conn)
    delivery = Delivery(
        writer.run,
        BotTransport(bot),
        AlertRenderer(TZ, "vi"),
        pacer,
        admins=lambda: admins,
        options=options or DeliveryOptions(backoff_s=(0.2, 0.2, 0.2)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    try:
        yield Sender(delivery, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bot.shutdown()
        writer.close()
        writer.conn.close()


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def texts(srv: FakeTelegram, method: str = "sendMessage") -> list[tuple[int, str]]:
    return [(c.chat_id, c.params.get("text", "")) for c in srv.sent if c.method == method and c.ok]


async def test_alerts_are_rendered_and_sent_with_their_buttons(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan, minh = srv.user(501, "Lan"), srv.user(502, "Minh")
    conn = prepare(path)
    sub = subscribe(conn, lan.id, "cầu Cao Lãnh")
    other = subscribe(conn, minh.id, "lũ")
    store(conn, [article("a", "vtv", "Khởi công cầu Cao Lãnh 2 <mới>")], [(sub, lan.id), (other, minh.id)])
    async with sender(srv, path) as s:
        await until(lambda: states(conn).get("sent") == 2)
        await asyncio.sleep(0.2)
        assert s.delivery.sent == 2
    calls = [c for c in srv.sent if c.method == "sendMessage"]
    assert sorted(c.chat_id for c in calls) == [lan.id, minh.id]
    text = next(c.params["text"] for c in calls if c.chat_id == lan.id)
    assert '<a href="https://vtv.vn/a.html">Khởi công cầu Cao Lãnh 2 &lt;mới&gt;</a>' in text
    assert "<i>VTV</i> · " + (NOW - timedelta(minutes=5)).astimezone(TZ).strftime("%d/%m %H:%M") in text
    assert "🔔 Theo dõi: cầu Cao Lãnh" in text
    markup = next(c.params["reply_markup"] for c in calls if c.chat_id == lan.id)
    assert [b["callback_data"] for b in _buttons(markup)] == [f"sub:mute:{sub}", f"sub:more:{sub}"]


def _buttons(markup: Any) -> list[dict[str, Any]]:
    import json

    data = json.loads(markup) if isinstance(markup, str) else markup
    return [button for row in data["inline_keyboard"] for button in row]


async def test_a_later_outlet_edits_the_sent_alert_in_place(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    srv.flood_limits = FloodLimits(per_chat_burst=1)  # an edit counts like a send, one a second
    lan = srv.user(501, "Lan")
    conn = prepare(path)
    sub = subscribe(conn, lan.id, "lũ")
    title = "Đồng Tháp: lũ đầu nguồn về sớm"
    store(conn, [article("a", "vtv", title)], [(sub, lan.id)])
    async with sender(srv, path):
        await until(lambda: states(conn).get("sent") == 1)
        store(conn, [article("b", "baodongthap", title)], [(sub, lan.id)])
        await until(lambda: states(conn).get("sent") == 2)
        store(conn, [article("c", "vnexpress", title)], [(sub, lan.id)])
        await until(lambda: states(conn).get("sent") == 3)
    assert len(texts(srv)) == 1  # one message for the story …
    edits = texts(srv, "editMessageText")
    assert [html.unescape(text).split("\n")[-1] for _, text in edits] == [  # … updated in place
        "Cũng đăng trên: Báo Đồng Tháp",
        "Cũng đăng trên: Báo Đồng Tháp, VnExpress",
    ]
    message = srv.bot_messages(lan)[0]
    assert message["text"].endswith("Cũng đăng trên: Báo Đồng Tháp, VnExpress")
    assert all(c.ok for c in srv.sent)  # paced: no 429


async def test_a_pending_alert_is_sent_with_every_outlet_and_no_edit(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan = srv.user(501, "Lan")
    conn = prepare(path)
    sub = subscribe(conn, lan.id, "lũ")
    title = "Cần Thơ mở tuyến xe buýt mới"
    store(conn, [article("a", "vtv", title)], [(sub, lan.id)])
    store(conn, [article("b", "vnexpress", title)], [(sub, lan.id)])
    async with sender(srv, path):
        await until(lambda: states(conn).get("sent") == 1)
    assert [t.split("\n")[-1] for _, t in texts(srv)] == ["Cũng đăng trên: VnExpress"]
    assert texts(srv, "editMessageText") == []


async def test_429_waits_retry_after_and_5xx_is_retried(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan, minh = srv.user(501, "Lan"), srv.user(502, "Minh")
    conn = prepare(path)
    sub_l, sub_m = subscribe(conn, lan.id, "bão"), subscribe(conn, minh.id, "bão")
    srv.fail_next("sendMessage", 429, retry_after=2)
    srv.fail_next("sendMessage", 502, times=1)
    store(conn, [article("a", "vtv", "Bão số 5 suy yếu")], [(sub_l, lan.id), (sub_m, minh.id)])
    started = time.monotonic()
    async with sender(srv, path):
        await until(lambda: states(conn).get("sent") == 2)
    ok = [c for c in srv.sent if c.method == "sendMessage" and c.ok]
    assert sorted(c.chat_id for c in ok) == [lan.id, minh.id]  # each exactly once
    refused = [c for c in srv.sent if c.method == "sendMessage" and not c.ok]
    assert [c.error_code for c in refused] == [429, 502]
    first_chat = refused[0].chat_id
    retried = next(c for c in ok if c.chat_id == first_chat)
    assert retried.at - refused[0].at >= 2.0  # that chat waited retry_after
    assert time.monotonic() - started < 8


async def test_403_pauses_the_chat_and_tells_the_admins(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan, admin = srv.user(501, "Lan"), srv.user(900, "Quản trị")
    conn = prepare(path)
    sub = subscribe(conn, lan.id, "bão")
    srv.block(lan)
    store(conn, [article("a", "vtv", "Bão số 5 suy yếu"), article("b", "vtv", "Bão số 6 hình thành")], [(sub, lan.id)])
    async with sender(srv, path, admins=(admin.id,)):
        notice = await srv.await_message(admin)
        await until(lambda: states(conn).get("pending", 0) == 0)
    assert f"Chat <code>{lan.id}</code> đã chặn hoặc xoá bot" in notice.params["text"]
    assert states(conn) == {"failed": 2, "sent": 1}
    assert conn.execute("SELECT chat_id FROM outbox_blocked_chats").fetchall() == [(lan.id,)]
    # Nothing more is queued for the chat.
    store(conn, [article("c", "vtv", "Bão số 7")], [(sub, lan.id)])
    assert conn.execute("SELECT count(*) FROM outbox WHERE chat_id = ?", (lan.id,)).fetchone()[0] == 2


async def test_400_is_dropped_after_three_attempts_without_holding_the_queue(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan = srv.user(501, "Lan")
    conn = prepare(path)
    sub = subscribe(conn, lan.id, "bão")
    refusal = "Bad Request: message thread not found"
    srv.fail_next("sendMessage", 400, refusal)
    store(conn, [article("a", "vtv", "Bão số 5 suy yếu")], [(sub, lan.id)])
    store(conn, [article("b", "vtv", "Mưa lớn ở Đà Nẵng")], [(sub, lan.id)])
    async with sender(srv, path, options=DeliveryOptions(backoff_s=(3.0,))):
        await until(lambda: states(conn).get("sent") == 1)  # b, while a waits for its second try
        srv.fail_next("sendMessage", 400, refusal, times=2)
        await until(lambda: states(conn).get("pending", 0) == 0, timeout=15)
    assert states(conn) == {"failed": 1, "sent": 1}
    failed = conn.execute("SELECT attempts, last_error FROM outbox WHERE status = 'failed'").fetchone()
    assert failed[0] == 3 and "thread not found" in failed[1]
    sent = [c for c in srv.sent if c.method == "sendMessage"]
    assert [c.ok for c in sent] == [False, True, False, False]  # the second alert did not wait for three tries
    assert "Mưa lớn ở Đà Nẵng" in sent[1].params["text"]


async def test_a_burst_for_one_chat_never_delays_the_others(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    srv.flood_limits = True
    busy = srv.user(501, "Lan")
    quiet = [srv.user(600 + i, f"Người {i}") for i in range(10)]
    conn = prepare(path)
    sub = subscribe(conn, busy.id, "tin")
    store(conn, [article(f"b{i}", "vtv", f"Tin nhanh số {i} về Đà Lạt") for i in range(8)], [(sub, busy.id)])
    subs = [(subscribe(conn, u.id, "tin"), u.id) for u in quiet]
    store(conn, [article("q", "vnexpress", "Tin mới về Huế")], subs)
    async with sender(srv, path):
        await until(lambda: states(conn).get("sent") == 18, timeout=20)
    calls = [c for c in srv.sent if c.method == "sendMessage"]
    assert all(c.ok for c in calls)  # paced: Telegram never had to say 429
    # The busy chat's eight alerts are older, yet the ten quiet chats went out right after its first.
    assert [c.chat_id == busy.id for c in calls[:11]] == [True] + [False] * 10
    busy_times = [c.at for c in calls if c.chat_id == busy.id]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(busy_times))


async def test_a_digest_goes_out_part_by_part_once(fake_telegram: FakeTelegram, tmp_path: Path) -> None:
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan = srv.user(501, "Lan")
    conn = prepare(path)
    parts = ["<b>Tin trong ngày</b> phần 1", "Phần 2: <i>Đắk Lắk</i>"]
    with transaction(conn):
        enqueue_message(conn, lan.id, None, "digest", parts, "digest:1:2026-11-15")
        enqueue_message(conn, lan.id, None, "digest", parts, "digest:1:2026-11-15")
    async with sender(srv, path):
        await until(lambda: states(conn).get("sent") == 1)
    assert [t for _, t in texts(srv)] == parts


def test_marked_snippet_shows_the_match(tmp_path: Path) -> None:
    from bot.alerts.outbox_rows import alert_view
    from bot.search.plan import plan_query
    from bot.search.query import parse_query

    conn = prepare(tmp_path / "d.sqlite")
    sub = subscribe(conn, 501, "Đồng Tháp")
    body = "Sáng nay, tỉnh Đồng Tháp khởi công dự án đường ven sông Tiền dài 12 km."
    store(conn, [article("a", "vtv", "Khởi công đường ven sông", body)], [(sub, 501)])
    match = plan_query(parse_query("dong thap", now=NOW, tz=TZ)).match
    view = alert_view(conn, 1, match)
    assert view is not None
    rendered = AlertRenderer(TZ, "vi").alert(view)
    assert re.search(r"tỉnh <b>Đồng Tháp</b> khởi công", rendered.text)


def test_the_running_bot_alerts_right_after_the_store_commit_and_stats_show_it(
    fake_telegram: FakeTelegram, feed_server: FeedServer, tmp_path: Path
) -> None:
    srv = fake_telegram
    admin, lan = srv.user(ADMIN, "Quản trị"), srv.user(LAN, "Lan")
    config = make_config(tmp_path, feed_server)
    db = tmp_path / "bot.sqlite"
    conn = prepare(db)
    sub = subscribe(conn, lan.id, "Cao Lãnh")
    with BotThread(srv, config, db) as bot:
        runtime = bot.app.bot_data[SERVICES_KEY].runtime
        assert runtime.poller

        def enqueue(c: sqlite3.Connection, ids: Sequence[int]) -> None:
            enqueue_alerts(c, [AlertMatch(sub, lan.id, None, a) for a in ids])

        hooks = (enqueue, *runtime.poller.hooks)  # the subscription recorder's part, then the runtime's own
        batch = [([article("cl", "vtv", "Cầu Cao Lãnh thông xe")], None)]
        mark = srv.mark()
        future = asyncio.run_coroutine_threadsafe(runtime.write(store_articles, batch, hooks), bot.loop)
        future.result(10)
        committed = time.monotonic()
        alert = srv.wait_for_message(lan, after_call=mark, timeout=5)
        # The sender was woken by the commit, not by its 2 s idle check.
        assert alert.at - committed < 0.5, alert.at - committed
        assert "Cầu Cao Lãnh thông xe" in alert.params["text"]
        # The row is marked sent once Telegram's answer is back, a moment after the fake saw the send.
        sent = "SELECT count(*) FROM outbox WHERE status = 'sent'"
        wait_until(lambda: conn.execute(sent).fetchone()[0] == 1, 5, "the alert marked sent")
        message_id = srv.send_text(admin, "/stats")
        stats = srv.wait_for_message(admin, after=message_id).params["text"]
    assert "Hàng đợi tin báo: 0 chờ gửi (lâu nhất 0 giây), 1 đã gửi, 0 lỗi" in stats
    assert "Theo dõi: 1 (0 tạm dừng)" in stats


def test_the_pacer_keeps_telegrams_limits_counting_each_message_at_its_answer() -> None:
    clock = [1000.0]
    pacer = Pacer(clock=lambda: clock[0])
    now = clock[0]
    for i in range(30):  # 30 chats, departures as fast as the schedule allows
        now = max(now, pacer.ready_at(i + 1, now))
        pacer.record(i + 1, now).answer(now + 0.3)  # slow answers: each arrived at most 0.3 s after leaving
    # Evenly spaced (a late start may catch up 2 slots): never a burst of 30 at once.
    assert abs((now - 1000.0) - 27 * Limits().overall_window / 30) < 1e-9
    # The 31st may leave only a second after the first message's answer, its latest possible arrival.
    assert pacer.overall_at(now) == 1000.0 + 0.3 + Limits().overall_window
    assert pacer.chat_at(1, now) >= now  # and chat 1 waits its own second as well
    later = now + 5
    assert pacer.chat_at(-100500, later) == later
    for k in range(20):  # a group: 20 a minute
        pacer.record(-100500, later + 2 * k).answer(later + 2 * k)
    assert pacer.chat_at(-100500, later + 40) == later + Limits().group_window
    fresh = Pacer(clock=lambda: clock[0])
    fresh.too_many(7, 3.0, later)  # 429 for chat 7: it waits 3 s, everyone pauses 1 s, then goes slower
    assert fresh.chat_at(7, later) == later + 3.0
    assert fresh.overall_at(later) == later + 1.0
    for i in range(21):
        fresh.record(100 + i, later + 1.0).answer(later + 1.0)
    assert fresh.overall_at(later + 1.0) == later + 1.0 + Limits().overall_window  # 21 a second, not 30
