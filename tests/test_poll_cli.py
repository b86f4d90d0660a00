"""`mediabot poll --once` end to end: local copies of the real Vietnamese feeds → SQLite → search.

A real HTTP server on 127.0.0.1 serves the corpus; the CLI runs as a subprocess against a
real database file, exactly as a user runs it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.corpus import CORPUS
from tests.fakes.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[1]
VIETNAMESE = [
    "baochinhphu",
    "dantri",
    "nhandan",
    "thanhnien",
    "tuoitre",
    "vietnambiz",
    "vietnamplus",
    "vnexpress",
    "vtv",
    "vov",
    "znews",
]


def mediabot(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def item_links(path: Path) -> set[str]:
    """Distinct item links of a corpus file, read without our parser."""
    root = ET.fromstring(path.read_bytes())
    return {(item.findtext("link") or "").strip() for item in root.iter("item")}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("poll")
    with FeedServer() as srv:
        srv.add_corpus(CORPUS)
        sources = [{"id": name, "name": name, "url": srv.url(f"/corpus/{name}.rss")} for name in VIETNAMESE]
        sources.append({"id": "broken", "name": "Báo Hỏng", "url": srv.url("/status/500")})
        sources.append({"id": "htmlpage", "name": "Trang HTML", "url": srv.url("/html")})
        config = {
            "organization": {"name": "Sở TT&TT Phú Thọ", "timezone": "Asia/Ho_Chi_Minh"},
            "polling": {"allow_private_networks": True, "timeout": "10s"},
            "sources": sources,
            "campaigns": [{"id": "chuyen-doi-so", "name": "Chuyển đổi số", "query": '"số hóa" OR "chuyển đổi số"'}],
        }
        path = tmp / "feeds.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        db = tmp / "mediabot.db"
        first = mediabot(path, db, "poll", "--once")
        second = mediabot(path, db, "poll", "--once")
        yield {"config": path, "db": db, "first": first, "second": second, "srv": srv}


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_poll_once_exits_zero_and_reports_failures(archive) -> None:
    first = archive["first"]
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr + first.stdout
    assert re.search(r"polled 13 feeds in [\d.]+s: \d+ new articles", first.stdout)
    assert re.search(r"FAILED broken .*/status/500: .*500", first.stdout)
    assert re.search(r"FAILED htmlpage .*/html: ", first.stdout)


def test_every_article_stored_exactly_once(archive) -> None:
    for name in VIETNAMESE:
        stored = rows(archive["db"], "SELECT count(*) FROM articles WHERE source_id = ?", name)[0][0]
        assert stored == len(item_links(CORPUS / f"{name}.rss")), name
    total = rows(archive["db"], "SELECT count(*), count(DISTINCT url_key) FROM articles")[0]
    assert total[0] == total[1]
    assert rows(archive["db"], "SELECT count(*) FROM articles_fts")[0][0] == total[0]


def test_second_poll_adds_nothing(archive) -> None:
    second = archive["second"]
    assert second.returncode == 0
    assert re.search(r": 0 new articles", second.stdout)
    assert archive["srv"].requests[-1].headers.get("if-none-match") or any(
        r.headers.get("if-none-match") for r in archive["srv"].requests
    )


@pytest.mark.parametrize(
    ("source", "title_start", "instant"),
    [
        # no zone, US order: the organization's local time
        ("baochinhphu", "Cửa khẩu số hóa", "2026-09-14T11:44:00+00:00"),
    ],
)
def test_instants_are_right(archive, source: str, title_start: str, instant: str) -> None:
    found = rows(
        archive["db"],
        "SELECT published_at FROM articles WHERE source_id = ? AND title LIKE ?",
        source,
        title_start + "%",
    )
    assert found == [(instant,)]


def test_titles_are_clean_nfc(archive) -> None:
    import unicodedata

    for (title,) in rows(archive["db"], "SELECT title FROM articles"):
        assert unicodedata.is_normalized("NFC", title)
        assert "&" not in re.sub(r"&(?![a-zA-Z#][a-zA-Z0-9]*;)", "", title), title
        assert "<" not in title


def test_search_json_contract(archive) -> None:
    proc = mediabot(archive["config"], archive["db"], "search", "so hoa", "--json", "--limit", "5")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines, "an unaccented query must find the accented title"
    for hit in lines:
        assert set(hit) >= {"id", "title", "url", "source", "source_name", "published_at", "snippet"}
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$", hit["published_at"])
    assert any("số hóa" in hit["title"].lower() for hit in lines)


def test_search_never_tracebacks(archive) -> None:
    for query in ['"unclosed', "NEAR(", "AND", "*", "Hà Nội: tin mới", "COVID-19"]:
        proc = mediabot(archive["config"], archive["db"], "search", query)
        assert "Traceback" not in proc.stderr, query
        assert proc.returncode in (0, 2), query


def test_search_unknown_source_names_the_closest_ids(archive) -> None:
    proc = mediabot(archive["config"], archive["db"], "search", "bão", "source:vnexpres")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: source:vnexpres is not a monitored outlet; did you mean source:vnexpress?"
    known = mediabot(archive["config"], archive["db"], "search", "số", "source:vnexpress")
    assert known.returncode == 0, known.stderr


def test_sources_json_contract(archive) -> None:
    proc = mediabot(archive["config"], archive["db"], "sources", "--json")
    assert proc.returncode == 0, proc.stderr
    by_id = {row["id"]: row for row in map(json.loads, proc.stdout.splitlines())}
    keys = {"id", "name", "url", "active", "last_success_at", "last_error", "consecutive_failures", "articles"}
    assert all(keys <= set(row) for row in by_id.values())
    assert by_id["broken"]["consecutive_failures"] == 2 and "500" in by_id["broken"]["last_error"]
    assert by_id["broken"]["last_success_at"] is None
    assert by_id["vnexpress"]["consecutive_failures"] == 0 and by_id["vnexpress"]["articles"] == 3
    assert by_id["vnexpress"]["last_success_at"]


def test_campaign_tags_written_with_the_articles(archive) -> None:
    tagged = rows(archive["db"], "SELECT a.title FROM campaign_articles c JOIN articles a ON a.id = c.article_id")
    assert any("số hóa" in t.lower() for (t,) in tagged)


def test_opml_round_trip(archive, tmp_path: Path) -> None:
    out = tmp_path / "export.opml"
    assert mediabot(archive["config"], archive["db"], "export-opml", "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").count("xmlUrl=") == 13
    other = tmp_path / "other.opml"
    other.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Tỉnh">'
        '<outline text="Báo Phú Thọ" xmlUrl="https://baophutho.vn/rss/home.rss"/>'
        '<outline text="VnExpress" xmlUrl="' + archive["srv"].url("/corpus/vnexpress.rss") + '"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    proc = mediabot(archive["config"], archive["db"], "import-opml", str(other))
    assert proc.returncode == 0, proc.stderr
    assert "2 entries: 1 added, 1 skipped" in proc.stdout and "+ bao-phu-tho" in proc.stdout
    assert "duplicate of source vnexpress" in proc.stdout


def test_import_opml_rejects_garbage(archive, tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text("<html>not opml", encoding="utf-8")
    proc = mediabot(archive["config"], archive["db"], "import-opml", str(bad))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "bad.opml" in proc.stderr


def test_health_reports_recent_polling(archive, tmp_path: Path) -> None:
    healthy = mediabot(archive["config"], archive["db"], "health")
    feeds = rows(archive["db"], "SELECT count(*) FROM feeds WHERE active = 1")[0][0]
    assert healthy.returncode == 0 and healthy.stdout.startswith(f"healthy: {feeds} feeds"), healthy.stdout
    missing = mediabot(archive["config"], tmp_path / "none.db", "health")
    assert missing.returncode == 1 and "no database" in missing.stdout
    stale = tmp_path / "stale.db"
    stale.write_bytes(archive["db"].read_bytes())
    conn = sqlite3.connect(stale)
    conn.execute("UPDATE feeds SET last_check_at = '2026-01-01T00:00:00+00:00'")
    conn.commit()
    conn.close()
    old = mediabot(archive["config"], stale, "health")
    assert old.returncode == 1 and old.stdout.startswith("unhealthy: no feed checked"), old.stdout
