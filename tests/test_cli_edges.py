"""The command line's rough edges, as a new user meets them: one line on stderr, the right exit code.

Every command runs as a subprocess against real SQLite files and a feed server on 127.0.0.1.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import open_db
from tests.cli import ROOT, cli_env, mediabot, one_line_error
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer

NOW = datetime.now(UTC)
ONE_ITEM = rss("Báo Đồng Tháp", [("Đồng Tháp khởi công cầu Cao Lãnh", "Cầu mới nối đôi bờ", NOW - timedelta(hours=2))])


def source(source_id: str, url: str) -> dict[str, str]:
    return {"id": source_id, "name": f"Báo {source_id}", "url": url}


# ---------------------------------------------------------------- read-only commands


@pytest.mark.parametrize("command", [["search", "lũ"], ["sources"], ["export-opml"]])
def test_read_only_commands_refuse_a_missing_database(
    tmp_path: Path, write_config: ConfigWriter, command: list[str]
) -> None:
    db = tmp_path / "data" / "mediabot.db"
    proc = mediabot(write_config(), db, *command)
    assert proc.returncode == 1
    assert one_line_error(proc) == f"error: no database at {db} (run mediabot poll --once first)"
    assert not db.parent.exists()  # nothing created where the archive was expected


def test_health_without_database_is_unhealthy_and_creates_nothing(tmp_path: Path, write_config: ConfigWriter) -> None:
    db = tmp_path / "data" / "mediabot.db"
    proc = mediabot(write_config(), db, "health")
    assert proc.returncode == 1 and proc.stdout.startswith(f"unhealthy: no database at {db}")
    assert not db.parent.exists()


def test_health_with_a_broken_config_is_unhealthy_with_exit_1_never_2(tmp_path: Path) -> None:
    # Docker reserves a health check's exit 2; any other command says 2 for a bad config.
    bad = tmp_path / "feeds.yaml"
    bad.write_text("polling:\n  interval: mỗi giờ\n", encoding="utf-8")
    db = tmp_path / "mediabot.db"
    proc = mediabot(bad, db, "health")
    assert proc.returncode == 1
    assert one_line_error(proc).startswith(f"error: {bad}: organization")
    assert mediabot(bad, db, "check-config").returncode == 2


def test_sources_reads_without_writing(tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer) -> None:
    url = feed_server.add("/dt.rss", ONE_ITEM)
    db = tmp_path / "mediabot.db"
    assert mediabot(write_config(sources=[source("dongthap", url)]), db, "poll", "--once").returncode == 0
    before = _dump(db)
    edited = write_config(sources=[source("dongthap", url), source("cantho", "https://baocantho.com.vn/rss")])
    proc = mediabot(edited, db, "sources")
    assert proc.returncode == 0, proc.stderr
    outlets = [line.split()[0] for line in proc.stdout.splitlines() if not line.startswith(" ")]
    assert outlets == ["dongthap"]  # shown after the next poll
    assert _dump(db) == before


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.mark.parametrize("command", [["search", "lũ"], ["sources"], ["poll", "--once"], ["export-opml"]])
def test_a_folder_or_a_text_file_as_database_is_one_line(
    tmp_path: Path, write_config: ConfigWriter, command: list[str]
) -> None:
    text = tmp_path / "ghi-chu.txt"
    text.write_text("Không phải cơ sở dữ liệu\n" * 100, encoding="utf-8")
    for db in (tmp_path, text, text / "mediabot.db"):
        proc = mediabot(write_config(sources=[source("a", "https://a.example.vn/rss")]), db, *command)
        assert proc.returncode == 1 and str(db.parent if db.parent == text else db) in one_line_error(proc)
    assert text.read_text(encoding="utf-8").startswith("Không phải")


def test_health_answers_while_a_writer_holds_the_database(
    tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer
) -> None:
    config = write_config(sources=[source("dongthap", feed_server.add("/dt.rss", ONE_ITEM))])
    db = tmp_path / "mediabot.db"
    assert mediabot(config, db, "poll", "--once").returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")  # in WAL mode this keeps readers out too
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE feeds SET title = 'đang ghi'")
        # A health check has a deadline: the busy wait is seconds, where a writer's is 30 s.
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "health"],
            capture_output=True,
            text=True,
            timeout=20,
            cwd=ROOT,
            env=cli_env(),
        )
        searched = mediabot(config, db, "search", "Đồng Tháp")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 1 and proc.stdout.startswith("unhealthy: ") and "locked" in proc.stdout, proc
    assert searched.returncode == 1 and "locked" in one_line_error(searched)


# ---------------------------------------------------------------- output: files and pipes


def test_export_to_a_missing_folder_or_a_folder(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config()
    db = tmp_path / "mediabot.db"
    open_db(db).conn.close()
    target = tmp_path / "khong-co" / "nguon.opml"
    proc = mediabot(config, db, "export-opml", "-o", str(target))
    assert proc.returncode == 1 and one_line_error(proc).startswith(f"error: {target}: no such folder")
    proc = mediabot(config, db, "export-opml", "-o", str(tmp_path))
    assert proc.returncode == 1 and one_line_error(proc) == f"error: {tmp_path}: is a folder"


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """3,000 outlets and 3,000 articles: every listing is far larger than a pipe's 64 KB buffer."""
    tmp = tmp_path_factory.mktemp("big")
    config = tmp / "feeds.yaml"
    config.write_text("organization: {name: Sở TT&TT Đồng Tháp, timezone: Asia/Ho_Chi_Minh}\n", encoding="utf-8")
    outlines = "".join(f'<outline text="Báo số {i}" xmlUrl="https://bao{i}.example.vn/rss"/>' for i in range(3000))
    opml = tmp / "big.opml"
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    db = tmp / "mediabot.db"
    assert mediabot(config, db, "import-opml", str(opml)).returncode == 0
    articles = [
        Article(
            source_id="bao-so-1",
            url=f"https://bao1.example.vn/bai-{i}.html",
            guid=f"bai-{i}",
            title=f"Chuyển đổi số ở xã thứ {i}",
            summary="Người dân làm thủ tục trực tuyến, không phải đến ủy ban. " * 4,
            published_at=NOW - timedelta(minutes=i),
            fetched_at=NOW,
        )
        for i in range(3000)
    ]
    conn = open_db(db).conn
    store_articles(conn, [(articles, None)])
    conn.close()
    yield config, db


@pytest.mark.parametrize(
    ("command", "first"),
    [
        (["sources"], "bao-so-0 "),
        (["export-opml"], "<?xml"),
        (["search", "chuyển đổi số", "--limit", "3000", "--json"], '{"id": '),
    ],
)
def test_output_into_a_closed_pipe_ends_quietly(big_archive: tuple[Path, Path], command: list[str], first: str) -> None:
    config, db = big_archive
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=cli_env(),
    )
    assert proc.stdout and proc.stderr
    line = proc.stdout.readline().decode()  # what `| head -1` does: one line, then gone
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, stderr  # 128 + SIGPIPE, as the shell reports `seq 1e6 | head -1`
    assert line.startswith(first) and stderr == ""


# ---------------------------------------------------------------- arguments and environment


@pytest.mark.parametrize("limit", ["0", "-3", "mười"])
def test_limit_below_one_is_a_usage_error(tmp_path: Path, write_config: ConfigWriter, limit: str) -> None:
    proc = mediabot(write_config(), tmp_path / "mediabot.db", "search", "lũ", "--limit", limit)
    assert proc.returncode == 2 and "--limit" in one_line_error(proc)


def test_unknown_log_level_is_an_error(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config()
    proc = mediabot(config, tmp_path / "mediabot.db", "check-config", MEDIABOT_LOG_LEVEL="LOUD")
    assert proc.returncode == 2 and "MEDIABOT_LOG_LEVEL" in one_line_error(proc) and "LOUD" in proc.stderr
    proc = mediabot(config, tmp_path / "mediabot.db", "--log-level", "loud", "check-config")
    assert proc.returncode == 2 and "--log-level" in one_line_error(proc)
    proc = mediabot(config, tmp_path / "mediabot.db", "check-config", MEDIABOT_LOG_LEVEL="warning")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("content", ["sources: [\n", b"organization: {name: S\xe1o}\n", None])
def test_unreadable_config_is_one_line(tmp_path: Path, content: str | bytes | None) -> None:
    config = tmp_path / "feeds.yaml"
    if content is None:
        config.mkdir()
    elif isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content, encoding="utf-8")
    proc = mediabot(config, tmp_path / "mediabot.db", "check-config")
    assert proc.returncode == 2 and str(config) in one_line_error(proc)


# ---------------------------------------------------------------- counts and exit codes


def test_one_is_singular_everywhere(tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer) -> None:
    config = write_config(sources=[source("dongthap", feed_server.add("/dt.rss", ONE_ITEM))])
    db = tmp_path / "mediabot.db"
    polled = mediabot(config, db, "poll", "--once")
    assert polled.returncode == 0 and "polled 1 feed in " in polled.stdout and ": 1 new article;" in polled.stdout
    found = mediabot(config, db, "search", "cầu Cao Lãnh")
    assert found.stdout.startswith("1 article matches; showing 1\n"), found.stdout
    listed = mediabot(config, db, "sources")
    assert " 1 article  Báo dongthap" in listed.stdout and "articles" not in listed.stdout


def test_poll_fails_when_no_feed_answers(tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer) -> None:
    db = tmp_path / "mediabot.db"
    broken = [source("hong", feed_server.url("/status/500")), source("trang", feed_server.url("/html"))]
    proc = mediabot(write_config(sources=broken), db, "poll", "--once")
    assert proc.returncode == 1 and one_line_error(proc) == "error: every feed failed (2 of 2)"
    assert "FAILED hong" in proc.stdout and "FAILED trang" in proc.stdout
    health = mediabot(write_config(sources=broken), db, "health")
    assert health.returncode == 1
    assert health.stdout == "unhealthy: all 2 feeds checked in the last 1800s failed\n", health.stdout

    mixed = write_config(sources=[*broken, source("dongthap", feed_server.add("/dt.rss", ONE_ITEM))])
    assert mediabot(mixed, db, "poll", "--once").returncode == 0
    health = mediabot(mixed, db, "health")
    assert health.returncode == 0 and health.stdout.startswith("healthy: 3 feeds"), health.stdout


def test_poll_with_nothing_to_poll_says_so(tmp_path: Path, write_config: ConfigWriter) -> None:
    proc = mediabot(write_config(sources=[]), tmp_path / "mediabot.db", "poll", "--once")
    assert proc.returncode == 1 and "no active feeds to poll" in one_line_error(proc)


@pytest.mark.parametrize("query", ["", "   ", "since:7d", "source:dongthap", "-", "AND OR", '""'])
def test_search_with_nothing_to_search_never_tracebacks(tmp_path: Path, write_config: ConfigWriter, query: str) -> None:
    db = tmp_path / "mediabot.db"
    open_db(db).conn.close()
    proc = mediabot(write_config(), db, "search", query)
    assert "Traceback" not in proc.stderr
    assert (proc.returncode, proc.stdout) in ((0, "0 articles match; showing 0\n"), (2, "")), proc


def test_a_password_in_a_feed_url_is_never_printed(
    tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer
) -> None:
    # poll --once runs under cron or systemd: its stdout ends in the journal.
    password = "S3cretPassw0rd-đ"
    good = feed_server.add("/dt.rss", ONE_ITEM).replace("http://", f"http://press:{password}@")
    missing = feed_server.url("/khong-co.rss").replace("http://", f"http://press:{password}@")
    config = write_config(sources=[source("dongthap", good), source("auth", missing)])
    db = tmp_path / "mediabot.db"
    runs = [
        mediabot(config, db, "poll", "--once"),
        mediabot(config, db, "sources"),
        mediabot(config, db, "sources", "--json"),
    ]
    assert runs[0].returncode == 0 and "FAILED auth http://press:" in runs[0].stdout  # the failure is still named
    for proc in runs:
        assert password not in proc.stdout + proc.stderr, proc.args
    assert "http://press:[REDACTED]@127.0.0.1" in runs[1].stdout
