"""Benchmark: CPU per feed of the whole ingest pipeline against `feedparser.parse(body)` alone.

    python bench/poll.py [--quick] [--feeds N] [--items N] [--latency S] [--rounds N]

N local feeds × 50 items (synthetic Vietnamese RSS, 100 ms server latency, the feed server in
its own process so its CPU is not charged) are polled end to end into SQLite with FTS and
campaign tagging: fetch, parse, normalize, store, index, tag. In every round, side by side:

- CPU per feed of the first poll (everything new): the poller process (all its threads; the
  database writer thread, which stores, indexes and tags, also apart) plus its parser worker
  processes, from the kernel's CPU counters, not wall time;
- CPU per feed of `feedparser.parse(body)` on the same bodies, with default options and with
  `sanitize_html=False, resolve_relative_uris=False`, in this process;
- their ratio (target ≤ 1: the pipeline costs no more than feedparser's default parse);
- first-poll feeds/s, the second poll (every feed answers 304; target ≤ 3 s), peak memory.

CPU-time ratios measured in the same run are what to compare on a shared, noisy machine.
Prints a table, then one JSON object on the last line; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from bot.config import Config, config_from_dict  # noqa: E402
from bot.ingest.parse import Parser  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from tests.fakes.feed_content import synthetic_feed  # noqa: E402

SECOND_POLL_TARGET_S = 3.0
CPU_RATIO_TARGET = 1.0


def start_server(feeds: int, items: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    args = ["--feeds", str(feeds), "--items", str(items), "--latency", str(latency)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.feed_server", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1"):
        proc.kill()
        raise SystemExit(f"feed server did not start: {base!r}")
    return proc, base


def make_config(base: str, feeds: int, concurrency: int) -> Config:
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
                "parse_timeout": "60s",
            },
            "sources": [{"id": f"s{i:04d}", "name": f"Nguồn {i}", "url": f"{base}/gen/{i}.rss"} for i in range(feeds)],
            "campaigns": [
                {"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"chuyển đổi số" OR "chính quyền số"'}
            ],
        }
    )


def process_cpu_s() -> float:
    """CPU seconds (user + system) of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int, task: str = "") -> float:
    """User + system CPU time a live process (or one of its threads: `task`) has used."""
    fields = Path(f"/proc/{pid}{task}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_s(tid: int) -> float:
    """User + system CPU time of one thread of this process."""
    return cpu_seconds(os.getpid(), f"/task/{tid}")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def poll_twice(config: Config, db_path: Path) -> dict[str, Any]:
    runtime = Runtime(config, db_path)
    await runtime.start()
    assert runtime.poller and runtime.parser
    try:
        startup_cpu = await start_workers(runtime.parser)
        workers = runtime.parser.worker_pids()
        writer_tid = await runtime.writer.run(lambda _conn: threading.get_native_id())
        writer_before = thread_cpu_s(writer_tid)
        main_before, workers_before = process_cpu_s(), sum(cpu_seconds(pid) for pid in workers)
        first = await runtime.poller.poll(only_due=False)
        main_cpu = process_cpu_s() - main_before
        writer_cpu = thread_cpu_s(writer_tid) - writer_before
        assert runtime.parser.worker_pids() == workers, "a parser worker was replaced mid-benchmark"
        worker_cpu = sum(cpu_seconds(pid) for pid in workers) - workers_before
        second = await runtime.poller.poll(only_due=False)
        worker_peaks = [peak_rss_mb(pid) for pid in runtime.parser.worker_pids()]
    finally:
        await runtime.aclose()
    failed = first.failed + second.failed
    if failed:
        print(f"warning: {len(failed)} feed polls failed, e.g. {failed[0].error}")
    return {
        "first_poll_s": first.elapsed,
        "first_poll_articles": first.new_articles,
        "main_cpu_s": main_cpu,
        "writer_cpu_s": writer_cpu,
        "worker_startup_cpu_s": startup_cpu,
        "worker_cpu_s": worker_cpu,
        "second_poll_s": second.elapsed,
        "second_poll_new_articles": second.new_articles,
        "second_poll_all_304": {o.status for o in second.outcomes} == {"not_modified"},
        "failed": len(failed),
        "worker_peak_mb": max(worker_peaks, default=0.0),
        "workers": len(worker_peaks),
    }


async def start_workers(parser: Parser) -> float:
    """Start every parser worker (one tiny job each, at once); their start-up CPU seconds.

    A running bot starts its workers once; the per-feed figure is the steady state.
    """
    tiny = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    kwargs: dict[str, Any] = {"feed_url": "http://127.0.0.1/", "source_id": "s", "tz_name": "UTC"}
    jobs = [parser.parse_articles(tiny, fetched_at=datetime.now(UTC), **kwargs) for _ in range(os.cpu_count() or 2)]
    await asyncio.gather(*jobs)
    return sum(cpu_seconds(pid) for pid in parser.worker_pids())


def feedparser_cpu_per_feed(bodies: list[bytes], **options: bool) -> float:
    """CPU seconds per body of `feedparser.parse(body)` (bytes as a stream, as the pipeline gives it)."""
    started = time.process_time()
    for body in bodies:
        parsed = feedparser.parse(io.BytesIO(body), **options)
        assert parsed.entries, "feedparser read no entries"
    return (time.process_time() - started) / len(bodies)


def one_round(base: str, feeds: int, items: int, concurrency: int, sample: list[bytes]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        figures = asyncio.run(poll_twice(make_config(base, feeds, concurrency), db_path))
        figures["db_mb"] = db_path.stat().st_size / 1e6
    figures["pipeline_cpu_ms"] = 1000 * (figures["main_cpu_s"] + figures["worker_cpu_s"]) / feeds
    figures["main_cpu_ms"] = 1000 * figures["main_cpu_s"] / feeds
    figures["writer_cpu_ms"] = 1000 * figures["writer_cpu_s"] / feeds
    figures["loop_cpu_ms"] = figures["main_cpu_ms"] - figures["writer_cpu_ms"]
    figures["worker_cpu_ms"] = 1000 * figures["worker_cpu_s"] / feeds
    figures["feedparser_default_ms"] = 1000 * feedparser_cpu_per_feed(sample)
    figures["feedparser_lean_ms"] = 1000 * feedparser_cpu_per_feed(
        sample, sanitize_html=False, resolve_relative_uris=False
    )
    figures["cpu_ratio"] = figures["pipeline_cpu_ms"] / figures["feedparser_default_ms"]
    figures["feeds_per_s"] = feeds / figures["first_poll_s"]
    return figures


def summarize(runs: list[dict[str, Any]], args: argparse.Namespace, feeds: int, sample: int) -> dict[str, Any]:
    def med(key: str, digits: int = 1) -> float:
        return round(statistics.median(run[key] for run in runs), digits)

    main_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = max(run["worker_peak_mb"] for run in runs)
    result = {
        "feeds": feeds,
        "items": args.items,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "rounds": len(runs),
        "cpu_ms_per_feed_pipeline": med("pipeline_cpu_ms"),
        "cpu_ms_per_feed_poller_process": med("main_cpu_ms"),
        "cpu_ms_per_feed_poller_event_loop": med("loop_cpu_ms"),  # fetch, scheduling, parser IPC
        "cpu_ms_per_feed_poller_db_writer": med("writer_cpu_ms"),  # store, index, tag, health rows
        "cpu_ms_per_feed_parser_workers": med("worker_cpu_ms"),
        "cpu_ms_per_feed_feedparser_default": med("feedparser_default_ms"),
        "cpu_ms_per_feed_feedparser_lean": med("feedparser_lean_ms"),
        "feedparser_sample_feeds": sample,
        "cpu_ratio_pipeline_vs_feedparser": med("cpu_ratio", 2),
        "cpu_ratio_all_rounds": [round(run["cpu_ratio"], 2) for run in runs],
        "first_poll_s": med("first_poll_s", 2),
        "first_poll_feeds_per_s": med("feeds_per_s"),
        "articles_stored": runs[0]["first_poll_articles"],
        "second_poll_s": med("second_poll_s", 2),
        "second_poll_all_304": all(run["second_poll_all_304"] for run in runs),
        "second_poll_new_articles": sum(run["second_poll_new_articles"] for run in runs),
        "peak_rss_poller_mb": round(main_peak_mb, 1),
        "peak_rss_parser_worker_mb": round(worker_peak, 1),
        "parser_workers": runs[0]["workers"],
        "parser_worker_startup_cpu_s": med("worker_startup_cpu_s", 2),
        "db_mb": med("db_mb"),
        "failed_polls": sum(run["failed"] for run in runs),
    }
    result["cpu_target_met"] = result["cpu_ratio_pipeline_vs_feedparser"] <= CPU_RATIO_TARGET
    result["second_poll_target_met"] = result["second_poll_s"] <= SECOND_POLL_TARGET_S and result["second_poll_all_304"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 feeds, one round (under a minute)")
    ap.add_argument("--feeds", type=int)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--sample", type=int, help="bodies for the feedparser reference (default: up to 300)")
    ap.add_argument("--rounds", type=int, help="repeat and report medians (default 3; 1 with --quick)")
    # 1,000 round trips of 100 ms in <= 3 s need more than 34 requests in flight.
    ap.add_argument("--concurrency", type=int, default=64, help="polling.concurrency (and per_host)")
    args = ap.parse_args()
    feeds = args.feeds or (100 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 3)
    bodies = [synthetic_feed(i, args.items) for i in range(min(feeds, args.sample or 300))]

    server, base = start_server(feeds, args.items, args.latency)
    try:
        runs = [one_round(base, feeds, args.items, args.concurrency, bodies) for _ in range(rounds)]
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = summarize(runs, args, feeds, len(bodies))
    width = max(map(len, result))
    for key, value in result.items():
        mark = {True: "  ✓", False: "  ✗"}.get(value) if key.endswith("_met") else ""
        print(f"{key:<{width}}  {value}{mark or ''}")
    print(json.dumps(result))
    sys.exit(0 if result["cpu_target_met"] and result["second_poll_target_met"] else 1)


if __name__ == "__main__":
    main()
