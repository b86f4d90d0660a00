"""`mediabot import-opml` adds outlets exactly as `/addsource` does, and the CLI runs no SQL of its own.

The command runs as a subprocess against real SQLite files; `/addsource` runs through
AdminService on a real Runtime fetching from a feed server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from bot.config import load_config
from bot.runtime import Runtime
from bot.services.admin import AdminService
from tests.cli import ROOT, mediabot, one_line_error
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer

ADMIN = 4242
CAN_THO = {"id": "baocantho", "name": "Báo Cần Thơ", "url": "https://www.baocantho.com.vn/rss/home.rss"}


def opml(path: Path, body: str) -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head/><body>{body}</body></opml>',
        encoding="utf-8",
    )
    return path


def outline(title: str, url: str | None = None, inner: str = "") -> str:
    attrs = f"text={quoteattr(title)}" + (f" xmlUrl={quoteattr(url)}" if url is not None else "")
    return f"<outline {attrs}>{inner}</outline>"


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_import_reports_every_entry_and_audits_each_added_source(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config(sources=[CAN_THO])  # not polled yet: only feeds.yaml knows it
    nfd_title = unicodedata.normalize("NFD", "Báo Đồng Tháp")
    file = opml(
        tmp_path / "bao-chi.opml",
        outline(
            "Tin tỉnh",
            inner=outline(nfd_title, "https://baodongthap.vn/rss/thoi-su.rss")
            + outline("Cần Thơ", "http://baocantho.com.vn/rss/home.rss"),
        )
        + outline("Đồng Tháp (bản sao)", "https://www.baodongthap.vn/rss/thoi-su.rss?utm_source=zalo")
        + outline("Kho tệp", "ftp://files.example.vn/feed.xml")
        + outline("Mục lục trống")
        + outline("", "https://dantri.com.vn/rss/home.rss"),
    )
    db = tmp_path / "data" / "mediabot.db"
    proc = mediabot(config, db, "import-opml", str(file))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{file}: 6 entries: 2 added, 4 skipped"
    assert "  + bao-dong-thap  Báo Đồng Tháp  https://baodongthap.vn/rss/thoi-su.rss" in lines
    assert "  + dantri-com-vn  https://dantri.com.vn/rss/home.rss  https://dantri.com.vn/rss/home.rss" in lines
    skipped = {line.split(": ")[-1] for line in lines if line.startswith("  - skipped ")}
    assert skipped == {
        "duplicate of source baocantho",
        "duplicate of an earlier entry in this file (Báo Đồng Tháp)",
        "not an http(s) URL",
        "no xmlUrl",
    }
    stored = rows(db, "SELECT id, name, origin, tags FROM sources ORDER BY id")
    assert stored == [
        ("bao-dong-thap", "Báo Đồng Tháp", "opml", '["tin-tinh"]'),
        ("dantri-com-vn", "dantri.com.vn", "opml", "[]"),
    ]
    assert rows(db, "SELECT count(*) FROM feeds WHERE next_check_ts = 0")[0][0] == 2  # due at once, like /addsource
    audit = rows(db, "SELECT actor_id, action, target, detail FROM audit ORDER BY id")
    assert audit == [(None, "source.add", sid, f"opml:{file}") for sid in ("bao-dong-thap", "dantri-com-vn")]

    again = mediabot(config, db, "import-opml", str(file))
    assert again.returncode == 0 and f"{file}: 6 entries: 0 added, 6 skipped" in again.stdout
    assert "duplicate of source bao-dong-thap" in again.stdout
    assert len(rows(db, "SELECT * FROM audit")) == 2


@pytest.mark.parametrize("feed_title", ["Báo Đồng Tháp", "Tuổi Trẻ — Thời sự", ""])
async def test_addsource_and_import_opml_choose_the_same_id(
    tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer, feed_title: str
) -> None:
    # feeds.yaml already uses the plain slug, so both must step to the same "-2".
    taken = {"id": "bao-dong-thap", "name": "Báo Đồng Tháp (cũ)", "url": "https://baodongthap.vn/rss/cu.rss"}
    config_path = write_config(sources=[taken, {**taken, "id": "tuoi-tre-thoi-su", "url": "https://tuoitre.vn/a.rss"}])
    now = datetime.now(UTC)
    url = feed_server.add("/thoi-su.rss", rss(feed_title, [("Lũ về miền Tây", "Nước dâng", now - timedelta(hours=1))]))
    runtime = Runtime(load_config(config_path), tmp_path / "chat.db", parser_workers=0)
    await runtime.start()
    try:
        admin = AdminService(runtime)
        chat_id = await admin.add_source(ADMIN, await admin.preview_feed(url))
        assert await admin.remove_source(ADMIN, chat_id)
    finally:
        await runtime.aclose()

    file = opml(tmp_path / "one.opml", outline(feed_title, url))
    fresh = await asyncio.to_thread(mediabot, config_path, tmp_path / "cli.db", "import-opml", str(file))
    assert fresh.returncode == 0, fresh.stderr
    assert f"  + {chat_id}  " in fresh.stdout
    assert chat_id == {"Báo Đồng Tháp": "bao-dong-thap-2", "": "127-0-0-1"}.get(feed_title, "tuoi-tre-thoi-su-2")

    # The outlet removed in chat comes back through the import with its id (its articles keep it).
    revived = await asyncio.to_thread(mediabot, config_path, tmp_path / "chat.db", "import-opml", str(file))
    assert f"  + {chat_id}  " in revived.stdout, revived.stdout
    audit = rows(tmp_path / "chat.db", "SELECT actor_id, action, target FROM audit ORDER BY id")
    assert audit == [
        (ADMIN, "source.add", chat_id),
        (ADMIN, "source.remove", chat_id),
        (None, "source.add", chat_id),
    ]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.opml", b"", "not valid OPML/XML"),
        ("latin1.opml", '<?xml version="1.0" encoding="utf-8"?><opml><body>Báo</body></opml>'.encode("latin-1"), "XML"),
        ("doctype.opml", b'<!DOCTYPE opml [<!ENTITY a "b">]><opml><body/></opml>', "DOCTYPE"),
        ("page.opml", "<html><body><p>Trang chủ</p></body></html>".encode(), "not an OPML document"),
    ],
)
def test_unusable_opml_is_one_line_and_exit_2(
    tmp_path: Path, write_config: ConfigWriter, name: str, content: bytes, says: str
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    db = tmp_path / "mediabot.db"
    proc = mediabot(write_config(), db, "import-opml", str(file))
    line = one_line_error(proc)
    assert proc.returncode == 2 and name in line and says in line, line
    assert not db.exists()


def test_unreadable_opml_path_is_one_line_and_exit_2(tmp_path: Path, write_config: ConfigWriter) -> None:
    for path in (tmp_path / "missing.opml", tmp_path):
        proc = mediabot(write_config(), tmp_path / "mediabot.db", "import-opml", str(path))
        assert proc.returncode == 2 and "cannot read" in one_line_error(proc)


def test_deeply_nested_opml_is_read(tmp_path: Path, write_config: ConfigWriter) -> None:
    depth = 20_000  # far past Python's recursion limit
    inner = outline("Sâu nhất", "https://sau.example.vn/rss")
    file = opml(tmp_path / "deep.opml", '<outline text="Mục">' * depth + inner + "</outline>" * depth)
    proc = mediabot(write_config(), tmp_path / "mediabot.db", "import-opml", str(file))
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "1 added, 0 skipped" in proc.stdout and "+ sau-nhat" in proc.stdout


def test_the_cli_runs_no_sql_of_its_own() -> None:
    sql = re.compile(r"\b(?:execute\w*|SELECT|INSERT|UPDATE|DELETE|PRAGMA)\b")
    for path in sorted((ROOT / "bot" / "cli").glob("*.py")):
        found = [line for line in path.read_text(encoding="utf-8").splitlines() if sql.search(line)]
        assert not found, (path.name, found)


def test_one_id_pattern_and_one_slug_rule() -> None:
    ids = ROOT / "bot" / "ids.py"
    copies = re.compile(r"\[\^?a-z0-9|def \w*slug\w*\(|\bfree_id\b.*def|def suggest\w*id\(")
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path == ids:
            continue
        found = [line for line in path.read_text(encoding="utf-8").splitlines() if copies.search(line)]
        assert not found, (path.relative_to(ROOT), found)
    assert copies.search(ids.read_text(encoding="utf-8"))  # the rule itself is found by the same test


def test_sources_json_of_imported_outlets(tmp_path: Path, write_config: ConfigWriter) -> None:
    config = write_config()
    file = opml(tmp_path / "a.opml", outline("Báo Đồng Tháp", "https://baodongthap.vn/rss/thoi-su.rss"))
    db = tmp_path / "mediabot.db"
    assert mediabot(config, db, "import-opml", str(file)).returncode == 0
    proc = mediabot(config, db, "sources", "--json")
    assert [(r["id"], r["origin"], r["state"]) for r in map(json.loads, proc.stdout.splitlines())] == [
        ("bao-dong-thap", "opml", "new")
    ]
