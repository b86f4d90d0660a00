"""Secrets and log lines: TELEGRAM_BOT_TOKEN_FILE, passwords in URLs, one redacting filter, --log-format json.

The end-to-end runs start `mediabot run` at DEBUG in webhook mode (the mode with the most
secrets: token, webhook secret, a password in TELEGRAM_API_URL) against FakeTelegram, make it
answer one pushed update and refuse one forged POST (PTB logs that with a traceback), stop it,
and search everything it printed for each secret.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.errors import ConfigError
from bot.logsetup import REDACTED, JsonLines, RedactSecrets, configure_logging, redact_url
from bot.settings import Settings
from tests.conftest import BOT_TOKEN
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_bot_e2e import ROOT, bot_env, write_config
from tests.test_handlers import ADMIN
from tests.test_webhook import HEADER, free_port, stop, take_update, wait_listening

PASSWORD = "pa55-w0rd-xyz"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"
SECRETS = (BOT_TOKEN, BOT_TOKEN.partition(":")[2], PASSWORD, WEBHOOK_SECRET)


def mediabot(*args: str, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp / "db.sqlite"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---- TELEGRAM_BOT_TOKEN_FILE


def test_the_token_file_is_read_once_with_its_newline_stripped(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(BOT_TOKEN + "\n", encoding="utf-8")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(path)})
    path.write_text("changed later", encoding="utf-8")
    assert settings.token == BOT_TOKEN


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp: tmp / "missing", "cannot read {path}: No such file or directory"),
        (lambda tmp: tmp, "cannot read {path}: Is a directory"),
        (lambda tmp: _write(tmp / "binary", b"\xff\xfe" + BOT_TOKEN.encode()), "{path} is not text (UTF-8)"),
        (lambda tmp: _write(tmp / "big", BOT_TOKEN.encode() * 200), "{path} is larger than a token file"),
    ],
)
def test_an_unusable_token_file_is_one_line_naming_the_file_not_its_content(
    tmp_path: Path, make: Any, problem: str
) -> None:
    path = make(tmp_path)
    done = mediabot("run", env=bot_env(TELEGRAM_BOT_TOKEN_FILE=str(path)), tmp=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: TELEGRAM_BOT_TOKEN_FILE: {problem.format(path=path)}"), done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert "AAH-fake-secret" not in done.stderr


def test_token_and_token_file_together_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "token", BOT_TOKEN.encode())
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_BOT_TOKEN_FILE": str(path)})
    with pytest.raises(ConfigError, match="both set: unset one of them") as refused:
        settings.check_for_run()
    assert BOT_TOKEN not in str(refused.value)
    assert BOT_TOKEN in settings.secrets()  # still redacted from every log line


@pytest.mark.parametrize(("content", "problem"), [(b"\n", "is empty"), (b"hello\n", "not a bot token")])
def test_a_token_file_without_a_token_is_named_in_the_refusal(tmp_path: Path, content: bytes, problem: str) -> None:
    path = _write(tmp_path / "token", content)
    done = mediabot("run", env=bot_env(TELEGRAM_BOT_TOKEN_FILE=str(path)), tmp=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: TELEGRAM_BOT_TOKEN_FILE ({path})"), done.stderr
    assert problem in done.stderr and len(done.stderr.splitlines()) == 1


def test_only_run_needs_the_token_an_unreadable_token_file_leaves_the_other_commands_working(
    tmp_path: Path,
) -> None:
    # In Compose the variable is always set: a secret with the wrong owner must not take the
    # health check (and every `docker compose exec … mediabot stats`) down with it.
    missing = str(tmp_path / "missing-token")
    assert mediabot("check-config", env=bot_env(TELEGRAM_BOT_TOKEN_FILE=missing), tmp=tmp_path).returncode == 0
    done = mediabot("run", env=bot_env(TELEGRAM_BOT_TOKEN_FILE=missing), tmp=tmp_path)
    assert done.returncode == 2 and "cannot read" in done.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ---- passwords in URLs


def test_a_password_in_the_api_url_is_never_printed(tmp_path: Path) -> None:
    # Nothing listens there: the start-up line names the URL, without its password.
    url = f"http://operator:{PASSWORD}@127.0.0.1:{free_port()}"
    done = mediabot("run", env=bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=url), tmp=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot reach Telegram at http://operator:{REDACTED}@127.0.0.1:")
    assert PASSWORD not in done.stderr + done.stdout


def test_settings_show_no_password_anywhere() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": f"ftp://u:{PASSWORD}@h"})
    assert PASSWORD not in repr(settings) and REDACTED in repr(settings)
    with pytest.raises(ConfigError) as refused:
        settings.check_for_run()
    assert PASSWORD not in str(refused.value) and "ftp://u:[REDACTED]@h" in str(refused.value)
    assert PASSWORD in settings.secrets() and BOT_TOKEN in settings.secrets()
    # A two-letter password would blank "ab" in every line: only its URL is redacted.
    short = Settings.from_env({"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": "https://u:ab@h"})
    assert "ab" not in short.secrets() and "https://u:[REDACTED]@h" in repr(short)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("GET https://user:pa%20ss@bao.vn/rss ok", "GET https://user:[REDACTED]@bao.vn/rss ok"),
        ("proxy=http://:p@10.0.0.1:3128", "proxy=http://:[REDACTED]@10.0.0.1:3128"),
        ("mailto:lan@bao.vn and https://bao.vn/a@b", "mailto:lan@bao.vn and https://bao.vn/a@b"),
        ("https://user@bao.vn/", "https://user@bao.vn/"),
    ],
)
def test_any_url_password_is_redacted(text: str, shown: str) -> None:
    assert redact_url(text) == shown


def test_json_lines_are_redacted_tracebacks_included(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", [BOT_TOKEN], "json")
        try:
            raise RuntimeError(f"failed at https://api.telegram.org/bot{BOT_TOKEN}/getMe via http://u:{PASSWORD}@p")
        except RuntimeError:
            logging.getLogger("bot.test").exception("Thử lại với %s", BOT_TOKEN)
    finally:
        root.handlers[:], root.level = saved
    lines = capsys.readouterr().err.splitlines()
    entry = json.loads(lines[-1])
    assert set(entry) == {"ts", "level", "logger", "msg", "exc"}
    assert (entry["level"], entry["logger"], entry["msg"]) == ("ERROR", "bot.test", f"Thử lại với {REDACTED}")
    assert "RuntimeError" in entry["exc"] and f"/bot{REDACTED}/getMe" in entry["exc"]
    assert not any(secret in lines[-1] for secret in SECRETS)


def test_the_redactor_filters_without_known_secrets_too() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "feed %s", (f"https://a:{PASSWORD}@b/rss",), None)
    assert RedactSecrets([]).filter(record) and PASSWORD not in record.getMessage()
    assert JsonLines().format(record).startswith('{"ts": ')


# ---- everything a DEBUG run prints


@pytest.mark.e2e
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_debug_run_prints_no_secret(tmp_path: Path, log_format: str) -> None:
    port = free_port()
    token_file = _write(tmp_path / "token", (BOT_TOKEN + "\n").encode())
    with FakeTelegram(token=BOT_TOKEN) as fake, FeedServer() as feeds:
        env = bot_env(
            TELEGRAM_BOT_TOKEN_FILE=str(token_file),
            TELEGRAM_API_URL=fake.url.replace("http://", f"http://operator:{PASSWORD}@"),
            MEDIABOT_WEBHOOK_URL="https://bot.example.vn/hook",
            MEDIABOT_WEBHOOK_LISTEN="127.0.0.1",
            MEDIABOT_WEBHOOK_PORT=str(port),
            MEDIABOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        args = (
            ["--log-level", "DEBUG", "--log-format", log_format] if log_format == "json" else ["--log-level", "DEBUG"]
        )
        command = [sys.executable, "-m", "bot", *args, "--config", str(write_config(tmp_path, feeds))]
        with (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
            proc = subprocess.Popen(
                [*command, "--db", str(tmp_path / "db"), "run"], cwd=ROOT, env=env, stdout=out, stderr=err
            )
        try:
            fake.wait_for_call("setWebhook", timeout=30)
            wait_listening(port)
            admin = fake.user(ADMIN, "Quản trị", language_code="vi")
            fake.send_text(admin, "/start")
            hook = f"http://127.0.0.1:{port}/hook"
            assert httpx.post(hook, json=take_update(fake), headers={HEADER: WEBHOOK_SECRET}).status_code == 200
            fake.wait_for_message(admin, timeout=15)
            assert httpx.post(hook, json={"update_id": 1}, headers={HEADER: "forged"}).status_code == 403
        finally:
            code = stop(proc)
    assert code == 0
    err_text = (tmp_path / "err").read_text(encoding="utf-8")
    printed = (tmp_path / "out").read_text(encoding="utf-8") + err_text
    assert "`setWebhook` with parameters" in printed and REDACTED in printed  # the secrets were there to hide
    leaked = [secret for secret in SECRETS if secret in printed]
    assert not leaked, leaked
    if log_format == "json":
        entries = [json.loads(line) for line in err_text.splitlines()]
        assert all(
            {"ts", "level", "logger", "msg"} <= set(e) <= {"ts", "level", "logger", "msg", "exc"} for e in entries
        )
        assert any("exc" in e for e in entries) and any(e["logger"] == "bot.telegram.app" for e in entries)


def test_the_log_format_option_and_variable_are_checked(tmp_path: Path) -> None:
    done = mediabot("check-config", env=bot_env(MEDIABOT_LOG_FORMAT="xml"), tmp=tmp_path)
    assert (
        done.returncode == 2 and done.stderr == "error: MEDIABOT_LOG_FORMAT: unknown format 'xml' (use text or json)\n"
    )
    done = mediabot(
        "--log-format", "json", "--config", str(tmp_path / "none.yaml"), "check-config", env=bot_env(), tmp=tmp_path
    )
    assert done.returncode == 2
    entry = json.loads(done.stderr)
    assert entry["level"] == "ERROR" and entry["msg"].startswith("error: ") and "none.yaml" in entry["msg"]
