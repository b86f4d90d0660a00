"""Service faults: Telegram going away for a while, an outlet down for a day.

Telegram: `mediabot run` (a subprocess) against the fake Bot API, whose outage window first holds
every call past the client's timeout, then answers 502 to everything, then recovers. Alerts
matched meanwhile wait in the outbox and all arrive exactly once after it; a question asked during
the outage is answered after it; the log says once that Telegram is unreachable and once that it
is back, with no traceback. Time is not compressed by sleeping: the test waits for a number of
failed attempts of each kind, which the bot's own backoff spaces out.

Outlet: the real poller with an injected clock lives through a simulated day of a feed answering
503 (or refusing connections): exponential backoff up to `polling.max_interval`, the outlet's
health says it is failing and why, it is not switched off before `max_failures` (and is, exactly
at it, when that is small), and after the outlet comes back it is checked within max_interval
and its articles are stored.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import socket
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.alerts.delivery import DeliveryOptions
from bot.config import config_from_dict
from bot.ingest.poller import Poller
from bot.runtime import Runtime
from bot.store import sources as source_store
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall
from tests.test_alerts_e2e import Press
from tests.test_bot_e2e import bot_env, query, start_bot, wait_until
from tests.test_delivery import article, prepare, sender, states, store, subscribe, until

ADMIN, LAN, THU = 1001, 1002, 1005
DAY = 86400.0
INTERVAL, MAX_INTERVAL = 600.0, 6 * 3600.0
OUTAGE_ALERTS = ("Giá lúa tăng mạnh ở Đồng Tháp", "Giá lúa xuất khẩu lập kỷ lục mới")


# -- Telegram outage ------------------------------------------------------------------------------


def _telegram_config(tmp: Path, server: FeedServer) -> Path:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/baodongthap.rss")}],
        polling={"interval": "1s", "min_interval": "1s", "max_interval": "1s"},
        access={"admins": [ADMIN], "users": [LAN, THU], "chats": []},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _alerts(srv: FakeTelegram, title: str) -> list[RecordedCall]:
    """Alerts (messages with the mute button) about `title`; a search answer may name it too."""
    return [c for c in srv.sent if c.ok and c.method == "sendMessage" and title in (c.text or "") and _muteable(c)]


def _muteable(call: RecordedCall) -> bool:
    markup = call.params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return any(str(button.get("callback_data", "")).startswith("sub:mute:") for row in rows for button in row)


def _stored(db: Path, title: str) -> bool:
    return bool(query(db, "SELECT 1 FROM articles WHERE title = ?", title))


def _subscribe(srv: FakeTelegram, user: FakeUser) -> None:
    message_id = srv.send_text(user, "/subscribe giá lúa")
    assert "🔔" in (srv.wait_for_message(user, after=message_id, timeout=15).text or "")


def test_telegram_outage_then_recovery_loses_no_alert_and_logs_each_change_once(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    with FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        srv.flood_limits = True
        lan, thu = srv.user(LAN, "Lan", language_code="vi"), srv.user(THU, "Thu", language_code="vi")
        press = Press(feed_server)
        press.publish("Khai mạc hội chợ nông sản")
        db = tmp_path / "data" / "mediabot.db"
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=srv.url)
        proc = start_bot(_telegram_config(tmp_path, feed_server), db, env, tmp_path)
        try:
            srv.wait_for_polling(timeout=30)
            wait_until(lambda: _stored(db, "Khai mạc hội chợ nông sản"), 30, "the backlog stored")
            _subscribe(srv, lan)
            _subscribe(srv, thu)

            srv.start_outage("hang")  # every call held past the client's timeout
            press.publish(OUTAGE_ALERTS[0])
            during = srv.send_text(lan, "giá lúa hôm nay thế nào?")  # waits at Telegram for the bot
            wait_until(lambda: srv.outage_attempts("sendMessage") >= 2, 60, "two alert sends timed out")
            srv.start_outage("502")  # then Telegram's front answers 502 Bad Gateway
            press.publish(OUTAGE_ALERTS[1])
            wait_until(lambda: _stored(db, OUTAGE_ALERTS[1]), 30, "the second article stored meanwhile")
            wait_until(lambda: srv.outage_attempts("sendMessage") >= 4, 90, "two alert sends refused with 502")
            assert not any(_alerts(srv, title) for title in OUTAGE_ALERTS)
            srv.end_outage()

            for title in OUTAGE_ALERTS:
                for user in (lan, thu):
                    srv.wait_for_message(user, lambda c, t=title: t in (c.text or "") and _muteable(c), timeout=120)
            answer = srv.wait_for_message(lan, lambda c: "giá lúa" in (c.text or "").lower(), 60, after=during)
            assert answer.ok
            after = srv.send_text(thu, "/help")
            srv.wait_for_message(thu, after=after, timeout=15)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        assert code == 0
        for title in OUTAGE_ALERTS:  # every alert of the outage arrived, exactly once per chat
            assert sorted(c.chat_id for c in _alerts(srv, title)) == [LAN, THU]
    log = (tmp_path / "stderr").read_text(encoding="utf-8")
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    telegram_warnings = [line for line in log.splitlines() if " WARNING " in line and "Telegram" in line]
    assert len(telegram_warnings) == 2, telegram_warnings  # it went away, it came back: nothing per attempt
    assert "Telegram is unreachable" in telegram_warnings[0]
    assert "Telegram answers again" in telegram_warnings[1]


async def test_after_an_outage_the_alerts_it_held_go_out_at_the_first_answer(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Rows that failed through a long outage back off for up to `outage_probe_s` each; once a send
    succeeds they are due at once, instead of each waiting out its own backoff."""
    srv, path = fake_telegram, tmp_path / "d.sqlite"
    lan, minh, thu = srv.user(501, "Lan"), srv.user(502, "Minh"), srv.user(503, "Thu")
    conn = prepare(path)
    held = [(subscribe(conn, user.id, "bão"), user.id) for user in (lan, minh)]
    options = DeliveryOptions(backoff_s=(0.2, 0.2, 0.2), outage_probe_s=30.0)
    async with sender(srv, path, options=options) as running:
        srv.start_outage("502")
        store(conn, [article("a", "vtv", "Bão số 5 suy yếu")], held)
        conn.execute("UPDATE outbox SET attempts = 9")  # tried through minutes of outage: next backoff 256 s
        running.delivery.wake.set()
        await until(lambda: srv.outage_attempts() >= 2)  # both tried and held, for 30 s each
        srv.end_outage()
        store(conn, [article("b", "vtv", "Bão số 6 hình thành")], [(subscribe(conn, thu.id, "bão"), thu.id)])
        running.delivery.wake.set()  # as the store transaction does
        started = time.monotonic()
        await until(lambda: states(conn).get("sent") == 3, timeout=20)
    assert time.monotonic() - started < 10
    delivered = sorted(c.chat_id for c in srv.sent if c.method == "sendMessage" and c.ok)
    assert delivered == [lan.id, minh.id, thu.id]


# -- an outlet down for a day ----------------------------------------------------------------------


class SimulatedDay:
    """The real poller on a simulated clock: each step jumps to the next feed due and polls."""

    def __init__(self, rt: Runtime, start: float) -> None:
        assert rt.writer and rt.fetcher and rt.parser and rt.poller
        self.rt = rt
        self.now = start
        self.poller = Poller(rt.config, rt.writer, rt.fetcher, rt.parser, hooks=rt.poller.hooks, clock=self.clock)
        self.checks: dict[str, list[tuple[float, str]]] = {}  # source id → (when, outcome status)

    def clock(self) -> float:
        return self.now

    async def until(self, end: float, done: Callable[[], bool] = lambda: False) -> None:
        """Poll what is due, jumping from one due time to the next, until `end` (or `done()`)."""
        while self.now <= end and not done():
            report = await self.poller.poll(only_due=True)
            for outcome in report.outcomes:
                self.checks.setdefault(outcome.source_id, []).append((self.now, outcome.status))
            next_ts = await self.rt.write(lambda conn: source_store.next_due_ts(conn))
            assert next_ts is not None
            self.now = max(self.now + 1.0, next_ts)

    async def status(self, source_id: str) -> source_store.SourceStatus:
        statuses = await self.rt.write(lambda conn: source_store.source_statuses(conn, include_inactive=True))
        return next(s for s in statuses if s.id == source_id)


def _outlet_config(tmp: Path, down_url: str, up_url: str, max_failures: int) -> Any:
    data = config_dict(
        sources=[
            {"id": "baocantho", "name": "Báo Cần Thơ", "url": down_url},
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": up_url},
        ],
        polling={
            "interval": "10m",
            "min_interval": "1m",
            "max_interval": "6h",
            "timeout": "5s",
            "max_failures": max_failures,
        },
    )
    return config_from_dict(data, "feeds.yaml", tmp / "feeds.yaml")


NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [("Cần Thơ khánh thành cầu Trần Hoàng Na", "Cây cầu nối hai quận.", NOW - timedelta(hours=1))]
BACK = rss("Báo Cần Thơ", ITEMS, site="https://baocantho.example.vn")  # the outlet's feed once it is back


@pytest.mark.parametrize("failure", ["503", "refused"])
async def test_an_outlet_down_for_a_day_backs_off_shows_why_then_recovers(tmp_path: Path, failure: str) -> None:
    with FeedServer() as server, contextlib.ExitStack() as later:
        down_url = server.add("/cantho.rss", b"Service Unavailable", status=503, content_type="text/plain")
        port = _free_port()
        if failure == "refused":  # nothing listens there until the outlet comes back
            down_url = f"http://127.0.0.1:{port}/cantho.rss"
        rt = await _two_outlets(tmp_path, server, down_url, max_failures=100)
        try:
            day = SimulatedDay(rt, NOW.timestamp())
            await day.until(NOW.timestamp() + DAY)
            during = await day.status("baocantho")
            down = [at for at, _status in day.checks["baocantho"]]
            gaps = [b - a for a, b in itertools.pairwise(down)]
            back = server if failure == "503" else later.enter_context(FeedServer(port=port))
            back.add("/cantho.rss", BACK)
            back_at = day.now
            await day.until(back_at + DAY, lambda: day.checks["baocantho"][-1][1] != "failed")
            after = await day.status("baocantho")
            stored = await rt.write(_count_articles, "baocantho")
        finally:
            await rt.aclose()
    assert during.state(datetime.fromtimestamp(back_at, UTC)) == "failing"
    assert during.consecutive_failures == len(down) and 6 <= len(down) <= 10
    assert "503" in (during.last_error or "") if failure == "503" else "connect" in (during.last_error or "").lower()
    assert during.deactivated_reason is None  # 100 failures are weeks away at this pace
    assert gaps[0] == pytest.approx(2 * INTERVAL) and all(a <= b for a, b in itertools.pairwise(gaps))
    assert max(gaps) <= MAX_INTERVAL  # backoff capped at the slowest normal poll, not a day
    assert len([1 for _, s in day.checks["baodongthap"] if s != "failed"]) >= 4  # the other outlet went on
    recovered_at, status = day.checks["baocantho"][-1]
    assert status == "new" and stored == 1
    assert recovered_at - back_at <= MAX_INTERVAL  # noticed within max_interval of coming back
    assert after.state(datetime.fromtimestamp(recovered_at, UTC)) == "ok" and after.consecutive_failures == 0


async def _two_outlets(tmp: Path, server: FeedServer, down_url: str, *, max_failures: int) -> Runtime:
    """A runtime polling the failing outlet and a healthy one."""
    up_url = server.add("/dongthap.rss", rss("Báo Đồng Tháp", [("Giá lúa ổn định", "Tin nông nghiệp.", NOW)]))
    rt = Runtime(_outlet_config(tmp, down_url, up_url, max_failures), tmp / "db.sqlite", parser_workers=0)
    await rt.start()
    return rt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _count_articles(conn: sqlite3.Connection, source_id: str) -> int:
    return int(conn.execute("SELECT count(*) FROM articles WHERE source_id = ?", (source_id,)).fetchone()[0])


async def test_an_outlet_down_past_max_failures_is_switched_off_until_resumed(tmp_path: Path) -> None:
    with FeedServer() as server:
        down_url = server.add("/cantho.rss", b"Service Unavailable", status=503, content_type="text/plain")
        rt = await _two_outlets(tmp_path, server, down_url, max_failures=5)
        try:
            day = SimulatedDay(rt, NOW.timestamp())
            await day.until(NOW.timestamp() + DAY)
            off = await day.status("baocantho")
            attempts = len(day.checks["baocantho"])
            server.add("/cantho.rss", BACK)
            await day.until(day.now + DAY)
            still_off = len(day.checks["baocantho"])
            assert await rt.write(source_store.set_paused, "baocantho", False)  # what /resume does
            await day.until(day.now + DAY, lambda: day.checks["baocantho"][-1][1] != "failed")
            on = await day.status("baocantho")
        finally:
            await rt.aclose()
    assert attempts == 5 and still_off == 5  # switched off at the 5th failure, then never fetched
    assert off.state(NOW) == "deactivated" and "503" in (off.deactivated_reason or "")
    assert day.checks["baocantho"][-1][1] == "new" and on.state(datetime.fromtimestamp(day.now, UTC)) == "ok"
