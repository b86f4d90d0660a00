"""Soak: `python bench/soak.py [--minutes 10] [--quick]` — `mediabot run` under steady load for minutes.

`mediabot run` (a subprocess, as in production) polls 200 local feeds (every 2 s) whose items
change every few seconds — new Vietnamese items made from the real feed samples in tests/data/feeds —
while 100 simulated users chat with it through the fake Bot API (Telegram's flood limits on):
questions, /search, /campaign, /subscriptions, /latest, and /subscribe. Each user follows one
topic at the start; a small share of the new items carry a topic, so every such item owes an
alert to that topic's followers (and nothing else does). Measured:

    errors         ERROR/CRITICAL/Traceback lines in the bot's log; Bot API calls refused (429s apart)
    memory         RSS of the bot and its parser workers, sampled every few seconds; growth from
                   just after the warm-up to the end (bound < 10 %)
    alert latency  the item appearing in its feed → the alert reaching the fake Bot API
                   (bound: the poll interval + 5 s = 7 s, as tests/test_alerts_e2e.py)
    replies        a user's message → the bot's first message back in that chat that is not an alert
    alerts         delivered vs owed (each owed one exactly once), articles stored

`--quick` runs 2 minutes. Prints a table; the LAST line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/soak.py`: bench/ and tests/ are not installed

import yaml  # noqa: E402

from bench.soak_world import TOPICS, Press, chat, corpus_texts  # noqa: E402
from tests.fakes.feed_server import FeedServer  # noqa: E402
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall  # noqa: E402

TOKEN = "7000002:AAH-soak-secret-token-for-bench_xyz"
INTERVAL_S = 2.0
LATENCY_BOUND_S = INTERVAL_S + 5.0
GROWTH_BOUND = 0.10
SAMPLE_S = 5.0
_SERIAL = re.compile(r"/tin-(\d+)\.html")


def alerts_sent(srv: FakeTelegram) -> list[tuple[int, int, float]]:
    """(chat, item serial, when) of every alert the fake accepted, in order."""
    found = []
    for call in srv.sent:
        match = _SERIAL.search(call.params.get("text", "")) if call.method == "sendMessage" else None
        if call.ok and match and is_alert(call):
            found.append((int(call.chat_id or 0), int(match.group(1)), call.at))
    return found


def is_alert(call: RecordedCall) -> bool:
    rows = call.params.get("reply_markup", {})
    rows = rows.get("inline_keyboard", []) if isinstance(rows, dict) else []
    return any(str(b.get("callback_data", "")).startswith("sub:mute:") for row in rows for b in row)


def reply_latencies(srv: FakeTelegram, users: set[int]) -> tuple[list[float], int]:
    """Per user message, seconds to the first non-alert bot message in its chat; and how many got none."""
    asked: dict[int, list[float]] = {}
    for timing in srv.update_latencies():
        if timing.chat_id in users:
            asked.setdefault(timing.chat_id, []).append(timing.enqueued_at)
    latencies = []
    for call in srv.sent:
        waiting = asked.get(call.chat_id) if isinstance(call.chat_id, int) else None
        if call.ok and call.message is not None and waiting and not is_alert(call) and waiting[0] < call.at:
            latencies.append(call.at - waiting.pop(0))
    return latencies, sum(len(w) for w in asked.values())


def process_tree(pid: int) -> tuple[int, int, int]:
    """RSS (kB), CPU seconds so far, and process count of `pid` and its descendants, from `ps`."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss=,times="], capture_output=True, text=True, check=True)
    rows = [tuple(int(x) for x in line.split()) for line in table.stdout.splitlines() if line.strip()]
    tree = {pid}
    for _ in range(4):  # the bot's children (parser workers) and any of theirs
        tree |= {p for p, parent, *_ in rows if parent in tree}
    mine = [row for row in rows if row[0] in tree]
    return sum(row[2] for row in mine), sum(row[3] for row in mine), len(mine)


def alert_stages(db: Path, press: Press, sent: dict[tuple[int, int], float]) -> dict[str, tuple[float, float]]:
    """Where an alert's time goes: appeared → fetched (poll schedule), → queued (fetch, parse, store:
    the outbox row's commit), → sent (delivery); p50 and p95 of each, in seconds."""
    wall_offset = time.time() - time.monotonic()  # the fake's and the press's clocks are monotonic
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT o.chat_id, a.url, a.fetched_ts, o.created_ts FROM outbox o JOIN articles a ON a.id = o.article_id"
        ).fetchall()
    finally:
        conn.close()
    stages: dict[str, list[float]] = {"poll": [], "store": [], "deliver": []}
    for chat_id, url, fetched_ts, created_ts in rows:
        match = _SERIAL.search(url)
        key = (chat_id, int(match.group(1))) if match else None
        if key is None or key not in sent or key[1] not in press.appeared:
            continue
        appeared = press.appeared[key[1]] + wall_offset
        stages["poll"].append(fetched_ts + 0.5 - appeared)  # fetched_ts is whole seconds
        stages["store"].append(created_ts - fetched_ts - 0.5)
        stages["deliver"].append(sent[key] + wall_offset - created_ts)
    return {name: (pct(values, 0.5), pct(values, 0.95)) for name, values in stages.items()}


def log_errors(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3) if ordered else float("nan")


def write_config(tmp: Path, server: FeedServer, press: Press, users: list[int]) -> Path:
    data = {
        "organization": {"name": "Sở Thông tin và Truyền thông tỉnh Đồng Tháp", "timezone": "Asia/Ho_Chi_Minh"},
        "polling": {
            "interval": f"{INTERVAL_S:g}s",
            "min_interval": "1s",
            "max_interval": f"{INTERVAL_S:g}s",
            "timeout": "5s",
            "per_host": 16,
            "allow_private_networks": True,
        },
        "sources": [
            {"id": f"bao{n:03d}", "name": f"Báo số {n}", "url": server.url(press.path(n)), "interval": "2s"}
            for n in range(press.feeds)
        ],
        "campaigns": [{"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"chuyển đổi số"'}],
        "access": {"mode": "private", "admins": [users[0]], "users": users[1:], "chats": []},
    }
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def count_articles(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"soak: timed out waiting for {what}")
        threading.Event().wait(0.2)


@dataclass
class Soak:
    """One run: servers, the bot process, the simulated press and people, and what was sampled."""

    args: argparse.Namespace
    tmp: Path
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds into load, kB, processes)
    cpu: list[tuple[float, int]] = field(default_factory=list)  # (seconds into load, CPU seconds of the bot)

    def run(self) -> dict[str, Any]:
        with FeedServer(record=False) as server, FakeTelegram(token=TOKEN) as srv:
            srv.flood_limits = True
            users = [srv.user(30_000 + i, f"Cán bộ {i}", language_code="vi") for i in range(self.args.users)]
            alert_rate = self.args.alerts_per_s / (len(users) / len(TOPICS))  # topic items per second
            press = Press(server, self.args.feeds, self.args.change_every, 0.0, corpus_texts())
            press.topic_share = min(1.0, alert_rate * self.args.change_every / self.args.feeds)
            press.start_feeds()
            db = self.tmp / "data" / "mediabot.db"
            cfg = write_config(self.tmp, server, press, [u.id for u in users])
            proc = self._start_bot(cfg, db, srv)
            try:
                srv.wait_for_polling(timeout=60)
                wait_for(lambda: count_articles(db) >= 10 * press.feeds, 120, "the backlog stored")
                self._subscribe(srv, users)
                figures = self._load(srv, press, users, proc.pid, db)
            except BaseException:
                print((self.tmp / "bot.log").read_text(errors="replace")[-3000:], file=sys.stderr)
                raise
            finally:
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(60)
            figures["exit_code"] = code
            figures.update(self._judge(srv, press, users, figures))
        return figures

    def _start_bot(self, cfg: Path, db: Path, srv: FakeTelegram) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "MEDIABOT_"))}
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=srv.url)
        command = [sys.executable, "-m", "bot", "--config", str(cfg), "--db", str(db), "run"]
        with (self.tmp / "bot.log").open("wb") as log:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _subscribe(self, srv: FakeTelegram, users: list[FakeUser]) -> None:
        """Every user follows one topic; wait until each is confirmed."""
        asked = [(u, srv.send_text(u, f'/subscribe "{TOPICS[i % len(TOPICS)]}"')) for i, u in enumerate(users)]
        for user, message_id in asked:
            reply = srv.wait_for_message(user, after=message_id, timeout=120)
            if "🔔" not in (reply.text or ""):
                raise SystemExit(f"soak: /subscribe was refused: {reply.summary()}")

    def _load(self, srv: FakeTelegram, press: Press, users: list[FakeUser], pid: int, db: Path) -> dict[str, Any]:
        stop = threading.Event()
        started = time.monotonic()
        self.first_serial = press.serial + 1
        threads = [
            threading.Thread(target=press.run, args=(stop,), name="press", daemon=True),
            threading.Thread(target=lambda: self._chat(srv, users, stop), name="users", daemon=True),
        ]
        for thread in threads:
            thread.start()
        end = started + self.args.minutes * 60
        articles_at_start = count_articles(db)
        while (now := time.monotonic()) < end:
            kb, cpu_s, processes = process_tree(pid)
            self.samples.append((now - started, kb, processes))
            self.cpu.append((now - started, cpu_s))
            print(f"  {now - started:6.0f} s  rss {kb / 1024:7.1f} MB in {processes} processes", file=sys.stderr)
            threading.Event().wait(min(SAMPLE_S, end - now))
        stop.set()
        for thread in threads:
            thread.join(30)
        owed = self._owed(press, users)
        drained = time.monotonic()
        deadline = drained + 60
        while time.monotonic() < deadline and not owed <= set(self._delivered(srv)):
            threading.Event().wait(0.5)
        return {
            "load_s": round(drained - started, 1),
            "drain_s": round(time.monotonic() - drained, 1),
            "articles_stored": count_articles(db) - articles_at_start,
            "items_published": press.serial - self.first_serial + 1,
        }

    def _chat(self, srv: FakeTelegram, users: list[FakeUser], stop: threading.Event) -> None:
        self.messages = chat(srv, users, self.args.act_every, stop)

    def _owed(self, press: Press, users: list[FakeUser]) -> set[tuple[int, int]]:
        """(chat, serial) of every alert owed: each topic item to each follower of its topic."""
        followers: dict[int, list[int]] = {}
        for i, user in enumerate(users):
            followers.setdefault(i % len(TOPICS), []).append(user.id)
        return {(chat, s) for s, topic in press.topic_of.items() for chat in followers.get(topic, [])}

    @staticmethod
    def _delivered(srv: FakeTelegram) -> Counter[tuple[int, int]]:
        return Counter((chat, serial) for chat, serial, _ in alerts_sent(srv))

    def _judge(self, srv: FakeTelegram, press: Press, users: list[FakeUser], figures: dict[str, Any]) -> dict[str, Any]:
        owed, got = self._owed(press, users), self._delivered(srv)
        first_alert: dict[tuple[int, int], float] = {}
        for chat_id, serial, at in alerts_sent(srv):
            first_alert.setdefault((chat_id, serial), at)
        latencies = [first_alert[key] - press.appeared[key[1]] for key in owed if key in first_alert]
        stages = alert_stages(self.tmp / "data" / "mediabot.db", press, first_alert)
        replies, unanswered = reply_latencies(srv, {u.id for u in users})
        refused = [c.summary() for c in srv.sent if c.error_code is not None and c.error_code != 429]
        warm = min(self.args.warmup * 60, self.args.minutes * 60 / 4)
        after_warm = [kb for at, kb, _ in self.samples if warm <= at < warm + 60] or [self.samples[-1][1]]
        last = [kb for at, kb, _ in self.samples if at >= self.samples[-1][0] - 60]
        growth = statistics.median(last) / statistics.median(after_warm) - 1
        errors = log_errors(self.tmp / "bot.log")
        return {
            "log_errors": len(errors),
            "log_error_lines": errors[:5],
            "refused_calls": len(refused),
            "telegram_429s": sum(1 for c in srv.sent if c.error_code == 429),
            "rss_mb_after_warmup": round(statistics.median(after_warm) / 1024, 1),
            "rss_mb_end": round(statistics.median(last) / 1024, 1),
            "rss_mb_max": round(max(kb for _, kb, _ in self.samples) / 1024, 1),
            "processes_max": max(p for *_, p in self.samples),
            "bot_cpu_cores": round((self.cpu[-1][1] - self.cpu[0][1]) / max(1.0, self.cpu[-1][0] - self.cpu[0][0]), 2),
            "rss_growth_pct": round(100 * growth, 2),
            "alerts_owed": len(owed),
            "alerts_delivered": sum(1 for key in owed if key in got),
            "alerts_duplicated": sum(n - 1 for key, n in got.items() if key in owed),
            "alerts_unowed": sum(n for key, n in got.items() if key not in owed),
            "alert_p50_s": pct(latencies, 0.5),
            "alert_p95_s": pct(latencies, 0.95),
            "alert_max_s": pct(latencies, 1.0),
            "alert_stages_p50_p95_s": stages,
            "user_messages": self.messages + len(users),
            "reply_p50_s": pct(replies, 0.5),
            "reply_p95_s": pct(replies, 0.95),
            "replies_missing": unanswered,
        }


def verdict(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        "no_errors": figures["log_errors"] == 0 and figures["refused_calls"] == 0 and figures["exit_code"] == 0,
        "memory": figures["rss_growth_pct"] < 100 * GROWTH_BOUND,
        "alert_latency": figures["alert_p95_s"] <= LATENCY_BOUND_S,
        "alerts_complete": figures["alerts_delivered"] == figures["alerts_owed"] > 0,
        "replies_complete": figures["replies_missing"] == 0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load (default 10)")
    parser.add_argument("--quick", action="store_true", help="2 minutes, to try it out")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--change-every", type=float, default=6.0, help="mean seconds between a feed's items")
    parser.add_argument("--act-every", type=float, default=30.0, help="mean seconds between a user's messages")
    parser.add_argument("--alerts-per-s", type=float, default=4.0, help="alerts owed per second, on average")
    parser.add_argument("--warmup", type=float, default=2.0, help="minutes before memory growth is counted")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 2.0
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        figures = Soak(args, Path(tmp)).run()
    checks = verdict(figures)
    rows = [
        ("load (minutes)", f"{figures['load_s'] / 60:.1f}", ""),
        ("items published / articles stored", f"{figures['items_published']} / {figures['articles_stored']}", ""),
        (
            "log errors, refused calls, exit code",
            f"{figures['log_errors']}, {figures['refused_calls']}, {figures['exit_code']}",
            "0, 0, 0",
        ),
        ("RSS after warm-up → end (MB)", f"{figures['rss_mb_after_warmup']} → {figures['rss_mb_end']}", ""),
        ("RSS growth", f"{figures['rss_growth_pct']} %", f"< {100 * GROWTH_BOUND:g} %"),
        (
            "alert latency p50 / p95 / max (s)",
            f"{figures['alert_p50_s']} / {figures['alert_p95_s']} / {figures['alert_max_s']}",
            f"p95 ≤ {LATENCY_BOUND_S:g}",
        ),
        (
            "  appeared→fetched, →queued, →sent p50/p95",
            ", ".join(f"{a}/{b}" for a, b in figures["alert_stages_p50_p95_s"].values()),
            "",
        ),
        (
            "alerts delivered / owed (dup, unowed)",
            f"{figures['alerts_delivered']} / {figures['alerts_owed']} "
            f"({figures['alerts_duplicated']}, {figures['alerts_unowed']})",
            "all, 0, 0",
        ),
        (
            "reply p50 / p95 (s), missing",
            f"{figures['reply_p50_s']} / {figures['reply_p95_s']}, "
            f"{figures['replies_missing']} of {figures['user_messages']}",
            "",
        ),
        ("429 answers", str(figures["telegram_429s"]), ""),
        ("bot CPU (cores, workers included)", str(figures["bot_cpu_cores"]), "of 2"),
    ]
    for name, value, bound in rows:
        print(f"{name:<40} {value:<28} {bound}", file=sys.stderr)
    for line in figures["log_error_lines"]:
        print(f"  log: {line}", file=sys.stderr)
    result = {"bench": "soak", **vars(args), "loadavg_before": [round(x, 2) for x in load], **figures}
    result.update(
        checks=checks, meets_bounds=all(checks.values()), loadavg_after=[round(x, 2) for x in os.getloadavg()]
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
