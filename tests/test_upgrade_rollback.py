"""Rollback safety: migrations are forward-only, so an older mediabot refuses a database a newer one migrated.

The operator's rollback (README "Upgrade and rollback") is: restore the backup taken before the upgrade,
then run the previous image or checkout. Forgetting the restore must not let the old code read and write
tables it does not know: every command stops with one line naming the schema versions, and the database
is left exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.store.db import MIGRATIONS, open_db
from tests.cli import mediabot, one_line_error
from tests.conftest import BOT_TOKEN, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot

NEWER = len(MIGRATIONS) + 2


def _newer_database(path: Path) -> None:
    """A database as a newer mediabot leaves it: migrated past this code, with a table this code never made."""
    conn = open_db(path).conn
    conn.execute("CREATE TABLE future_feature (id INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("INSERT INTO future_feature (note) VALUES ('Đà Nẵng: bản nâng cấp')")
    conn.execute(f"PRAGMA user_version = {NEWER}")
    conn.close()


def _state(path: Path) -> tuple[int, list[tuple[str]], int, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (
            conn.execute("PRAGMA user_version").fetchone()[0],
            conn.execute("SELECT note FROM future_feature").fetchall(),
            conn.execute("SELECT count(*) FROM articles").fetchone()[0],
            conn.execute("SELECT count(*) FROM sources").fetchone()[0],
        )
    finally:
        conn.close()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        now = datetime.now(UTC)
        server.add("/tin.rss", rss("Báo Đồng Tháp", [("Chuyển đổi số ở Đồng Tháp", "Nội dung đầy đủ", now)]))
        yield server


def _config(tmp_path: Path, feeds: FeedServer) -> Path:
    data = config_dict(sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": feeds.url("/tin.rss")}])
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "args",
    [("poll", "--once"), ("search", "chuyển đổi số"), ("sources",), ("outbox",), ("health",), ("export-opml",)],
    ids=lambda args: args[0],
)
def test_every_command_refuses_a_database_from_a_newer_version(tmp_path: Path, feeds: FeedServer, args) -> None:
    db = tmp_path / "mediabot.db"
    _newer_database(db)
    before = _state(db)
    proc = mediabot(_config(tmp_path, feeds), db, *args)
    assert proc.returncode == 1
    # health speaks on stdout (Docker's HEALTHCHECK shows it); every other command on stderr
    line = proc.stdout.strip() if args[0] == "health" else one_line_error(proc)
    assert f"schema version {NEWER}, newer than this mediabot knows ({len(MIGRATIONS)})" in line
    assert "restore the backup" in line and str(db.name) in line
    assert "Traceback" not in proc.stdout + proc.stderr
    assert _state(db) == before
    assert feeds.hits("/tin.rss") == 0  # refused before any feed was fetched


@pytest.mark.e2e
def test_run_refuses_a_database_from_a_newer_version(tmp_path: Path, feeds: FeedServer) -> None:
    db = tmp_path / "mediabot.db"
    _newer_database(db)
    before = _state(db)
    with FakeTelegram(token=BOT_TOKEN) as fake:
        proc = start_bot(
            _config(tmp_path, feeds), db, bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake.url), tmp_path
        )
        try:
            code = proc.wait(timeout=60)
        finally:
            proc.kill()  # a no-op once it exited; on today's code it would keep serving
        calls = [call.method for call in fake.sent]
    err = (tmp_path / "stderr").read_text()
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert f"schema version {NEWER}" in lines[0] and "restore the backup" in lines[0]
    assert _state(db) == before
    assert feeds.hits("/tin.rss") == 0
    assert not [method for method in calls if method.startswith(("send", "edit"))], calls


def test_the_current_version_still_opens_its_own_database(tmp_path: Path, feeds: FeedServer) -> None:
    """The refusal is for newer schemas only: a database at this version polls and searches as before."""
    db = tmp_path / "mediabot.db"
    config = _config(tmp_path, feeds)
    assert mediabot(config, db, "poll", "--once").returncode == 0
    found = mediabot(config, db, "search", "chuyen doi so")
    assert found.returncode == 0 and "Chuyển đổi số ở Đồng Tháp" in found.stdout
