"""Articles whose feed gave no date: marked as such, and a new outlet's undated backlog never
tops /latest. Real parts: the local feed server, the poller, a SQLite file, the PTB
application against the fake Bot API, and the `mediabot` CLI as a subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml

from bot.config import Config, load_config
from bot.store.articles import DATED, UNDATED_BACKLOG, UNDATED_SEEN
from bot.store.db import MIGRATIONS, _statements, open_db
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_handlers import LAN, TZ, BotThread, ask, assert_valid, populate

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
SITE = "https://baophutho.example.vn"
BACKLOG = ["Lễ hội Đền Hùng năm xưa", "Đặc sản bưởi Đoan Hùng"]  # a page holds 5


def undated_rss(titles: list[str]) -> bytes:
    """RSS whose items have no pubDate (as some provincial sites publish)."""
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{SITE}/tu-lieu-{zlib.crc32(title.encode())}.html</link>"
        f"<description>{escape(title)}: tư liệu của phóng viên.</description></item>"
        for title in titles
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Tư liệu</title>'
        f"<link>{SITE}/</link><description>Tư liệu</description>{items}</channel></rss>"
    ).encode()


def stored_flags(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT title, undated FROM articles").fetchall())
    finally:
        conn.close()


def write_config(tmp: Path, server: FeedServer) -> Config:
    sources = [
        {"id": "baophutho", "name": "Báo Phú Thọ", "urls": [server.url("/tin.rss"), server.url("/tu-lieu.rss")]},
        {"id": "baocantho", "name": "Báo Cần Thơ", "url": server.url("/cantho.rss")},
    ]
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(config_dict(sources=sources, access={"users": [LAN]}), allow_unicode=True))
    return load_config(path)


def test_a_new_outlets_undated_backlog_stays_below_dated_news(tmp_path: Path) -> None:
    now = datetime.now(TZ)
    dated = [("Phú Thọ khai mạc tuần văn hóa", "Tuần văn hóa đất Tổ.", now - timedelta(hours=3))]
    elsewhere = [("Cần Thơ mở hội chợ nông sản", "Hội chợ nông sản Nam Bộ.", now - timedelta(days=2))]
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        server.add("/tin.rss", rss("Báo Phú Thọ", dated, site=SITE))
        server.add("/tu-lieu.rss", undated_rss(BACKLOG))
        server.add("/cantho.rss", rss("Báo Cần Thơ", elsewhere, site="https://baocantho.example.vn"))
        config, db = write_config(tmp_path, server), tmp_path / "mediabot.db"
        populate(config, db)  # the outlet's first fetch: the undated feed's whole backlog
        assert stored_flags(db) == {"Phú Thọ khai mạc tuần văn hóa": 0, "Cần Thơ mở hội chợ nông sản": 0} | {
            title: UNDATED_BACKLOG for title in BACKLOG
        }
        server.add("/tu-lieu.rss", undated_rss(["Phú Thọ đón bằng di sản mới", *BACKLOG]))
        populate(config, db)  # a new undated item in a feed already watched: first seen now
        assert stored_flags(db)["Phú Thọ đón bằng di sản mới"] == UNDATED_SEEN
        with BotThread(srv, config, db):
            reply = ask(srv, srv.user(LAN, "Lan", language_code="vi"), "/latest")
    assert_valid(reply)
    lines = reply.text.splitlines()
    titles = [line.split(". ", 1)[1] for line in lines if line[:1].isdigit()]
    assert titles == [
        "Phú Thọ đón bằng di sản mới",
        "Phú Thọ khai mạc tuần văn hóa",
        "Cần Thơ mở hội chợ nông sản",
        *reversed(BACKLOG),  # among themselves: the last stored first
    ]
    whens = [line.rsplit(" · ", 1)[1] for line in lines if " · " in line]
    assert whens[0] == whens[-1] == "không rõ ngày"
    assert whens[1] != "không rõ ngày" and len(whens) == len(titles)
    out = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config.path), "--db", str(db), "search", "Phú Thọ", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = {row["title"]: row for row in map(json.loads, out.splitlines())}
    assert rows["Phú Thọ khai mạc tuần văn hóa"]["dated"] is True
    undated = rows["Phú Thọ đón bằng di sản mới"]
    # published_at stays: the time it was first seen (stored to the second), after the test began
    assert undated["dated"] is False and datetime.fromisoformat(undated["published_at"]) >= now.replace(microsecond=0)


def test_articles_stored_before_the_flag_existed_count_as_dated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _statements(MIGRATIONS[0]):  # a database of the first schema, with one article
        conn.execute(statement)
    conn.execute("INSERT INTO sources (id, name, created_at) VALUES ('baophutho', 'Báo Phú Thọ', '2026-01-01')")
    conn.execute(
        "INSERT INTO articles (source_id, url, url_key, guid, title, published_at, published_ts, fetched_ts)"
        " VALUES ('baophutho', 'https://baophutho.vn/a', 'baophutho.vn/a', 'a', 'Đền Hùng', '2026-01-01', 1, 1)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    db = open_db(path)
    assert db.conn.execute("SELECT title, undated FROM articles").fetchall() == [("Đền Hùng", DATED)]
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.conn.close()
