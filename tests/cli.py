"""Run the real `mediabot` command as a subprocess, as a user does, and judge what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without any MEDIABOT_* setting of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIABOT_", "TELEGRAM_"))}
    return {**env, **extra}


def mediabot(config: Path, db: Path | str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`mediabot --config CONFIG --db DB ARGS…` with MEDIABOT_* variables from `env` only."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=cli_env(**env),
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (log lines from a poll aside); fails on a traceback."""
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if " INFO " not in line]
    assert len(lines) == 1, proc.stderr
    return lines[0]
