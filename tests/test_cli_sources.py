"""`mediabot sources` (text and --json) and /sources tell why a source is not polled.

A source taken out of feeds.yaml is `removed` (not `deactivated`, which means its feed hit
polling.max_failures), one with `active: false` is `inactive`; neither shows the fetch error
of the time it was polled. The CLI runs as a subprocess against a real database filled by
real polls of a feed server on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Source
from bot.store.db import open_db, transaction
from bot.store.sources import SourceStatus, remove_source, source_statuses, upsert_source
from bot.telegram.handlers.render import render_sources
from tests.cli import mediabot
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer

NOW = datetime.now(UTC)
ITEMS = [("Đồng Tháp khởi công cầu Cao Lãnh", "Cầu mới nối đôi bờ", NOW - timedelta(hours=2))]


def _source(source_id: str, *urls: str, **extra: object) -> dict[str, object]:
    return {"id": source_id, "name": f"Báo {source_id}", "urls": list(urls), **extra}


@pytest.fixture
def polled_twice(tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer) -> tuple[Path, Path, str]:
    """Polled once with bienhoa failing, then with bienhoa removed, tat switched off and dead failing once
    (max_failures: 1). Returns (config, database, the good feed's URL)."""
    good = feed_server.add("/dongthap.rss", rss("Báo Đồng Tháp", ITEMS))
    failing = feed_server.url("/status/500")
    db = tmp_path / "mediabot.db"
    first = write_config(sources=[_source("dongthap", good), _source("bienhoa", failing), _source("tat", good)])
    assert mediabot(first, db, "poll", "--once").returncode == 0
    second = write_config(
        sources=[_source("dongthap", good), _source("tat", good, active=False), _source("dead", failing)],
        polling={"max_failures": 1},
    )
    assert mediabot(second, db, "poll", "--once").returncode == 0
    return second, db, good


def test_sources_text_names_each_state_with_its_own_reason(polled_twice: tuple[Path, Path, str]) -> None:
    config, db, _good = polled_twice
    proc = mediabot(config, db, "sources")
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert lines["bienhoa"].split()[1] == "removed" and lines["bienhoa"].endswith("— no longer in feeds.yaml")
    assert "500" not in lines["bienhoa"]  # the stale error of the time it was polled is not its state
    assert lines["tat"].split()[1] == "inactive" and lines["tat"].endswith("— active: false in feeds.yaml")
    assert lines["dead"].split()[1] == "deactivated" and "500" in lines["dead"]
    assert lines["dongthap"].split()[1] == "ok"


def test_sources_json_state_of_a_removed_source(polled_twice: tuple[Path, Path, str]) -> None:
    config, db, _good = polled_twice
    proc = mediabot(config, db, "sources", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["id"]: row for row in map(json.loads, proc.stdout.splitlines())}
    states = {source_id: (row["state"], row["active"]) for source_id, row in rows.items()}
    assert states == {
        "bienhoa": ("removed", False),
        "tat": ("inactive", False),
        "dead": ("deactivated", True),
        "dongthap": ("ok", True),
    }


def test_a_source_put_back_into_feeds_yaml_is_no_longer_removed(
    polled_twice: tuple[Path, Path, str], write_config: ConfigWriter
) -> None:
    _config, db, good = polled_twice
    back = write_config(sources=[_source("dongthap", good), _source("bienhoa", good)])
    assert mediabot(back, db, "poll", "--once").returncode == 0
    rows = {row["id"]: row for row in map(json.loads, mediabot(back, db, "sources", "--json").stdout.splitlines())}
    assert rows["bienhoa"]["state"] == "ok"


def _status(source_id: str, removed_by: str | None, *, active: bool = False) -> SourceStatus:
    stamp = (NOW - timedelta(days=3)).isoformat()
    return SourceStatus(
        id=source_id, name=f"Báo {source_id}", url=f"https://{source_id}.vn/rss", active=active, paused=True,
        origin="config", last_success_at=stamp, last_error="cannot resolve host", last_error_at=stamp,
        failing_since=stamp, consecutive_failures=3, last_new_article_at=stamp, deactivated_reason=None,
        articles=12, created_at=stamp, removed_by=removed_by,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("vi", ["🗑 <b>Báo nhandan</b> (<code>nhandan</code>): đã gỡ: không còn trong feeds.yaml",
                "🗑 <b>Báo vtv</b> (<code>vtv</code>): đã gỡ bằng /removesource"]),
        ("en", ["🗑 <b>Báo nhandan</b> (<code>nhandan</code>): removed: no longer in feeds.yaml",
                "🗑 <b>Báo vtv</b> (<code>vtv</code>): removed with /removesource"]),
    ],
)  # fmt: skip
def test_slash_sources_shows_a_removed_source_as_removed(lang: str, expected: list[str]) -> None:
    # A paused source taken out of feeds.yaml stays listed (paused), and says it is removed.
    text = render_sources([_status("nhandan", "config"), _status("vtv", "chat")], lang, ZoneInfo("Asia/Bangkok"), NOW)
    assert text.splitlines()[1:] == expected
    assert "cannot resolve host" not in text


def test_removesource_marks_the_source_removed_until_it_is_added_again(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "db.sqlite").conn
    source = Source(id="vtv", name="VTV", urls=("https://vtv.vn/rss",))
    with transaction(conn):
        upsert_source(conn, source, "chat", NOW)
        assert remove_source(conn, "vtv")
    [status] = source_statuses(conn, include_inactive=True)
    assert (status.state(NOW), status.removed_by) == ("removed", "chat")
    with transaction(conn):
        upsert_source(conn, source, "chat", NOW)  # /addsource of the same feed
    [status] = source_statuses(conn, include_inactive=True)
    assert (status.state(NOW), status.removed_by) == ("new", None)
    conn.close()
