"""What a subscription change costs with many subscriptions: `python bench/subscriptions.py [--quick]`.

Every change (subscribe, pause, resume, instant ↔ daily, delete) recompiles that one
subscription and swaps the registry's tuple on the writer thread, so the next stored batch
sees it. With 10,000 live subscriptions (realistic Vietnamese queries, a few outlets,
campaigns and news among them) this measures, medians of several runs:

    refresh one   SubscriptionSet.refresh: read the row, compile it, publish 10,000 to the registry
    load all      SubscriptionSet.load: compile every one (start and /reload) — the reference
    insert        insert_subscription + refresh: a /subscribe's whole write

The LAST line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/subscriptions.py`: bench/ is not installed

from bench.retag import median_ms  # noqa: E402
from bot.alerts.subscriptions import (  # noqa: E402
    CAMPAIGN,
    INSTANT,
    NEWS,
    QUERY,
    SOURCE,
    NewSubscription,
    SubscriptionSet,
    insert_subscription,
    record_subscription_matches,
)
from bot.config import Config, config_from_dict  # noqa: E402
from bot.saved_queries.registry import Registry  # noqa: E402
from bot.saved_queries.saved_query import SUBSCRIPTION  # noqa: E402
from bot.store.db import open_db  # noqa: E402

WORDS = [
    "chuyển đổi số",
    "chính quyền số",
    "Đền Hùng",
    "giá lúa",
    "bão",
    "lũ lụt",
    "sạt lở",
    "giáo dục",
    "y tế",
    "du lịch",
    "nông thôn mới",
    "UBND",
    "HĐND",
    "an toàn giao thông",
    "cải cách hành chính",
    "đầu tư công",
    "xuất khẩu",
    "thanh long",
    "sen",
    "cầu Cao Lãnh",
]


def config() -> Config:
    return config_from_dict(
        {
            "organization": {"name": "Sở Thông tin và Truyền thông Đồng Tháp", "aliases": ["Sở TT&TT Đồng Tháp"]},
            "sources": [
                {"id": f"s{i:02d}", "name": f"Báo {i}", "url": f"https://b{i}.example.vn/rss"} for i in range(20)
            ],
            "campaigns": [{"id": "cds", "name": "Chuyển đổi số", "query": '"chuyển đổi số" OR "chính quyền số"'}],
            "access": {"mode": "public"},
        }
    )


def spec(rng: random.Random, number: int) -> tuple[str, str | None, str]:
    roll = rng.random()
    if roll < 0.05:
        return SOURCE, f"s{rng.randrange(20):02d}", ""
    if roll < 0.08:
        return CAMPAIGN, "cds", ""
    if roll < 0.10:
        return NEWS, None, ""
    words = rng.sample(WORDS, rng.randint(1, 3))
    text = " ".join(f'"{w}"' if " " in w and rng.random() < 0.5 else w for w in words)
    if rng.random() < 0.2:
        text += f" -{rng.choice(WORDS).split()[0]}"
    return QUERY, None, f"{text} {number}" if rng.random() < 0.01 else text


def fill(conn: sqlite3.Connection, count: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    for number in range(count):
        kind, target, query = spec(rng, number)
        chat = 10_000 + number // 5
        new = NewSubscription(chat, None, "private", chat, "vi", kind, target, query, query or "x", INSTANT, None)
        insert_subscription(conn, new, 50, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 subscriptions, fewer runs")
    args = parser.parse_args()
    count, runs = (1_000, 5) if args.quick else (args.subscriptions, 15)
    cfg = config()
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_db(Path(tmp) / "bench.sqlite").conn
        fill(conn, count)
        registry = Registry({SUBSCRIPTION: record_subscription_matches})
        subs = SubscriptionSet(registry)
        load_ms = median_ms(lambda: subs.load(conn, cfg), max(3, runs // 3))
        assert len(registry.active(SUBSCRIPTION)) == count
        refresh_ms = median_ms(lambda: subs.refresh(conn, cfg, count // 2), runs)
        extra = NewSubscription(1, None, "private", 1, "vi", QUERY, None, "giá lúa", "giá lúa", INSTANT, None)

        def insert() -> None:
            subscription_id = insert_subscription(conn, extra, 10**9, datetime.now(UTC))
            subs.refresh(conn, cfg, subscription_id)

        insert_ms = median_ms(insert, runs)
        conn.close()
    rows = [("refresh one", refresh_ms), ("insert + refresh", insert_ms), ("load all (reference)", load_ms)]
    print(f"{count:,} live subscriptions, medians in ms")
    print(f"{'operation':<24}{'ms':>10}")
    for name, value in rows:
        print(f"{name:<24}{value:>10.2f}")
    print(f"refresh one / load all: {refresh_ms / load_ms:.4f}")
    print(
        json.dumps(
            {
                "subscriptions": count,
                "refresh_ms": refresh_ms,
                "insert_refresh_ms": insert_ms,
                "load_all_ms": load_ms,
                "refresh_over_load": round(refresh_ms / load_ms, 5),
            }
        )
    )


if __name__ == "__main__":
    main()
