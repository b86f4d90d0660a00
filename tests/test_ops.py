"""Operations through the real `mediabot` command: backup (while another process writes), restore,
retention (`mediabot prune`, and daily inside `mediabot run`), stats, owner-only files."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.alerts.subscriptions import NewSubscription, insert_subscription
from bot.store.db import open_db
from tests.cli import ROOT, mediabot, one_line_error
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot, wait_until

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.now(VN)
OLD_TOPIC = "Lũ lụt năm xưa ở Đồng Tháp"  # only in articles past the retention
ORGANIZATION = "Sở Thông tin và Truyền thông Đồng Tháp"
CAMPAIGN = '"chuyển đổi số"'
CHATS = (7001, 7002)  # an instant and a daily subscription to the campaign's words


def items() -> list[tuple[str, str, datetime]]:
    """6 articles from 400+ days ago and 4 from the last minutes; every one a campaign and organization match."""
    old = [
        (
            f"{OLD_TOPIC}: chuyển đổi số kỳ {i}",
            f"{ORGANIZATION} tổng kết chuyển đổi số, kỳ {i}.",
            NOW - timedelta(days=400 + i),
        )
        for i in range(6)
    ]
    new = [
        (
            f"Chuyển đổi số ở Đồng Tháp: tin mới {i}",
            f"{ORGANIZATION} họp về chuyển đổi số, tin {i}.",
            NOW - timedelta(minutes=i),
        )
        for i in range(4)
    ]
    return old + new


def write_config(path: Path, server: FeedServer, **top: Any) -> Path:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/dongthap.rss")}],
        campaigns=[{"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": CAMPAIGN}],
        access={"admins": [CHATS[0]], "users": [CHATS[1]]},
    )
    path.write_text(yaml.safe_dump({**data, **top}, allow_unicode=True), encoding="utf-8")
    return path


def subscribe(db: Path) -> None:
    conn = open_db(db).conn
    try:
        for chat, mode, at in ((CHATS[0], "instant", None), (CHATS[1], "daily", "07:30")):
            new = NewSubscription(chat, None, "private", chat, "vi", "query", None, CAMPAIGN, CAMPAIGN, mode, at)
            insert_subscription(conn, new, 50, NOW)
    finally:
        conn.close()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(feeds.yaml with retention 365d, database): the 10 articles polled by `mediabot poll --once` with
    two subscriptions; the old ones first seen 400+ days ago, their alerts sent but one."""
    with FeedServer() as server:
        server.add("/dongthap.rss", rss("Báo Đồng Tháp", items()))
        config = write_config(tmp_path / "feeds.yaml", server, retention="365d")
        db = tmp_path / "data" / "mediabot.db"
        subscribe(db)
        done = mediabot(config, db, "poll", "--once")
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE articles SET fetched_ts = published_ts")  # as if polled back then
            conn.execute("UPDATE outbox SET status = 'sent' WHERE status = 'pending'")
            keep = conn.execute("SELECT min(id) FROM articles WHERE title LIKE 'Lũ lụt%'").fetchone()[0]
            conn.execute("UPDATE outbox SET status = 'pending' WHERE article_id = ?", (keep,))
        conn.close()
        yield config, db


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(db: Path, sql: str, *params: Any) -> int:
    return int(rows(db, sql, *params)[0][0])


def assert_consistent(db: Path) -> None:
    """integrity_check ok; every article has its FTS row and vice versa; nothing points at a missing article."""
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "SELECT id FROM articles ORDER BY id") == rows(db, "SELECT rowid FROM articles_fts ORDER BY rowid")
    for table in ("campaign_articles", "organization_articles", "digest_items", "outbox_also"):
        assert count(db, f"SELECT count(*) FROM {table} WHERE article_id NOT IN (SELECT id FROM articles)") == 0, table
    assert (
        count(
            db,
            "SELECT count(*) FROM outbox WHERE article_id IS NOT NULL AND article_id NOT IN (SELECT id FROM articles)",
        )
        == 0
    )
    assert count(db, "SELECT count(*) FROM stories WHERE id NOT IN (SELECT story_id FROM articles)") == 0


def search_titles(config: Path, db: Path, query: str) -> list[str]:
    done = mediabot(config, db, "search", query, "--json", "--limit", "100")
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["title"] for line in done.stdout.splitlines()]


def test_prune_deletes_old_articles_with_their_index_matches_and_sent_alerts(archive: tuple[Path, Path]) -> None:
    config, db = archive
    assert count(db, "SELECT count(*) FROM articles") == 10
    assert count(db, "SELECT count(*) FROM campaign_articles") == 10
    assert count(db, "SELECT count(*) FROM organization_articles") == 10
    assert count(db, "SELECT count(*) FROM digest_items") == 10
    assert len(search_titles(config, db, "lu lut nam xua")) == 6

    done = mediabot(config, db, "prune")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pruned 5 articles older than 365 days"
    kept = search_titles(config, db, "lu lut nam xua")  # folded query: the index entries went too
    assert kept == [f"{OLD_TOPIC}: chuyển đổi số kỳ 0"]  # its alert is still waiting to be sent
    assert count(db, "SELECT count(*) FROM articles") == 5
    assert count(db, "SELECT count(*) FROM campaign_articles") == 5
    assert count(db, "SELECT count(*) FROM organization_articles") == 5
    assert count(db, "SELECT count(*) FROM digest_items") == 5
    assert count(db, "SELECT count(*) FROM outbox WHERE kind = 'alert'") == 5
    assert_consistent(db)
    assert mediabot(config, db, "prune").stdout.strip() == "pruned 0 articles older than 365 days"


def test_prune_older_than_overrides_and_without_retention_is_one_line(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    config, db = archive
    bare = tmp_path / "bare.yaml"
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    del data["retention"]
    bare.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    refused = mediabot(bare, db, "prune")
    assert refused.returncode == 2
    assert "retention" in one_line_error(refused)
    assert count(db, "SELECT count(*) FROM articles") == 10

    done = mediabot(bare, db, "prune", "--older-than", "402d")  # kỳ 2..5 are older than 402 days
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pruned 4 articles older than 402 days"
    assert_consistent(db)


@pytest.mark.parametrize(
    ("value", "problem"),
    [("12h", "retention: must be at least 1d"), ("mãi mãi", "retention: not a duration"), ("10m", None)],
)
def test_retention_key_is_checked_at_start(tmp_path: Path, value: str, problem: str | None) -> None:
    with FeedServer() as server:
        config = write_config(tmp_path / "feeds.yaml", server, retention=value)
    done = mediabot(config, tmp_path / "db.sqlite", "check-config")
    if problem is None:  # 10m is ten minutes, also refused: shorter than a day
        assert done.returncode == 2 and "at least 1d" in one_line_error(done)
    else:
        assert done.returncode == 2
        assert problem in one_line_error(done)


def test_stats_json_counts_the_archive_database_outbox_and_subscriptions(archive: tuple[Path, Path]) -> None:
    config, db = archive
    done = mediabot(config, db, "stats", "--json", "--days", "3")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["articles"]["total"] == 10
    assert [day["date"] for day in stats["articles"]["per_day"]] == [
        (NOW - timedelta(days=n)).date().isoformat() for n in (2, 1, 0)
    ]
    assert sum(day["articles"] for day in stats["articles"]["per_day"]) == 4
    assert (
        stats["articles"]["oldest_published_at"][:10]
        == (NOW - timedelta(days=405)).astimezone(ZoneInfo("UTC")).date().isoformat()
    )
    assert stats["sources"] == [{"id": "baodongthap", "name": "Báo Đồng Tháp", "articles": 10, "articles_in_window": 4}]
    alerts = count(db, "SELECT count(*) FROM outbox WHERE status = 'sent'")
    assert stats["outbox"] == {"pending": 1, "sent": alerts, "failed": 0, "skipped": 0}
    assert stats["subscriptions"] == {"active": 2, "paused": 0}
    assert stats["database"]["file_bytes"] == db.stat().st_size
    assert stats["database"]["total_bytes"] == stats["database"]["file_bytes"] + stats["database"]["wal_bytes"]
    assert stats["retention_days"] == 365
    assert stats["days"] == 3

    text = mediabot(config, db, "stats", "--days", "3")
    assert text.returncode == 0, text.stderr
    assert "baodongthap" in text.stdout and "Báo Đồng Tháp" in text.stdout
    assert "retention 365 days" in text.stdout


_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from bot.models import Article
    from bot.store.db import open_db
    from bot.store.articles import store_articles

    db, stop = sys.argv[1], Path(sys.argv[2])
    conn = open_db(db).conn
    vn = timezone(timedelta(hours=7))
    batch = 0
    while not stop.exists():
        now = datetime.now(vn)
        articles = [
            Article("baodongthap", f"https://baodongthap.vn/ghi-lien-tuc-{batch}-{i}.html", f"g-{batch}-{i}",
                    f"Đồng Tháp ghi liên tục lô {batch} bài {i}", "Điện mặt trời, chuyển đổi số, đường sá.", now, now)
            for i in range(20)
        ]
        store_articles(conn, [(articles, None)])
        batch += 1
        if batch == 1:
            print("writing", flush=True)
    print(batch, flush=True)
    """
)


def test_backup_while_another_process_writes_is_consistent_and_owner_only(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    config, db = archive
    stop = tmp_path / "stop-writing"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(stop)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout and writer.stdout.readline().strip() == "writing"
        copies = [tmp_path / f"sao-luu-{n}.db" for n in range(3)]
        for copy in copies:
            done = mediabot(config, db, "backup", str(copy))
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith(f"backup written: {copy} ")
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    sizes = []
    for copy in copies:
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert_consistent(copy)
        sizes.append(count(copy, "SELECT count(*) FROM articles"))
        assert (count(copy, "SELECT count(*) FROM articles") - 10) % 20 == 0  # whole batches only
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0] > 10, "the backups did not overlap the writes"
    batches = int(out.split()[-1])
    assert count(db, "SELECT count(*) FROM articles") == 10 + 20 * batches > sizes[-1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_backup_refuses_to_overwrite_without_force_and_a_missing_folder(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    config, db = archive
    target = tmp_path / "sao-lưu.db"
    target.write_bytes(b"an older backup")
    refused = mediabot(config, db, "backup", str(target))
    assert refused.returncode == 1
    assert "exists already (add --force" in one_line_error(refused)
    assert target.read_bytes() == b"an older backup"

    forced = mediabot(config, db, "backup", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert count(target, "SELECT count(*) FROM articles") == 10

    missing = mediabot(config, db, "backup", str(tmp_path / "khong-co" / "x.db"))
    assert missing.returncode == 1
    assert "no such folder" in one_line_error(missing)


def test_backup_never_writes_through_files_planted_in_its_folder(archive: tuple[Path, Path], tmp_path: Path) -> None:
    # Someone who can write to the backups folder plants, for the next process ids, the temporary
    # names a backup used to pick (a 0644 file, a symlink to a victim), and a symlink as PATH.
    config, db = archive
    folder = tmp_path / "backups"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("không được ghi đè", encoding="utf-8")
    start = os.getpid()
    for pid in range(start, start + 400):
        planted = folder / f".sao-lưu.db.{pid}.tmp"
        if pid % 2:
            planted.symlink_to(victim)
        else:
            planted.write_bytes(b"")
            planted.chmod(0o644)
    target = folder / "sao-lưu.db"
    done = mediabot(config, db, "backup", str(target))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and not target.is_symlink()
    assert count(target, "SELECT count(*) FROM articles") == 10
    linked = folder / "link.db"
    linked.symlink_to(victim)
    assert mediabot(config, db, "backup", str(linked), "--force").returncode == 0
    assert not linked.is_symlink() and count(linked, "SELECT count(*) FROM articles") == 10
    assert victim.read_text(encoding="utf-8") == "không được ghi đè"


def test_restore_a_backup_to_a_new_path_then_search_finds_the_articles(
    archive: tuple[Path, Path], tmp_path: Path
) -> None:
    config, db = archive
    backup = tmp_path / "sao-luu.db"
    assert mediabot(config, db, "backup", str(backup)).returncode == 0
    restored = tmp_path / "may-moi" / "mediabot.db"
    restored.parent.mkdir()
    shutil.copy(backup, restored)  # the README's restore: stop, copy back, start

    assert len(search_titles(config, restored, "chuyen doi so")) == 10
    assert search_titles(config, restored, '"tin mới 3"') == ["Chuyển đổi số ở Đồng Tháp: tin mới 3"]
    assert mediabot(config, restored, "poll", "--once").returncode == 0  # writable: migrations, new fetches
    assert_consistent(restored)


def test_a_new_database_is_owner_only_in_an_owner_only_folder(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.add("/dongthap.rss", rss("Báo Đồng Tháp", items()))
        config = write_config(tmp_path / "feeds.yaml", server)
        db = tmp_path / "du-lieu" / "mediabot.db"
        assert mediabot(config, db, "poll", "--once").returncode == 0
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    conn = sqlite3.connect(db)  # SQLite creates -wal and -shm with the database's mode
    try:
        conn.execute("SELECT count(*) FROM articles").fetchone()
        for suffix in ("-wal", "-shm"):
            assert stat.S_IMODE(Path(f"{db}{suffix}").stat().st_mode) == 0o600, suffix
    finally:
        conn.close()


@pytest.mark.e2e
def test_run_prunes_at_start(archive: tuple[Path, Path], tmp_path: Path) -> None:
    config, db = archive
    with FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as telegram:
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=telegram.url)
        proc = start_bot(config, db, env, tmp_path)
        try:
            wait_until(lambda: count(db, "SELECT count(*) FROM articles") == 5, 60, "the old articles pruned")
        finally:
            proc.terminate()
            proc.wait(30)
    assert "pruned 5 articles" in (tmp_path / "stderr").read_text(encoding="utf-8")
    assert_consistent(db)


@pytest.mark.parametrize("days", ["800000", "99999999999", "3661"])
def test_stats_refuses_days_past_the_calendar_in_one_line(archive: tuple[Path, Path], days: str) -> None:
    config, db = archive
    refused = mediabot(config, db, "stats", "--days", days)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--days: at most 3660 days" in refused.stderr.strip().splitlines()[-1]
    assert mediabot(config, db, "stats", "--days", "3660", "--json").returncode == 0
