"""Matching new articles against saved queries in the store transaction: `python bench/match.py [--quick]`.

On the synthetic archive of bench/search.py (100,000 articles, cached under bench/out/; 20,000
with --quick), stores 1,000 new articles (titles of 8–15 syllables, summaries of 40–60, from
the same vocabulary) in one store transaction and, inside it, matches them against 10,000
subscriptions (1–4 words, phrases, OR, exclusions, with and without accents, outlet filters,
abbreviations) with the percolator: reading the rows back plus matching, median of several
runs (each run rolls its transaction back). Beside it, in the same run: building the
percolator, the FTS-per-query way (`matching_ids`) on a sample of the subscriptions,
extrapolated, and 20 campaigns recorded both ways. The LAST line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/match.py`: bench/ is not installed

from bench.search import END, GENERATOR_VERSION, OUT, SOURCES, TZ, Vocabulary, ensure_db  # noqa: E402
from bot.errors import QueryError  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.saved_queries.campaigns import record_campaign_matches  # noqa: E402
from bot.saved_queries.percolator import (  # noqa: E402
    Percolator,
    match_new_articles,
    read_new_articles,
    sample_frequencies,
)
from bot.saved_queries.saved_query import CAMPAIGN, SUBSCRIPTION, SavedQuery, compile_saved_query  # noqa: E402
from bot.search.plan import matching_ids  # noqa: E402
from bot.store.articles import store_articles  # noqa: E402
from bot.store.db import open_db  # noqa: E402
from bot.textnorm import fold_vietnamese  # noqa: E402

ABBREVIATIONS = ["UBND", "HĐND", "TP.HCM", "CĐS", "CNTT", "BHXH", "THPT", "CSGT", "PCCC"]


class RolledBack(Exception):
    """Raised by the timing hook so every run leaves the archive as it was."""


def new_articles(count: int, seed: int) -> list[Article]:
    vocab = Vocabulary()
    rng = random.Random(seed)
    fetched = END + timedelta(days=1)
    out = []
    for i in range(count):
        published = fetched - timedelta(seconds=rng.randint(0, 6 * 3600))
        source = f"s{rng.choices(range(SOURCES), weights=[1 / (k + 2) for k in range(SOURCES)])[0]:03d}"
        title = vocab.text(rng, rng.randint(8, 15))
        summary = vocab.text(rng, rng.randint(40, 60)) + "."
        url = f"https://{source}.example.vn/new/{seed}/{i}"
        out.append(Article(source, url, f"new-{seed}-{i}", title, summary, published_at=published, fetched_at=fetched))
    return out


def subscription_texts(count: int, seed: int) -> list[str]:
    """What people subscribe to: 1–4 words of the press office's vocabulary, sometimes with operators."""
    vocab = Vocabulary()
    rng = random.Random(seed)
    words = [u for u in vocab.units if u not in vocab.head[:36]]  # not the function words
    weights = [1 / (rank + 10) for rank in range(len(words))]

    def word() -> str:
        chosen = rng.choices(words, weights=weights)[0]
        return chosen if rng.random() < 0.6 else fold_vietnamese(chosen).lower()  # typed without accents

    texts = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.3:
            text = " ".join(word() for _ in range(rng.randint(1, 2)))
        elif kind < 0.5:
            text = f'"{word()} {word()}"'
        elif kind < 0.65:
            text = f"{word()} OR {word()}"
        elif kind < 0.75:
            text = f"{word()} {word()} -{word()}"
        elif kind < 0.82:
            text = rng.choice(ABBREVIATIONS) + (f" {word()}" if rng.random() < 0.5 else "")
        elif kind < 0.9:
            text = " ".join(word() for _ in range(rng.randint(3, 4)))
        elif kind < 0.95:
            text = f"{word()} source:s{rng.randrange(SOURCES):03d}"
        else:
            text = f"source:s{rng.randrange(SOURCES):03d}"
        texts.append(text)
    return texts


def compile_all(texts: Sequence[str], kind: str) -> list[SavedQuery]:
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(compile_saved_query(kind, f"{kind[0]}{i}", text, text, since=None, tz=TZ, now=END))
        except QueryError:
            continue
    return out


def in_store_transaction(conn: sqlite3.Connection, articles: Sequence[Article], work: Callable) -> float:
    """Store `articles`, time `work(conn, new_ids)` inside the transaction, roll it all back; ms."""
    elapsed: list[float] = []

    def hook(connection: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        started = time.perf_counter()
        work(connection, new_ids)
        elapsed.append((time.perf_counter() - started) * 1000)
        raise RolledBack

    with contextlib.suppress(RolledBack):
        store_articles(conn, [(articles, None)], hooks=[hook])
    return elapsed[0]


def record_by_fts(conn: sqlite3.Connection, campaigns: Sequence[SavedQuery], new_ids: Sequence[int]) -> None:
    """How campaigns were recorded before the percolator: one FTS query per campaign."""
    for campaign in campaigns:
        rows = [(campaign.id, i) for i in matching_ids(conn, campaign.plan, new_ids)]
        conn.executemany("INSERT OR IGNORE INTO campaign_articles (campaign_id, article_id) VALUES (?, ?)", rows)


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


def run(conn: sqlite3.Connection, quick: bool) -> dict[str, object]:
    runs = 3 if quick else 7
    articles = new_articles(1000, seed=21)
    small = new_articles(20, seed=22)
    subscriptions = compile_all(subscription_texts(10_000, seed=5), SUBSCRIPTION)
    campaigns = compile_all(subscription_texts(20, seed=9), CAMPAIGN)

    frequencies = sample_frequencies(conn)
    sample_ms = [_time(lambda: sample_frequencies(conn)) for _ in range(runs)]
    build_ms = [_time(lambda: Percolator(subscriptions, frequencies)) for _ in range(runs)]
    percolator = Percolator(subscriptions, frequencies)
    found: dict[str, list[int]] = {}

    def percolate(connection: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        found.update(match_new_articles(connection, percolator, new_ids))

    match_ms = [in_store_transaction(conn, articles, percolate) for _ in range(runs)]
    read_ms = [in_store_transaction(conn, articles, read_new_articles) for _ in range(runs)]
    small_ms = [in_store_transaction(conn, small, percolate) for _ in range(runs)]

    # The FTS way, one query per subscription, on a sample; extrapolated to all of them.
    sample = random.Random(1).sample(subscriptions, 200 if quick else 500)
    fts_sample_ms = median(
        [
            in_store_transaction(conn, articles, lambda c, ids: [matching_ids(c, q.plan, ids) for q in sample])
            for _ in range(max(1, runs // 2))
        ]
    )
    fts_ms = round(fts_sample_ms * len(subscriptions) / len(sample), 1)

    campaign_rows = {
        size: {
            "fts_ms": median(
                [
                    in_store_transaction(conn, batch, lambda c, ids: record_by_fts(c, campaigns, ids))
                    for _ in range(runs)
                ]
            ),
            "percolator_ms": median(
                [
                    in_store_transaction(conn, batch, lambda c, ids: record_campaign_matches(c, campaigns, ids))
                    for _ in range(runs)
                ]
            ),
        }
        for size, batch in ((1000, articles), (20, small))
    }
    return {
        "subscriptions": len(subscriptions),
        "indexed": len(percolator),
        "new_articles": len(articles),
        "runs": runs,
        "match_ms": median(match_ms),
        "read_back_ms": median(read_ms),
        "match_20_ms": median(small_ms),
        "build_ms": median(build_ms),
        "frequency_sample_ms": median(sample_ms),
        "fts_per_query_ms": fts_ms,
        "fts_sample": len(sample),
        "speedup": round(fts_ms / median(match_ms), 1),
        "matched_subscriptions": len(found),
        "matches": sum(len(v) for v in found.values()),
        "campaigns_20": campaign_rows,
    }


def _time(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="an archive of 20,000 articles, 3 runs")
    parser.add_argument("--articles", type=int, help="articles in the archive (default 100,000)")
    args = parser.parse_args(argv)
    n = args.articles or (20_000 if args.quick else 100_000)
    source = OUT / f"search-{n}-v{GENERATOR_VERSION}.sqlite"
    ensure_db(source, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "match.sqlite"
        shutil.copy(source, path)  # stores roll back, but keep the cached archive pristine anyway
        conn = open_db(path).conn
        r = run(conn, args.quick)
        conn.close()
    print(f"archive {n:,} articles; {r['subscriptions']:,} subscriptions × {r['new_articles']:,} new articles")
    print(f"{'step':<44} {'ms':>9}")
    for label, key in (
        ("percolator: read back + match (target <= 1000)", "match_ms"),
        ("  of which reading the rows back", "read_back_ms"),
        ("percolator: a batch of 20 new articles", "match_20_ms"),
        ("percolator: build for all subscriptions", "build_ms"),
        ("  token frequencies from 500 recent articles", "frequency_sample_ms"),
        (f"FTS per query (extrapolated from {r['fts_sample']})", "fts_per_query_ms"),
    ):
        print(f"{label:<44} {r[key]:>9}")
    for size, c in r["campaigns_20"].items():  # type: ignore[attr-defined]
        print(f"20 campaigns, {size} new: FTS {c['fts_ms']} ms, percolator {c['percolator_ms']} ms")
    print(f"speed-up over FTS per query: {r['speedup']}×; {r['matches']:,} matches for {r['matched_subscriptions']:,}")
    print(json.dumps({"bench": "match", "articles": n, **r}, ensure_ascii=False))


if __name__ == "__main__":
    main()
