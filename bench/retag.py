"""Re-tagging a campaign's history, and reading its stored matches: `python bench/retag.py [--articles N]`.

On the synthetic archive of bench/search.py (default 100,000 articles, cached under bench/out/),
for campaigns of several kinds: the time to re-tag the whole history (delete + INSERT … SELECT
in one transaction, as /reload does when the query changed), beside a plain count of the same
query (one search pass: the reference); the after-insert hook on a batch of 50 new ids; and
/campaigns' two counts from the stored matches beside the two searches it ran before. Medians
of several runs; the LAST line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/retag.py`: bench/ is not installed

from bench.search import END, GENERATOR_VERSION, OUT, TZ, ensure_db, query_sets  # noqa: E402
from bot.config import Campaign, Config, Organization  # noqa: E402
from bot.saved_queries.campaigns import compile_campaigns, count_campaign_matches, record_campaign_matches  # noqa: E402
from bot.saved_queries.retag import retag_changed  # noqa: E402
from bot.search.plan import count_matches  # noqa: E402
from bot.store.db import open_db  # noqa: E402

RUNS = 7


def campaigns() -> list[Campaign]:
    """One campaign per kind of query, words chosen by document frequency as bench/search.py does."""
    sets = query_sets(random.Random(3))
    kinds = {
        "rare word": sets["rare word"][0],
        "2-word phrase": sets["2-word phrase"][0],
        "OR of two": sets["OR"][0],
        "very common word": sets["very common word"][0],
        "one outlet": "source:s007",
    }
    return [Campaign(id=f"c{i}", name=kind, query=query) for i, (kind, query) in enumerate(kinds.items())]


def median_ms(func: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args(argv)
    source = OUT / f"search-{args.articles}-v{GENERATOR_VERSION}.sqlite"
    ensure_db(source, args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "retag.sqlite"
        shutil.copy(source, path)  # re-tagging writes: keep the cached archive pristine
        conn = open_db(path).conn
        results = run(conn, campaigns())
        conn.close()
    print(f"{'campaign':<18} {'matches':>8} {'retag ms':>9} {'count ms':>9} {'ratio':>6} {'hook ms':>8}")
    for r in results["campaigns"]:
        print(
            f"{r['kind']:<18} {r['matches']:>8} {r['retag_ms']:>9} {r['count_ms']:>9} {r['ratio']:>6} "
            f"{r['hook_50_ms']:>8}"
        )
    c = results["campaigns_command"]
    print(f"/campaigns for {c['campaigns']} campaigns: stored {c['stored_ms']} ms, re-search {c['search_ms']} ms")
    print(json.dumps({"bench": "retag", "articles": args.articles, **results}, ensure_ascii=False))


def run(conn: sqlite3.Connection, chosen: list[Campaign]) -> dict[str, object]:
    config = Config(organization=Organization(name="Sở TT&TT"), campaigns=tuple(chosen))
    compiled = compile_campaigns(config, now=END)
    newest = [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id DESC LIMIT 50")][::-1]
    rows = []
    for campaign, saved in zip(chosen, compiled, strict=True):

        def retag(saved=saved) -> None:
            conn.execute("DELETE FROM saved_query_fingerprints")  # make it look changed
            retag_changed(conn, [saved])

        def hook(saved=saved) -> None:
            conn.execute("BEGIN")
            record_campaign_matches(conn, [saved], newest)
            conn.execute("ROLLBACK")

        retag_ms = median_ms(retag)
        count_ms = median_ms(lambda saved=saved: count_matches(conn, saved.plan))
        matches = conn.execute("SELECT count(*) FROM campaign_articles WHERE campaign_id = ?", (saved.id,)).fetchone()[
            0
        ]
        rows.append(
            {
                "kind": campaign.name,
                "query": campaign.query,
                "matches": matches,
                "retag_ms": retag_ms,
                "count_ms": count_ms,
                "ratio": round(retag_ms / count_ms, 1) if count_ms else None,
                "hook_50_ms": median_ms(hook),
            }
        )
    now = END.astimezone(TZ)
    stored_ms = median_ms(
        lambda: [count_campaign_matches(conn, s.id, now - timedelta(days=d)) for s in compiled for d in (7, 30)]
    )
    search_ms = median_ms(
        lambda: [
            count_matches(conn, replace(s.plan, since_ts=(now - timedelta(days=d)).timestamp()))
            for s in compiled
            for d in (7, 30)
        ]
    )
    return {
        "campaigns": rows,
        "campaigns_command": {"campaigns": len(compiled), "stored_ms": stored_ms, "search_ms": search_ms},
    }


if __name__ == "__main__":
    main()
