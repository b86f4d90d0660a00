"""Exit codes on a stop signal, as the README's table says them.

`run` and `poll` (without --once) are long-running services: SIGINT (Ctrl-C) and SIGTERM
ask them to stop, they stop cleanly and exit 0, as a daemon does for its supervisor. A one-shot
command interrupted by Ctrl-C exits 130 without a word; SIGTERM ends it the default Unix way.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import ROOT, cli_env
from tests.conftest import BOT_TOKEN
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import bot_env, start_bot

pytestmark = pytest.mark.e2e


def _poll_busy(write_config: Callable[..., Path], tmp_path: Path, srv: FeedServer, *args: str) -> subprocess.Popen[str]:
    """`mediabot poll ARGS` started and busy fetching a feed that answers in a minute."""
    cfg = write_config(
        sources=[{"id": "cham", "name": "Báo Chậm", "url": srv.url("/slow/60")}], polling={"timeout": "90s"}
    )
    command = [sys.executable, "-m", "bot", "--config", str(cfg), "--db", str(tmp_path / "db.sqlite"), "poll", *args]
    proc = subprocess.Popen(command, cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert srv.wait_for(lambda: srv.hits("/slow/60") >= 1, 60), "the poller never fetched"
    return proc


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_poll_stops_cleanly_with_0(
    sig: signal.Signals, feed_server: FeedServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    proc = _poll_busy(write_config, tmp_path, feed_server)
    code, err = _stop(proc, sig)
    assert code == 0, err
    assert "Traceback" not in err


def test_poll_once_interrupted_by_ctrl_c_exits_130_quietly(
    feed_server: FeedServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    proc = _poll_busy(write_config, tmp_path, feed_server, "--once")
    code, err = _stop(proc, signal.SIGINT)
    assert (code, err) == (130, "")


def test_poll_once_ends_on_sigterm_as_unix_programs_do(
    feed_server: FeedServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    proc = _poll_busy(write_config, tmp_path, feed_server, "--once")
    code, err = _stop(proc, signal.SIGTERM)
    assert (code, err) == (-signal.SIGTERM, "")  # a shell shows 128 + 15 = 143


def test_run_stops_cleanly_with_0_on_ctrl_c(
    fake_telegram: FakeTelegram, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=fake_telegram.url)
    proc = start_bot(write_config(), tmp_path / "db.sqlite", env, tmp_path)
    try:
        fake_telegram.wait_for_polling(timeout=30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait(10)
    assert "Traceback" not in (tmp_path / "stderr").read_text()
