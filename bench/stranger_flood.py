"""A member's answer during a flood of strangers: `python bench/stranger_flood.py [--quick] [--strangers N]`.

The real bot Application (private mode) runs against FakeTelegram with Telegram's flood limits
on. Each round, first a member sends /help alone (the reference), then N new strangers (default
100) send 3 messages each at once and the member sends /help right after them. Latency is
measured by FakeTelegram from the update being enqueued to the bot's reply being recorded.
Issue 9 found 300 stranger messages delayed a member's /help by 11.7 s: each refusal took a
slot of the shared send budget. Prints a table; the LAST line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/stranger_flood.py`: bench/ and tests/ are not installed

from bot.config import Config, config_from_dict  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.app import build_application, running  # noqa: E402
from tests.fakes.telegram import FakeTelegram, FakeUser  # noqa: E402

ADMIN, MEMBER = 1, 2
MESSAGES_EACH = 3


def bench_config(tmp: Path) -> Config:
    """Private mode: one admin, one member, no outlets (only the gate and /help are measured)."""
    data = {
        "organization": {"name": "Sở Thông tin và Truyền thông", "language": "vi"},
        "access": {"mode": "private", "admins": [ADMIN], "users": [MEMBER]},
    }
    return config_from_dict(data, "bench-feeds.yaml", tmp / "bench-feeds.yaml")


def answered_after(srv: FakeTelegram, chat_id: int, message_id: int, timeout: float) -> float:
    """Seconds from the message being enqueued to the bot's reply in that chat."""
    deadline = time.monotonic() + timeout
    with srv.world.changed:
        while True:
            for timing in srv.world.updates.timings():
                if (timing.chat_id, timing.message_id) == (chat_id, message_id) and timing.latency is not None:
                    return timing.latency
            if time.monotonic() > deadline:
                raise SystemExit(f"no answer in chat {chat_id} after {timeout}s")
            srv.world.changed.wait(deadline - time.monotonic())


def refusals(srv: FakeTelegram, strangers: list[FakeUser], since: int) -> tuple[int, int]:
    """(refusals sent to these strangers since `since`, the most any one of them got)."""
    ids = {s.id for s in strangers}
    per: dict[int, int] = {}
    for call in srv.sent[since:]:
        if call.method == "sendMessage" and call.ok and call.chat_id in ids:
            per[call.chat_id] = per.get(call.chat_id, 0) + 1
    return sum(per.values()), max(per.values(), default=0)


async def run(rounds: int, strangers_per_round: int) -> tuple[list[dict[str, float]], int]:
    """Play the rounds; return each round's figures and the 429s Telegram answered."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeTelegram() as srv:
        srv.flood_limits = True
        settings = Settings(token=srv.token, api_url=srv.url, db_path=str(Path(tmp) / "bench.db"))
        app = build_application(settings, bench_config(Path(tmp)), poll_feeds=False)
        async with running(app):
            await srv.await_polling()
            srv.user(ADMIN, "Quản trị", language_code="vi")
            member = srv.user(MEMBER, "Cán bộ Lan", language_code="vi")
            await asyncio.to_thread(answered_after, srv, MEMBER, srv.send_text(member, "/help"), 60)  # warm-up
            for number in range(rounds):
                await asyncio.sleep(2.0)  # the member's private chat is free again (≤ 1 message a second)
                alone = await asyncio.to_thread(answered_after, srv, MEMBER, srv.send_text(member, "/help"), 120)
                await asyncio.sleep(6.0)  # the courtesy budget refills between rounds, as it would between floods
                base = 100_000 * (number + 1)
                crowd = [srv.user(base + i, f"Người lạ {i}", language_code="vi") for i in range(strangers_per_round)]
                mark = srv.mark()
                for _ in range(MESSAGES_EACH):
                    for stranger in crowd:
                        srv.send_text(stranger, "cho tôi xem tin chuyển đổi số")
                flooded = await asyncio.to_thread(answered_after, srv, MEMBER, srv.send_text(member, "/help"), 300)
                sent, most = refusals(srv, crowd, mark)
                rows.append({"alone_s": alone, "flooded_s": flooded, "refusals": sent, "most_per_stranger": most})
        flood_429 = sum(1 for c in srv.sent if c.error_code == 429)
    return rows, flood_429


def main(argv: list[str] | None = None) -> None:
    """Run the rounds, print a table and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 5")
    parser.add_argument("--strangers", type=int, default=100, help="new strangers per round (3 messages each)")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 5
    rows, flood_429 = asyncio.run(run(rounds, args.strangers))
    print(f"{'round':<6} {'/help alone ms':>15} {'/help in flood ms':>18} {'refusals':>9} {'most/stranger':>14}")
    for number, row in enumerate(rows, start=1):
        print(
            f"{number:<6} {row['alone_s'] * 1000:>15.0f} {row['flooded_s'] * 1000:>18.0f} "
            f"{row['refusals']:>9.0f} {row['most_per_stranger']:>14.0f}"
        )
    alone = statistics.median(r["alone_s"] for r in rows)
    flooded = statistics.median(r["flooded_s"] for r in rows)
    print(
        json.dumps(
            {
                "bench": "stranger_flood",
                "rounds": rounds,
                "stranger_messages_per_round": args.strangers * MESSAGES_EACH,
                "help_alone_median_ms": round(alone * 1000, 1),
                "help_in_flood_median_ms": round(flooded * 1000, 1),
                "ratio": round(flooded / alone, 2) if alone else None,
                "refusals_median": statistics.median(r["refusals"] for r in rows),
                "most_refusals_per_stranger": max(r["most_per_stranger"] for r in rows),
                "telegram_429s": flood_429,
            }
        )
    )


if __name__ == "__main__":
    main()
