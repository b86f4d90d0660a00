"""Chat latency under load: `python bench/chat.py [--quick] [--articles N] [--db PATH] [--burst]`.

The real bot Application answers 50 simulated users through FakeTelegram (with Telegram's
flood limits on) over the archive built by bench/search.py (1,000,000 articles by default,
50,000 with --quick; reused from bench/out/ when present). Each round, every user asks one
realistic Vietnamese question at a random moment within `--spread` seconds (default 4 s,
~12 questions/s, under Telegram's 30 messages/s); `--burst` makes all 50 ask at the same
instant, which Telegram's 30/s limit alone makes slower. Latency is measured by FakeTelegram
from the update being enqueued to the bot's reply being recorded. Prints a table; the LAST
line is one JSON object. Target: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/chat.py`: bench/ and tests/ are not installed

from bench.search import END, GENERATOR_VERSION, OUT, SOURCES, TZ, ensure_db  # noqa: E402
from bot.config import Config, config_from_dict  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.app import build_application, running  # noqa: E402
from tests.fakes.telegram import FakeTelegram, FakeUser, UpdateTiming  # noqa: E402

USERS = 50
TARGET_P95_MS = 300
QUESTIONS = [
    "có bài nào về chuyển đổi số tuần này không?",
    "tin về giáo dục tháng này",
    "bão lũ 7 ngày qua",
    "tình hình phòng chống dịch hôm nay",
    "Báo số 12 đăng gì về y tế",
    "chính quyền số tháng trước",
    "xuất khẩu nông sản năm nay",
    "du lịch Đà Nẵng tuần qua",
    "sạt lở ở Lào Cai",
    "dịch vụ công trực tuyến",
    "chuyen doi so tuan nay",
    "giao thông Hà Nội hôm qua",
    "có tin gì mới về Đền Hùng không?",
    "an ninh trật tự 30 ngày qua",
    "thủy lợi và hạn hán tháng này",
    "đầu tư bất động sản",
    "học sinh thi tốt nghiệp",
    "Quốc hội bàn về nghị quyết",
]


def bench_config(tmp: Path) -> Config:
    """Public mode, and exactly the outlets bench/search.py stored (so starting the bot changes no row)."""
    sources = [
        {"id": f"s{i:03d}", "name": f"Báo số {i}", "url": f"https://s{i:03d}.example.vn/rss"} for i in range(SOURCES)
    ]
    data = {
        "organization": {"name": "Sở Thông tin và Truyền thông", "language": "vi"},
        "sources": sources,
        "access": {"mode": "public"},
    }
    return config_from_dict(data, "bench-feeds.yaml", tmp / "bench-feeds.yaml")


async def ask_round(
    srv: FakeTelegram,
    users: list[FakeUser],
    rng: random.Random,
    spread: float,
) -> list[tuple[int, int]]:
    """Every user asks once at a random moment within `spread` seconds; returns (chat, message) ids."""

    async def one(user: FakeUser) -> tuple[int, int]:
        await asyncio.sleep(rng.uniform(0, spread))
        return user.id, srv.send_text(user, rng.choice(QUESTIONS))

    return list(await asyncio.gather(*(one(u) for u in users)))


def wait_answered(srv: FakeTelegram, asked: set[tuple[int, int]], timeout: float) -> None:
    """Block until every asked message has a reply (FakeTelegram records the time)."""
    deadline = time.monotonic() + timeout
    with srv.world.changed:
        while True:
            replied = {(t.chat_id, t.message_id) for t in srv.world.updates.timings() if t.replied_at}
            if asked <= replied:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(asked - replied)} questions unanswered after {timeout}s")
            srv.world.changed.wait(deadline - time.monotonic())


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, max in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def run(db: Path, rounds: int, spread: float) -> tuple[list[list[UpdateTiming]], int]:
    """Start the bot on `db`, play the rounds, return the timings of each round and the 429s seen."""
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as srv:
        srv.flood_limits = True
        settings = Settings(token=srv.token, api_url=srv.url, db_path=str(db))
        app = build_application(
            settings, bench_config(Path(tmp)), poll_feeds=False, clock=lambda: END.astimezone(TZ)
        )  # the archive ends at END
        async with running(app):
            await srv.await_polling()
            users = [srv.user(20_000 + i, f"Cán bộ {i}", language_code="vi") for i in range(USERS)]
            rng = random.Random(7)
            warm = {(users[0].id, srv.send_text(users[0], QUESTIONS[0]))}
            await asyncio.to_thread(wait_answered, srv, warm, 120)
            per_round = []
            for _ in range(rounds):
                asked = set(await ask_round(srv, users, rng, spread))
                await asyncio.to_thread(wait_answered, srv, asked, 300)
                per_round.append([t for t in srv.update_latencies() if (t.chat_id, t.message_id) in asked])
            flood = sum(1 for c in srv.sent if c.error_code == 429)
    return per_round, flood


def main(argv: list[str] | None = None) -> None:
    """Reuse or build the archive, run the rounds, print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 articles instead of 1,000,000")
    parser.add_argument("--articles", type=int, help="number of synthetic articles")
    parser.add_argument("--db", type=Path, help="database file (default: bench/out/search-N-vV.sqlite)")
    parser.add_argument("--rounds", type=int, help="rounds of 50 questions (default 5, --quick 3)")
    parser.add_argument("--spread", type=float, default=4.0, help="seconds over which a round's users ask")
    parser.add_argument("--burst", action="store_true", help="all users ask at the same instant")
    args = parser.parse_args(argv)
    n = args.articles or (50_000 if args.quick else 1_000_000)
    db = args.db or OUT / f"search-{n}-v{GENERATOR_VERSION}.sqlite"
    build_s = ensure_db(db, n)
    rounds = args.rounds or (3 if args.quick else 5)
    spread = 0.0 if args.burst else args.spread
    per_round, flood = asyncio.run(run(db, rounds, spread))
    print(
        f"{'round':<7} {'questions':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'handling p95':>13}", file=sys.stderr
    )
    for number, timings in enumerate(per_round, start=1):
        r = percentiles([t.latency for t in timings if t.latency is not None])
        h = percentiles([t.handling for t in timings if t.handling is not None])
        print(
            f"{number:<7} {len(timings):>9} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['max_ms']:>8} {h['p95_ms']:>13}",
            file=sys.stderr,
        )
    everything = [t for timings in per_round for t in timings]
    overall = percentiles([t.latency for t in everything if t.latency is not None])
    handling = percentiles([t.handling for t in everything if t.handling is not None])
    print(
        f"{'all':<7} {len(everything):>9} {overall['p50_ms']:>8} {overall['p95_ms']:>8} "
        f"{overall['max_ms']:>8} {handling['p95_ms']:>13}",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "bench": "chat",
                "articles": n,
                "db": str(db),
                "build_s": round(build_s, 1),
                "users": USERS,
                "rounds": rounds,
                "spread_s": spread,
                "questions": len(everything),
                **overall,
                "handling": handling,
                "telegram_429s": flood,
                "target_p95_ms": TARGET_P95_MS,
                "meets_target": overall["p95_ms"] <= TARGET_P95_MS,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
