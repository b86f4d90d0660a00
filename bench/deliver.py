"""Alert delivery throughput within Telegram's flood limits: `python bench/deliver.py [--quick]`.

The fake Bot API (tests/fakes/telegram) enforces Telegram's limits (30/s overall, ~1/s per
chat, 20/min per group) and answers 429 beyond them. The outbox holds 10,000 alerts for 2,000
private chats (5 stories each, `--quick`: 1,000 for 200); the real sender (bot.alerts.delivery
with PTB, the shared pacer and rate limiter) delivers them all, marking each row sent in its own
commit (one send in flight, as in production), and asking before each send whether the chat may
still receive (private mode, each chat's user approved by an admin: the access check's slow path).
Reported: messages per second overall and the median over 10 s windows, beside Telegram's 30/s
ceiling (the reference), the number of 429 answers and of access checks. The LAST line is one
JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/deliver.py`: bench/ is not installed

from telegram.ext import ExtBot  # noqa: E402

from bot.alerts.delivery import Delivery  # noqa: E402
from bot.alerts.outbox import AlertMatch, enqueue_alerts  # noqa: E402
from bot.alerts.pacing import Pacer  # noqa: E402
from bot.alerts.subscriptions import subscription_may_receive  # noqa: E402
from bot.config import Config, Organization, Source  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.store.articles import store_articles  # noqa: E402
from bot.store.db import open_db, transaction  # noqa: E402
from bot.store.sources import upsert_source  # noqa: E402
from bot.store.writer import Writer  # noqa: E402
from bot.telegram.alerts import AlertRenderer  # noqa: E402
from bot.telegram.limiter import SharedRateLimiter  # noqa: E402
from bot.telegram.sender import BotTransport  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TELEGRAM_CEILING = 30.0
TARGET = 28.0
WINDOW_S = 10.0
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TITLES = (
    "Đồng Tháp khởi công cầu Cao Lãnh 2",
    "Cần Thơ mở tuyến xe buýt điện đầu tiên",
    "Đà Nẵng đón 1 triệu lượt khách quốc tế",
    "Huế trùng tu Đại Nội sau mùa mưa lũ",
    "Đắk Lắk: giá cà phê lập đỉnh mới",
)


def fill_outbox(path: Path, chats: list[int], stories: int) -> int:
    """`stories` articles of distinct stories, each matched by one subscription in every chat."""
    conn = open_db(path).conn
    now = datetime.now(UTC)
    with transaction(conn):
        upsert_source(conn, Source(id="vtv", name="VTV", urls=("https://vtv.vn/rss",)), "config", now)
        for chat in chats:
            conn.execute(
                "INSERT INTO subscriptions (id, chat_id, query, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (chat, chat, "tin", now.isoformat(), chat),
            )
            conn.execute("INSERT INTO users (id, status) VALUES (?, 'approved')", (chat,))
    articles = [
        Article("vtv", f"https://vtv.vn/{i}.html", str(i), TITLES[i % len(TITLES)] + f" (kỳ {i})", "Tin mới.", now, now)
        for i in range(stories)
    ]

    def hook(c: Any, ids: Any) -> None:
        enqueue_alerts(c, [AlertMatch(chat, chat, None, a) for chat in chats for a in ids])

    store_articles(conn, [(articles, None)], hooks=[hook])
    count = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    conn.close()
    return count


async def deliver(srv: FakeTelegram, path: Path, expected: int, checks: list[int]) -> tuple[float, list[float]]:
    """Run the sender until every row is sent; elapsed seconds and the send times."""
    pacer = Pacer()
    bot: ExtBot[Any] = ExtBot(srv.token, base_url=srv.base_url, rate_limiter=SharedRateLimiter(pacer))
    await bot.initialize()
    writer = Writer(open_db(path).conn)
    config = Config(organization=Organization(name="Sở TT&TT"))  # private mode: approvals are looked up

    def may_receive(conn: Any, subscription_id: int) -> bool:
        checks.append(subscription_id)
        return subscription_may_receive(conn, config, subscription_id)

    renderer = AlertRenderer(TZ, "vi")
    delivery = Delivery(writer.run, BotTransport(bot), renderer, pacer, may_receive=may_receive)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(delivery.run(stop))
    while delivery.sent < expected and not task.done():
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    stop.set()
    await task
    await bot.shutdown()
    writer.close()
    writer.conn.close()
    times = [c.at for c in srv.sent if c.method == "sendMessage" and c.ok]
    return elapsed, times


def window_rates(times: list[float]) -> list[float]:
    """Messages per second in each full 10 s window from the first send."""
    if not times:
        return []
    start, end = times[0], times[-1]
    windows = int((end - start) // WINDOW_S)
    return [
        sum(1 for t in times if start + i * WINDOW_S <= t < start + (i + 1) * WINDOW_S) / WINDOW_S
        for i in range(windows)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 alerts to 200 chats")
    args = parser.parse_args()
    n_chats, stories = (200, 5) if args.quick else (2000, 5)
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as srv:
        srv.flood_limits = True
        chats = [srv.user(10_000 + i, f"Người đọc {i}").id for i in range(n_chats)]
        expected = fill_outbox(Path(tmp) / "bench.sqlite", chats, stories)
        checks: list[int] = []  # subscriptions the access check was asked about, one per send
        elapsed, times = asyncio.run(deliver(srv, Path(tmp) / "bench.sqlite", expected, checks))
        refused = sum(1 for c in srv.sent if c.error_code == 429)
    rate = len(times) / elapsed
    windows = window_rates(times)
    median = statistics.median(windows) if windows else rate
    print(f"{'alerts':>8} {'chats':>6} {'seconds':>8} {'msg/s':>6} {'median 10 s':>12} {'of 30/s':>8} {'429s':>5}")
    print(
        f"{len(times):>8} {n_chats:>6} {elapsed:>8.1f} {rate:>6.2f} {median:>12.2f} "
        f"{rate / TELEGRAM_CEILING:>8.1%} {refused:>5}"
    )
    verdict = "PASS" if rate >= TARGET and refused == 0 and len(times) == expected else "FAIL"
    print(f"{verdict}: target >= {TARGET}/s with zero 429 answers")
    result = {
        "alerts": expected,
        "delivered": len(times),
        "chats": n_chats,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(rate, 2),
        "median_window_per_s": round(median, 2),
        "share_of_ceiling": round(rate / TELEGRAM_CEILING, 3),
        "answers_429": refused,
        "access_checks": len(checks),
        "target_per_s": TARGET,
        "pass": verdict == "PASS",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
