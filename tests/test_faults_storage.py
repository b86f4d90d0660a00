"""Storage faults with real second processes: a database locked by another process, a full disk,
and `kill -9` in the middle of storing a poll."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.runtime import Runtime
from tests.cli import ROOT, mediabot, one_line_error
from tests.conftest import config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.test_bot_e2e import wait_until
from tests.test_hostile_ingest import _alive, _descendants
from tests.test_ops import VN, assert_consistent, count

CAMPAIGN_MATCH = '{title body}: "Đồng Tháp"'  # what the campaign below matches (accents given: exact columns)


def write_config(path: Path, sources: list[dict[str, str]], **top: object) -> Path:
    data = config_dict(
        sources=sources, campaigns=[{"id": "dong-thap", "name": "Đồng Tháp", "query": '"Đồng Tháp"'}], **top
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def news(n: int, words: int = 40) -> bytes:
    """`n` Vietnamese items of about `words` words each, dated within the last hours."""
    now = datetime.now(VN)
    body = " ".join(["Người dân Đồng Tháp đón nhận chuyển đổi số, điện mặt trời và đường sá mới."] * (words // 12 + 1))
    return rss(
        "Báo Đồng Tháp", [(f"Tin Đồng Tháp số {i}: đường sá", body, now - timedelta(minutes=i)) for i in range(n)]
    )


@contextmanager
def locked(db: Path, *, readers_too: bool = False) -> Iterator[None]:
    """Another process holds the write lock (with `readers_too`, EXCLUSIVE locking mode: reads wait too)."""
    mode = "c.execute('PRAGMA locking_mode = EXCLUSIVE');" if readers_too else ""
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
        f"{mode} c.execute('BEGIN EXCLUSIVE'); c.execute('CREATE TABLE IF NOT EXISTS held (x)');"
        "print('locked', flush=True); sys.stdin.read(); c.execute('ROLLBACK')"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin
        holder.stdin.close()
        holder.wait(30)


@pytest.fixture
def polled(tmp_path: Path) -> Iterator[tuple[FeedServer, Path, Path]]:
    """(feed server, feeds.yaml, database) after one `mediabot poll --once` of 5 articles."""
    with FeedServer() as server:
        server.add("/dongthap.rss", news(5))
        config = write_config(tmp_path / "feeds.yaml", [{"id": "baodongthap", "url": server.url("/dongthap.rss")}])
        db = tmp_path / "data" / "mediabot.db"
        assert mediabot(config, db, "poll", "--once").returncode == 0
        yield server, config, db


def test_a_command_waits_for_a_locked_database_a_bounded_time_then_says_so(
    polled: tuple[FeedServer, Path, Path],
) -> None:
    server, config, db = polled
    server.add("/dongthap.rss", news(8))  # three new articles to store
    with locked(db):
        started = time.monotonic()
        done = mediabot(config, db, "poll", "--once")
        elapsed = time.monotonic() - started
    assert done.returncode == 1
    line = one_line_error(done)
    assert re.fullmatch(r"error: .*mediabot\.db: the database is locked by another process \(waited [4-9]s\); .*", line)
    assert elapsed < 25, f"waited {elapsed:.0f}s"  # busy_timeout 5s, not SQLite's 30s
    assert count(db, "SELECT count(*) FROM articles") == 5
    again = mediabot(config, db, "poll", "--once")  # the lock is gone: nothing was lost
    assert again.returncode == 0, again.stderr
    assert count(db, "SELECT count(*) FROM articles") == 8


def test_busy_timeout_is_configurable(polled: tuple[FeedServer, Path, Path], tmp_path: Path) -> None:
    server, _config, db = polled
    quick = write_config(
        tmp_path / "quick.yaml", [{"id": "baodongthap", "url": server.url("/dongthap.rss")}], busy_timeout="1s"
    )
    with locked(db):
        done = mediabot(quick, db, "prune", "--older-than", "30d")
    assert done.returncode == 1
    assert "locked by another process (waited 1s)" in one_line_error(done)


def test_health_answers_within_the_docker_timeout_while_the_database_is_busy(
    polled: tuple[FeedServer, Path, Path],
) -> None:
    _server, config, db = polled
    timeout = int(re.search(r"HEALTHCHECK .*--timeout=(\d+)s", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]
    with locked(db):  # a writer: WAL readers carry on
        started = time.monotonic()
        writing = mediabot(config, db, "health")
        assert time.monotonic() - started < timeout
    assert writing.returncode == 0, writing.stdout
    assert writing.stdout.startswith("healthy:")
    with locked(db, readers_too=True):  # nobody may even read: say so, within the time
        started = time.monotonic()
        blocked = mediabot(config, db, "health")
        assert time.monotonic() - started < timeout
    assert blocked.returncode == 1
    assert blocked.stdout.startswith("unhealthy:") and "locked" in blocked.stdout
    assert "Traceback" not in blocked.stdout + blocked.stderr


def test_the_run_writer_waits_out_a_lock_and_loses_no_article(
    polled: tuple[FeedServer, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, config_path, db = polled
    server.add("/dongthap.rss", news(12))
    config = load_config(config_path)

    async def scenario() -> int:
        runtime = Runtime(config, db, patient=True)
        await runtime.start()
        try:
            with locked(db):
                poll = asyncio.create_task(runtime.poller.poll(only_due=False))  # type: ignore[union-attr]
                await _until(lambda: "locked by another process" in caplog.text, 30, "the writer to meet the lock")
                assert not poll.done()
            report = await asyncio.wait_for(poll, 60)
            assert not report.failed
            return report.new_articles
        finally:
            await runtime.aclose()

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(scenario()) == 7
    assert count(db, "SELECT count(*) FROM articles") == 12
    assert_consistent(db)


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def limit_pages(conn: sqlite3.Connection, extra: int | None) -> None:
    """SQLite's own size cap on this file: past it every write fails with SQLITE_FULL, as on a full disk."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages + extra if extra is not None else 1073741823}")


def test_a_full_disk_is_one_clear_error_nothing_half_stored_and_recovers(
    polled: tuple[FeedServer, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, config_path, db = polled
    server.add("/dongthap.rss", news(300, words=200))  # ~400 KB of new text and index
    config = load_config(config_path)

    async def scenario() -> tuple[list[str], int]:
        runtime = Runtime(config, db)
        await runtime.start()
        try:
            await runtime.write(limit_pages, 4)
            full = await runtime.poller.poll(only_due=False)  # type: ignore[union-attr]
            stored_while_full = count(db, "SELECT count(*) FROM articles")
            assert_consistent(db)
            await runtime.write(limit_pages, None)  # space again
            recovered = await runtime.poller.poll(only_due=False)  # type: ignore[union-attr]
            assert not recovered.failed
            return [o.error or "" for o in full.failed], stored_while_full
        finally:
            await runtime.aclose()

    with caplog.at_level(logging.INFO):
        errors, stored_while_full = asyncio.run(scenario())
    assert len(errors) == 1 and "the disk is full" in errors[0] and "nothing was half-stored" in errors[0]
    assert stored_while_full == 5
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert count(db, "SELECT count(*) FROM articles") == 300
    assert_consistent(db)


def test_run_does_not_refetch_a_feed_every_second_while_the_disk_is_full(
    polled: tuple[FeedServer, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, config_path, db = polled
    server.add("/dongthap.rss", news(300, words=200))
    config = load_config(config_path)

    async def scenario() -> tuple[int, int]:
        runtime = Runtime(config, db, patient=True)
        await runtime.start()
        stop = asyncio.Event()
        try:
            await runtime.write(limit_pages, 4)
            await runtime.write(lambda conn: conn.execute("UPDATE feeds SET next_check_ts = 0"))
            loop = asyncio.create_task(runtime.poller.run(stop))  # type: ignore[union-attr]
            await _until(lambda: "the disk is full" in caplog.text, 30, "the store to fail")
            first = server.hits("/dongthap.rss")
            # An observation window: without the pause the loop re-polls a due feed every second.
            await asyncio.sleep(4)
            again = server.hits("/dongthap.rss")
            stop.set()
            await asyncio.wait_for(loop, 30)
            return first, again
        finally:
            await runtime.aclose()

    with caplog.at_level(logging.ERROR):
        first, again = asyncio.run(scenario())
    assert again == first == 2  # the fixture's poll and the one that met the full disk
    assert_consistent(db)


def test_kill_9_during_polls_leaves_a_consistent_database_and_no_worker(tmp_path: Path) -> None:
    rounds = 6
    with FeedServer(feeds=40, items=50) as server:
        sources = [{"id": f"bao{n}", "url": server.url(f"/gen/{n}.rss")} for n in range(40)]
        config, db = write_config(tmp_path / "feeds.yaml", sources), tmp_path / "mediabot.db"
        rng = random.Random(9)
        for n in range(rounds):
            server.epoch = 50 * n  # every feed: 50 new articles this round
            before = count(db, "SELECT count(*) FROM articles") if db.exists() else 0
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "poll", "--once"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                wait_until(lambda: db.exists() and _stored(db) > before, 60, "a first stored batch")  # noqa: B023
                threading.Event().wait(rng.uniform(0, 0.3))  # somewhere in the rest of the round
                workers = _descendants(proc.pid)
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                proc.kill()
                proc.wait(10)
            wait_until(lambda: not any(_alive(pid) for pid in workers), 10, "the parser workers to die")  # noqa: B023
            assert_consistent(db)
            matched = count(db, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", CAMPAIGN_MATCH)
            assert count(db, "SELECT count(*) FROM campaign_articles") == matched
        for n in range(rounds):  # polls of every round's feeds store whatever the kills cut short
            server.epoch = 50 * n
            done = mediabot(config, db, "poll", "--once")
            assert done.returncode == 0, done.stderr
    assert count(db, "SELECT count(*) FROM articles") == 40 * 50 * rounds
    assert_consistent(db)


def _stored(db: Path) -> int:
    try:
        return count(db, "SELECT count(*) FROM articles")
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
