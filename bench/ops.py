"""Backup and retention on a synthetic archive: `python bench/ops.py [--quick] [--articles N]`.

On bench/search.py's archive (default 100,000 articles over two years; --quick 20,000, cached
under bench/out/), measured on a working copy:
- `mediabot backup`'s copy beside a plain file copy of the same database (the reference), and
  the longest wait of a writer committing small transactions in a loop while the backup runs;
- pruning a year (about half the archive) in batches: writer time per batch (median, max)
  and articles per second.
Medians of several runs; the LAST line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/ops.py`: bench/ is not installed

from bench.search import GENERATOR_VERSION, OUT, ensure_db  # noqa: E402
from bot.store.db import connect, transaction  # noqa: E402
from bot.store.maintenance import PRUNE_BATCH, backup, prune_batch  # noqa: E402

RUNS = 3


def timed(func: Callable[..., object], *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - started


def backup_figures(work: Path, tmp: Path) -> dict[str, float]:
    """Median seconds of backup() and of shutil.copyfile, and the writer's longest commit meanwhile."""
    copies, backups, waits = [], [], []
    for run in range(RUNS):
        copies.append(timed(shutil.copyfile, work, tmp / f"copy-{run}.db"))
        stop, longest = threading.Event(), [0.0]
        writer = threading.Thread(target=_write_loop, args=(work, stop, longest))
        writer.start()
        source = sqlite3.connect(f"file:{work}?mode=ro", uri=True)
        backups.append(timed(backup, source, tmp / f"backup-{run}.db", force=True))
        source.close()
        stop.set()
        writer.join()
        waits.append(longest[0])
    return {
        "backup_s": round(statistics.median(backups), 3),
        "file_copy_s": round(statistics.median(copies), 3),
        "backup_vs_copy": round(statistics.median(backups) / statistics.median(copies), 2),
        "writer_longest_commit_during_backup_ms": round(max(waits) * 1000, 1),
    }


def _write_loop(path: Path, stop: threading.Event, longest: list[float]) -> None:
    conn = connect(str(path))
    while not stop.is_set():
        started = time.perf_counter()
        with transaction(conn):
            conn.execute("UPDATE sources SET name = name WHERE id = (SELECT min(id) FROM sources)")
        longest[0] = max(longest[0], time.perf_counter() - started)
    conn.close()


def prune_figures(work: Path) -> dict[str, float]:
    """Prune everything older than a year of the archive's newest article, batch by batch."""
    conn = connect(str(work))
    newest = conn.execute("SELECT max(published_ts) FROM articles").fetchone()[0]
    conn.execute("UPDATE articles SET fetched_ts = published_ts")  # first seen when published
    before = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    batches: list[float] = []
    pruned = 0
    while True:
        started = time.perf_counter()
        deleted = prune_batch(conn, newest - 365 * 86400)
        if not deleted:
            break
        batches.append(time.perf_counter() - started)
        pruned += deleted
    ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    total = sum(batches)
    return {
        "articles_before": before,
        "pruned": pruned,
        "batches": len(batches),
        "batch_median_ms": round(statistics.median(batches) * 1000, 1),
        "batch_max_ms": round(max(batches) * 1000, 1),
        "pruned_per_s": round(pruned / total),
        "integrity": ok,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 articles instead of 100,000")
    parser.add_argument("--articles", type=int, help="number of synthetic articles")
    args = parser.parse_args(argv)
    n = args.articles or (20_000 if args.quick else 100_000)
    OUT.mkdir(exist_ok=True)
    archive = OUT / f"search-{n}-v{GENERATOR_VERSION}.sqlite"
    ensure_db(archive, n)
    tmp = OUT / "ops"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    work = tmp / "work.db"
    shutil.copyfile(archive, work)
    results = {"backup": backup_figures(work, tmp), "prune": prune_figures(work)}
    shutil.rmtree(tmp, ignore_errors=True)
    b, p = results["backup"], results["prune"]
    print(f"{'archive':<42} {n:>10,} articles, {archive.stat().st_size / 1024**2:.0f} MB")
    print(f"{'backup (median of ' + str(RUNS) + ')':<42} {b['backup_s']:>10} s")
    print(f"{'plain file copy (reference)':<42} {b['file_copy_s']:>10} s   ratio {b['backup_vs_copy']}")
    print(f"{'longest writer commit during backup':<42} {b['writer_longest_commit_during_backup_ms']:>10} ms")
    print(f"{'pruned (a year)':<42} {p['pruned']:>10,} in {p['batches']} batches of {PRUNE_BATCH}")
    print(f"{'writer time per batch: median / max':<42} {p['batch_median_ms']:>10} / {p['batch_max_ms']} ms")
    print(f"{'pruned per second':<42} {p['pruned_per_s']:>10,}   integrity {p['integrity']}")
    print(json.dumps({"bench": "ops", "articles": n, **results}))


if __name__ == "__main__":
    main()
