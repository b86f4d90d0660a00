"""Campaign reports at scale, and what campaign tagging costs ingest: `python bench/report.py [--quick]`.

1. Report: on the synthetic archive of bench/search.py (1,000,000 articles, cached under
   bench/out/; --quick: 50,000), tagged with the shipped feeds.yaml campaigns by the real
   re-tag code (a tagged copy is cached beside it), a 30-day `/campaign` report (numbers
   from the stored matches + the PNG chart) for each campaign, medians of several runs,
   beside a plain count of the same campaign query over the same 30 days (one search pass,
   the reference); `/compare` and a 30-day XLSX export too.
2. Ingest: the same new articles (feeds of 50) stored through the real store path
   (`store_articles` with the registry's after-insert hook, as the poller calls it) into
   copies of one archive, with 0 and with 20 campaigns, alternating, side by side; the
   ratio of the medians is what tagging adds.

Prints tables; the LAST line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/report.py`: bench/ is not installed

from bench.poll import make_config, poll_twice, start_server  # noqa: E402
from bench.retag import RUNS, median_ms  # noqa: E402
from bench.search import END, GENERATOR_VERSION, OUT, TZ, Vocabulary, ensure_db  # noqa: E402
from bot.config import Campaign, Config, load_config  # noqa: E402
from bot.reports.chart import comparison_chart, outlet_chart  # noqa: E402
from bot.reports.numbers import comparison  # noqa: E402
from bot.reports.period import last_days  # noqa: E402
from bot.saved_queries.campaigns import compile_campaigns  # noqa: E402
from bot.saved_queries.registry import Registry  # noqa: E402
from bot.saved_queries.retag import retag_changed  # noqa: E402
from bot.saved_queries.saved_query import CAMPAIGN  # noqa: E402
from bot.search.plan import count_matches  # noqa: E402
from bot.services.reports import export_of, report_of  # noqa: E402
from bot.store.db import open_db  # noqa: E402

FEED_ITEMS = 50


def shipped_config() -> Config:
    return load_config(ROOT / "feeds.yaml")


def tagged_archive(n: int, config: Config) -> Path:
    """The search benchmark's archive, copied once and tagged with `config`'s campaigns by retag."""
    source = OUT / f"search-{n}-v{GENERATOR_VERSION}.sqlite"
    ensure_db(source, n)
    path = OUT / f"report-{n}-v{GENERATOR_VERSION}.sqlite"
    if not path.exists():
        shutil.copy(source, path.with_suffix(".part"))
        path.with_suffix(".part").rename(path)
    conn = open_db(path).conn
    report = retag_changed(conn, compile_campaigns(config, now=END))  # a no-op when already tagged
    if report.summary():
        print(f"tagged {path.name}: {report.summary()}", file=sys.stderr)
    conn.close()
    return path


def report_figures(conn: sqlite3.Connection, config: Config) -> dict[str, object]:
    now = END.astimezone(TZ)
    period = last_days(30, now)
    outlet_chart(report_of(conn, config, config.campaigns[0].id, period), "vi")  # the first chart pays the font load
    rows = []
    for campaign in config.campaigns:
        report = report_of(conn, config, campaign.id, period)
        plan = replace(
            compile_campaigns(replace(config, campaigns=(campaign,)), now=END)[0].plan,
            since_ts=period.start.timestamp(),
            until_ts=period.end.timestamp(),
        )
        numbers_ms = median_ms(lambda c=campaign: report_of(conn, config, c.id, period))
        chart_ms = median_ms(lambda r=report: outlet_chart(r, "vi"))
        rows.append(
            {
                "campaign": campaign.id,
                "articles_30d": report.total,
                "outlets": len(report.by_source),
                "numbers_ms": numbers_ms,
                "chart_ms": chart_ms,
                "report_with_chart_ms": median_ms(
                    lambda c=campaign: outlet_chart(report_of(conn, config, c.id, period), "vi")
                ),
                "png_kb": round(len(outlet_chart(report, "vi")) / 1024, 1),
                "research_count_ms": median_ms(lambda p=plan: count_matches(conn, p)),
            }
        )
    compare_ms = median_ms(lambda: comparison_chart(comparison(conn, config.campaigns, period), "vi"))
    biggest = max(rows, key=lambda r: r["articles_30d"])
    export_ms = median_ms(
        lambda: export_of(conn, report_of(conn, config, str(biggest["campaign"]), period), "xlsx", "vi"), runs=3
    )
    return {
        "report_30d": rows,
        "compare_30d_ms": compare_ms,
        "export_xlsx_30d_ms": export_ms,
        "export_campaign": biggest["campaign"],
    }


def twenty_campaigns(config: Config) -> tuple[Campaign, ...]:
    """The shipped campaigns plus 15 more of the same shape (ORs of everyday phrases)."""
    phrases = [u for u in Vocabulary().head if " " in u]
    used = {p.casefold() for c in config.campaigns for p in c.query.replace('"', " ").split(" OR ")}
    phrases = [p for p in phrases if p.casefold() not in used]
    extra = tuple(
        Campaign(id=f"extra-{i}", name=phrases[2 * i], query=f'"{phrases[2 * i]}" OR "{phrases[2 * i + 1]}"')
        for i in range(20 - len(config.campaigns))
    )
    return config.campaigns + extra


def ingest_once(base: str, feeds: int, campaigns: tuple[Campaign, ...]) -> dict[str, float]:
    """bench/poll.py's first poll (real poller, group commit, parser workers) into a fresh database."""
    config = replace(make_config(base, feeds, 64), campaigns=campaigns)
    before = resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(poll_twice(config, Path(tmp) / "ingest.sqlite"))
    after = resource.getrusage(resource.RUSAGE_SELF)
    if figures["failed"] or not figures["first_poll_articles"]:
        raise SystemExit("feed polls failed: the ingest comparison would measure nothing")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall_s": figures["first_poll_s"], "poller_cpu_s": cpu, "articles": figures["first_poll_articles"]}


def ingest_figures(feeds: int, rounds: int) -> dict[str, object]:
    """First polls with 0 and with 20 campaigns, alternating so drift hits both alike; medians and ratios."""
    campaigns = twenty_campaigns(shipped_config())
    server, base = start_server(feeds, FEED_ITEMS, 0.1)
    runs: dict[int, list[dict[str, float]]] = {0: [], 20: []}
    try:
        for _ in range(rounds):
            runs[0].append(ingest_once(base, feeds, ()))
            runs[20].append(ingest_once(base, feeds, campaigns))
    finally:
        server.terminate()
        server.wait(timeout=10)

    def med(n: int, key: str) -> float:
        return statistics.median(run[key] for run in runs[n])

    return {
        "feeds": feeds,
        "articles": int(runs[0][0]["articles"]),
        "rounds": rounds,
        "campaigns": len(campaigns),
        "wall_s": {"0": round(med(0, "wall_s"), 2), "20": round(med(20, "wall_s"), 2)},
        "wall_ratio": round(med(20, "wall_s") / med(0, "wall_s"), 3),
        "poller_cpu_s": {"0": round(med(0, "poller_cpu_s"), 2), "20": round(med(20, "poller_cpu_s"), 2)},
        "cpu_ratio": round(med(20, "poller_cpu_s") / med(0, "poller_cpu_s"), 3),
        "rounds_wall_s": {str(n): [round(r["wall_s"], 2) for r in runs[n]] for n in runs},
        "hook_lone_transaction_ms": hook_lone_transaction_ms(campaigns),
    }


def hook_lone_transaction_ms(campaigns: tuple[Campaign, ...]) -> float:
    """The after-insert hook for every campaign on one feed's 50 newest ids (what a lone transaction pays)."""
    registry = Registry()
    registry.replace(CAMPAIGN, compile_campaigns(replace(shipped_config(), campaigns=campaigns), now=END))
    conn = open_db(OUT / f"search-100000-v{GENERATOR_VERSION}.sqlite").conn
    newest = [row[0] for row in conn.execute("SELECT id FROM articles ORDER BY id DESC LIMIT 50")][::-1]

    def hook() -> None:
        conn.execute("BEGIN")
        registry.record_matches(conn, newest)
        conn.execute("ROLLBACK")

    try:
        return median_ms(hook)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 articles, a small ingest, one round")
    parser.add_argument("--articles", type=int, help="archive size for the report (default 1,000,000)")
    args = parser.parse_args(argv)
    n = args.articles or (50_000 if args.quick else 1_000_000)
    config = shipped_config()
    conn = open_db(tagged_archive(n, config)).conn
    reports = report_figures(conn, config)
    conn.close()
    ensure_db(OUT / f"search-100000-v{GENERATOR_VERSION}.sqlite", 100_000)
    ingest = ingest_figures(100 if args.quick else 1000, 1 if args.quick else 3)

    print(f"30-day report over {n:,} articles (medians of {RUNS} runs, ms)")
    print(
        f"{'campaign':<18} {'articles':>8} {'outlets':>7} {'numbers':>8} {'chart':>7} {'report+chart':>12} "
        f"{'PNG KB':>7} {'re-search count':>15}"
    )
    for r in reports["report_30d"]:
        print(
            f"{r['campaign']:<18} {r['articles_30d']:>8} {r['outlets']:>7} {r['numbers_ms']:>8} {r['chart_ms']:>7} "
            f"{r['report_with_chart_ms']:>12} {r['png_kb']:>7} {r['research_count_ms']:>15}"
        )
    print(
        f"/compare 30 days with its chart: {reports['compare_30d_ms']} ms; "
        f"XLSX export ({reports['export_campaign']}, 30 days): {reports['export_xlsx_30d_ms']} ms"
    )
    print(
        f"\ningest: first poll of {ingest['feeds']} feeds x {FEED_ITEMS} items (bench/poll.py), "
        f"medians of {ingest['rounds']}"
    )
    print(f"{'campaigns':<10} {'wall s':>8} {'poller CPU s':>13}")
    for key in ("0", "20"):
        print(f"{key:<10} {ingest['wall_s'][key]:>8} {ingest['poller_cpu_s'][key]:>13}")
    print(
        f"ratio 20/0: wall {ingest['wall_ratio']}, CPU {ingest['cpu_ratio']}; the hook for 20 campaigns "
        f"on a lone 50-article transaction: {ingest['hook_lone_transaction_ms']} ms"
    )
    print(
        json.dumps(
            {
                "bench": "report",
                "articles": n,
                **reports,
                "ingest": ingest,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
