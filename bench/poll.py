"""Benchmark: poll N local feeds × 50 items (100 ms latency) end to end into SQLite with FTS.

    python bench/poll.py [--quick] [--feeds N] [--items N] [--latency S]

Measures, in one run and side by side: the first poll (everything new), the second poll
(every feed answers 304), peak memory of the poller and of its parser workers, and a
sequential `feedparser.parse(url)` loop over a sample of the same feeds (the baseline).
The feed server runs in its own process so its CPU is not charged to the poller.
Prints a table, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from bot.config import config_from_dict  # noqa: E402
from bot.runtime import Runtime  # noqa: E402


def start_server(feeds: int, items: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.feed_server",
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1"):
        proc.kill()
        raise SystemExit(f"feed server did not start: {base!r}")
    return proc, base


def make_config(base: str, feeds: int, concurrency: int) -> object:
    return config_from_dict(
        {
            "organization": {"name": "Sở TT&TT Phú Thọ"},
            # Every benchmark feed lives on one host (127.0.0.1); real outlets are on different hosts,
            # so the per-host limit is raised to the overall one here.
            "polling": {
                "allow_private_networks": True,
                "concurrency": concurrency,
                "per_host": concurrency,
                "timeout": "60s",
            },
            "sources": [{"id": f"s{i:04d}", "name": f"Nguồn {i}", "url": f"{base}/gen/{i}.rss"} for i in range(feeds)],
            "campaigns": [
                {"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"chuyển đổi số" OR "chính quyền số"'}
            ],
        }
    )


async def poll_twice(config: object, db_path: Path) -> dict[str, float]:
    runtime = Runtime(config, db_path)
    await runtime.start()
    assert runtime.poller
    try:
        first = await runtime.poller.poll(only_due=False)
        second = await runtime.poller.poll(only_due=False)
        assert runtime.parser
        worker_peaks = [peak_rss_mb(pid) for pid in runtime.parser.worker_pids()]
        worker_cpu = sum(cpu_seconds(pid) for pid in runtime.parser.worker_pids())
    finally:
        await runtime.aclose()
    failed = len(first.failed) + len(second.failed)
    if failed:
        print(f"warning: {failed} feed polls failed, e.g. {(first.failed or second.failed)[0].error}")
    statuses = {o.status for o in second.outcomes}
    return {
        "first_poll_s": first.elapsed,
        "first_poll_articles": first.new_articles,
        "second_poll_s": second.elapsed,
        "second_poll_new_articles": second.new_articles,
        "second_poll_all_304": statuses == {"not_modified"},
        "failed": failed,
        "worker_peak_mb": max(worker_peaks, default=0.0),
        "worker_cpu_s": worker_cpu,
        "workers": len(worker_peaks),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process (forkserver workers are not our children, so rusage misses them)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def baseline(base: str, sample: int) -> float:
    """Seconds per feed of the naive approach: feedparser fetching and parsing each URL in turn."""
    started = time.perf_counter()
    for i in range(sample):
        parsed = feedparser.parse(f"{base}/gen/{i}.rss")
        assert parsed.entries, "baseline fetched an empty feed"
    return (time.perf_counter() - started) / sample


def one_round(base: str, feeds: int, concurrency: int, sample: int, server_pid: int) -> dict[str, float]:
    """First and second poll into a fresh database, then the baseline, with CPU used by each process."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    server_before = cpu_seconds(server_pid)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        figures = asyncio.run(poll_twice(make_config(base, feeds, concurrency), db_path))
        figures["db_mb"] = db_path.stat().st_size / 1e6
    after = resource.getrusage(resource.RUSAGE_SELF)
    figures["poller_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    figures["server_cpu_s"] = cpu_seconds(server_pid) - server_before
    figures["baseline_feeds_per_s"] = 1 / baseline(base, sample)
    figures["feeds_per_s"] = feeds / figures["first_poll_s"]
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 feeds, one round (under a minute)")
    ap.add_argument("--feeds", type=int)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--baseline-sample", type=int)
    ap.add_argument("--rounds", type=int, help="repeat and report medians (default 3; 1 with --quick)")
    # 1,000 round trips of 100 ms in <= 3 s need more than 34 requests in flight.
    ap.add_argument("--concurrency", type=int, default=64, help="polling.concurrency (and per_host)")
    args = ap.parse_args()
    feeds = args.feeds or (100 if args.quick else 1000)
    sample = args.baseline_sample or min(feeds, 20 if args.quick else 100)
    rounds = args.rounds or (1 if args.quick else 3)

    server, base = start_server(feeds, args.items, args.latency)
    try:
        runs = [one_round(base, feeds, args.concurrency, sample, server.pid) for _ in range(rounds)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    main_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def med(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    worker_peak = max(run["worker_peak_mb"] for run in runs)
    result = {
        "feeds": feeds,
        "items": args.items,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "rounds": rounds,
        "first_poll_s": round(med("first_poll_s"), 2),
        "first_poll_feeds_per_s": round(med("feeds_per_s"), 1),
        "first_poll_feeds_per_s_all": [round(run["feeds_per_s"], 1) for run in runs],
        "first_poll_articles_per_s": round(
            statistics.median(run["first_poll_articles"] / run["first_poll_s"] for run in runs)
        ),
        "articles_stored": runs[0]["first_poll_articles"],
        "baseline_sequential_feeds_per_s": round(med("baseline_feeds_per_s"), 2),
        "baseline_sample_feeds": sample,
        "speedup_vs_baseline": round(
            statistics.median(run["feeds_per_s"] / run["baseline_feeds_per_s"] for run in runs), 1
        ),
        "second_poll_s": round(med("second_poll_s"), 2),
        "second_poll_all_304": all(run["second_poll_all_304"] for run in runs),
        "second_poll_new_articles": sum(run["second_poll_new_articles"] for run in runs),
        "peak_rss_poller_mb": round(main_peak_mb, 1),
        "peak_rss_parser_worker_mb": round(worker_peak, 1),
        "parser_workers": runs[0]["workers"],
        "peak_rss_total_mb": round(main_peak_mb + runs[0]["workers"] * worker_peak, 1),
        "db_mb": round(med("db_mb"), 1),
        "cpu_s_poller": round(med("poller_cpu_s"), 1),
        "cpu_s_parser_workers": round(med("worker_cpu_s"), 1),
        "cpu_s_feed_server": round(med("server_cpu_s"), 1),
        "failed_polls": sum(run["failed"] for run in runs),
    }
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
