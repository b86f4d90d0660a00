"""Search CPU per query, side by side across code versions: `python bench/search_cpu.py DB`.

Wall-clock latency on a shared 2-core machine mostly measures the other processes; the CPU
time of the searching thread does not. Run it from two checkouts (e.g. before and after a
change) against the same database built by bench/search.py, alternating, and compare the
medians. Prints one JSON object: query kind → median CPU ms per query (one connection).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.search import END, TZ, query_sets
from bot.search.engine import SearchEngine
from bot.store.db import connect


def main() -> None:
    """Median thread CPU time per query kind on one connection."""
    engine = SearchEngine(connect(sys.argv[1]), TZ, clock=lambda: END)
    medians = {}
    for kind, queries in query_sets(random.Random(3)).items():
        for query in queries[:3]:  # warm the page cache like a running bot has
            engine.search(query, limit=10)
        cpu = []
        for query in queries:
            started = time.thread_time()
            engine.search(query, limit=10)
            cpu.append((time.thread_time() - started) * 1000)
        medians[kind] = round(statistics.median(cpu), 2)
    print(json.dumps(medians, ensure_ascii=False))


if __name__ == "__main__":
    main()
