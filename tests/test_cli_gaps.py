"""Small things a new user meets on the command line, each run as a subprocess on real files.

Every feed of an outlet in `sources`, the count `poll` announces, singular forms in `check-config`,
global options after the command, a guess for a mistyped command, help that names what a
command needs.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli import ROOT, cli_env, mediabot
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer
from tests.test_bot_e2e import wait_until

NOW = datetime.now(UTC)


def _feed(title: str) -> bytes:
    return rss(title, [(f"{title}: tin mới về chuyển đổi số", "Tóm tắt", NOW - timedelta(hours=1))])


def test_sources_lists_every_feed_of_an_outlet(
    tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer
) -> None:
    first = feed_server.add("/vnexpress/tin-moi-nhat.rss", _feed("Tin mới nhất"))
    second = feed_server.add("/vnexpress/thoi-su.rss", _feed("Thời sự"))
    other = feed_server.add("/baophutho.rss", _feed("Báo Phú Thọ"))
    config = write_config(
        sources=[
            {"id": "vnexpress", "name": "VnExpress", "urls": [first, second]},
            {"id": "baophutho", "name": "Báo Phú Thọ", "url": other},
        ]
    )
    db = tmp_path / "mediabot.db"
    assert mediabot(config, db, "poll", "--once").returncode == 0
    text = mediabot(config, db, "sources").stdout.splitlines()
    assert [line.split()[0] for line in text] == ["baophutho", other, "vnexpress", first, second]
    assert text[3:] == [f"    {first}", f"    {second}"]
    rows = {row["id"]: row for row in map(json.loads, mediabot(config, db, "sources", "--json").stdout.splitlines())}
    assert (rows["vnexpress"]["url"], rows["vnexpress"]["urls"]) == (first, [first, second])
    assert (rows["baophutho"]["url"], rows["baophutho"]["urls"]) == (other, [other])


def test_poll_announces_every_source_it_polls_opml_ones_included(
    tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer
) -> None:
    config = write_config(sources=[{"id": "baophutho", "name": "Báo Phú Thọ", "url": feed_server.url("/slow/60")}])
    outlines = "".join(
        f'<outline text="{name}" type="rss" xmlUrl="{feed_server.add(f"/{slug}.rss", _feed(name))}"/>'
        for slug, name in (("nhandan", "Nhân Dân"), ("vtv", "VTV"))
    )
    opml = tmp_path / "bao.opml"
    opml.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    db = tmp_path / "mediabot.db"
    assert mediabot(config, db, "import-opml", str(opml)).returncode == 0
    stderr = tmp_path / "stderr"
    with stderr.open("w") as err:
        command = [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), "poll"]
        proc = subprocess.Popen(command, cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_until(lambda: "Ctrl-C to stop" in stderr.read_text(), 60, "the poller's first line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert "polling 3 sources (3 feeds); Ctrl-C to stop" in stderr.read_text()


def test_check_config_says_one_source_one_feed_one_campaign(write_config: ConfigWriter, tmp_path: Path) -> None:
    config = write_config(
        sources=[{"id": "baophutho", "name": "Báo Phú Thọ", "url": "https://baophutho.vn/rss/home.rss"}],
        campaigns=[{"id": "cds", "name": "Chuyển đổi số", "query": '"chuyển đổi số"'}],
    )
    proc = mediabot(config, tmp_path / "db.sqlite", "check-config")
    assert proc.stdout == f"{config}: ok — 1 source (1 feed), 1 campaign, access private\n"


@pytest.mark.parametrize(
    "where",
    [
        ["--config", "{config}", "--db", "{db}", "--log-level", "error", "sources"],
        ["sources", "--config", "{config}", "--db", "{db}", "--log-level", "error"],
        ["--config", "{config}", "sources", "--db", "{db}"],
    ],
)
def test_global_options_may_follow_the_command(
    where: list[str], tmp_path: Path, write_config: ConfigWriter, feed_server: FeedServer
) -> None:
    config = write_config(sources=[{"id": "vtv", "name": "VTV", "url": feed_server.add("/vtv.rss", _feed("VTV"))}])
    db = tmp_path / "elsewhere" / "mediabot.db"
    assert mediabot(config, db, "poll", "--once").returncode == 0
    argv = [arg.format(config=config, db=db) for arg in where]
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *argv], capture_output=True, text=True, timeout=60, cwd=ROOT, env=cli_env()
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("vtv "), proc.stdout


def test_the_default_database_is_kept_unless_an_option_after_the_command_says_otherwise(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    missing = tmp_path / "nowhere.db"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(missing), "sources", "--config", str(write_config())],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=cli_env(),
    )  # fmt: skip
    assert proc.stderr == f"error: no database at {missing} (run mediabot poll --once first)\n"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("serch", "mediabot: error: unknown command 'serch'; did you mean 'search'?"),
        ("check_config", "mediabot: error: unknown command 'check_config'; did you mean 'check-config'?"),
        ("tìm", "mediabot: error: unknown command 'tìm'; the commands are poll, search, sources"),
    ],
)
def test_an_unknown_command_gets_a_guess(typed: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", typed], capture_output=True, text=True, timeout=60, cwd=ROOT, env=cli_env()
    )
    assert proc.returncode == 2 and proc.stderr.startswith(expected), proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("command", "needed"),
    [
        ("run", ["TELEGRAM_BOT_TOKEN", "@BotFather", "TELEGRAM_API_URL", "MEDIABOT_WEBHOOK_URL"]),
        ("import-opml", ["FILE", "OPML file", "xmlUrl"]),
    ],
)
def test_help_names_what_a_command_needs(command: str, needed: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", command, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    assert proc.returncode == 0 and all(word in text for word in needed), proc.stdout
