"""Process settings from the environment, read once at start into a frozen object."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.config import is_http_url
from bot.errors import ConfigError
from bot.logsetup import FORMATS, LEVELS, is_log_level, redact_url

DEFAULT_API_URL = "https://api.telegram.org"
# Telegram accepts 1-256 of A-Za-z0-9_- as secret_token; below 16 it could be guessed, and
# the log redactor would blank every occurrence of a short string in every log line.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")
# What @BotFather gives: the bot's numeric id, a colon, 35 characters of A-Za-z0-9_- (more allowed).
_BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{35,}")
_MIN_LITERAL_SECRET = 6  # shorter URL passwords are redacted by pattern only (bot.logsetup.redact_url)
_TOKEN_FILE_MAX = 4096  # a token is ~46 characters; a larger "token file" is the wrong file


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: str = "feeds.yaml"
    db_path: str = "data/mediabot.db"
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    webhook_url: str | None = None  # set → webhook mode instead of long polling
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    # Where the token came from, for messages, and why it could not be read: only `run` needs a
    # token, so an unreadable token file must not stop `health`, `backup` or `stats`.
    token_name: str = "TELEGRAM_BOT_TOKEN"
    token_problem: str | None = None

    def __repr__(self) -> str:  # the token must never reach a log line or a traceback
        return (
            f"Settings(config_path={self.config_path!r}, db_path={self.db_path!r}, "
            f"api_url={redact_url(self.api_url)!r})"
        )

    def secrets(self) -> list[str]:
        """Every secret these settings hold: the token, the webhook secret, passwords inside URLs
        (PTB logs setWebhook's parameters, secret_token included, at DEBUG)."""
        found = [self.token, self.webhook_secret, *_passwords(self.api_url), *_passwords(self.webhook_url)]
        return [secret for secret in found if secret]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read MEDIABOT_* and TELEGRAM_* variables."""
        env = os.environ if env is None else env
        port = env.get("MEDIABOT_WEBHOOK_PORT", "8443")
        if not port.isdigit():
            raise ConfigError(f"MEDIABOT_WEBHOOK_PORT: not a port number: {port!r}")
        level = env.get("MEDIABOT_LOG_LEVEL") or "INFO"
        if not is_log_level(level):
            raise ConfigError(f"MEDIABOT_LOG_LEVEL: unknown level {level!r} (use {', '.join(LEVELS)})")
        log_format = (env.get("MEDIABOT_LOG_FORMAT") or "text").lower()
        if log_format not in FORMATS:
            raise ConfigError(f"MEDIABOT_LOG_FORMAT: unknown format {log_format!r} (use {' or '.join(FORMATS)})")
        token, token_name, token_problem = _token(env)
        return cls(
            config_path=env.get("MEDIABOT_CONFIG") or "feeds.yaml",
            db_path=env.get("MEDIABOT_DB") or "data/mediabot.db",
            token=token,
            token_name=token_name,
            token_problem=token_problem,
            api_url=(env.get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
            webhook_url=env.get("MEDIABOT_WEBHOOK_URL") or None,
            webhook_listen=env.get("MEDIABOT_WEBHOOK_LISTEN") or "0.0.0.0",
            webhook_port=int(port),
            webhook_secret=_webhook_secret(env.get("MEDIABOT_WEBHOOK_SECRET") or None),
            log_level=level.upper(),
            log_format=log_format,
        )

    def check_for_run(self) -> None:
        """ConfigError when `mediabot run` cannot work with these settings, before any network use."""
        if self.token_problem:
            raise ConfigError(self.token_problem)
        if not self.token:
            if self.token_name != "TELEGRAM_BOT_TOKEN":
                raise ConfigError(f"{self.token_name} is empty: put the token @BotFather gave you in it")
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token")
        if not _BOT_TOKEN.fullmatch(self.token):
            # The value never goes into the message: even a malformed token may be most of a real one.
            raise ConfigError(
                f"{self.token_name}: not a bot token (@BotFather gives <bot id>:<35 letters, digits, _ or ->; "
                f"got {len(self.token)} characters)"
            )
        for name, url in (("TELEGRAM_API_URL", self.api_url), ("MEDIABOT_WEBHOOK_URL", self.webhook_url)):
            if url is not None and not is_http_url(url):
                shown = redact_url(url).replace(self.token, "[REDACTED]")
                raise ConfigError(f"{name}: not an http(s) URL: {shown!r}")

    def with_webhook_secret(self) -> Settings:
        """These settings with a webhook secret: the configured one, or a new random one.

        Without a secret the webhook listener would run any update POSTed to it, so a
        forged button press "from" an admin could approve a stranger.
        """
        if self.webhook_secret:
            return self
        return replace(self, webhook_secret=secrets.token_urlsafe(32))


def _webhook_secret(value: str | None) -> str | None:
    # The value itself never goes into the message: it is a secret even when malformed.
    if value is not None and not _WEBHOOK_SECRET.fullmatch(value):
        raise ConfigError(
            f"MEDIABOT_WEBHOOK_SECRET: must be 16-256 characters of A-Z, a-z, 0-9, _ and - "
            f"(got {len(value)} characters); leave it unset to have one generated at each start"
        )
    return value


def _token(env: Mapping[str, str]) -> tuple[str | None, str, str | None]:
    """(token, where it came from, why it cannot be used): TELEGRAM_BOT_TOKEN, or the content of
    TELEGRAM_BOT_TOKEN_FILE (a container secret); not both."""
    value = (env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None
    path = env.get("TELEGRAM_BOT_TOKEN_FILE") or None
    if path is None:
        return value, "TELEGRAM_BOT_TOKEN", None
    name = f"TELEGRAM_BOT_TOKEN_FILE ({path})"
    if value is not None:
        # Two tokens where one is stale is how a bot ends up running with the wrong one: refuse.
        # The value is kept all the same: the log redactor must know it.
        return value, name, "TELEGRAM_BOT_TOKEN and TELEGRAM_BOT_TOKEN_FILE are both set: unset one of them"
    try:
        return read_token_file(Path(path)), name, None
    except ConfigError as err:
        return None, name, str(err)


def read_token_file(path: Path) -> str | None:
    """The token in `path`, surrounding whitespace (the trailing newline) stripped.

    Errors name the file, never its content: the wrong file may still hold a secret.
    """
    try:
        with path.open("rb") as file:
            data = file.read(_TOKEN_FILE_MAX + 1)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ConfigError(f"TELEGRAM_BOT_TOKEN_FILE: cannot read {path}: {reason}") from None
    if len(data) > _TOKEN_FILE_MAX:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN_FILE: {path} is larger than a token file ({_TOKEN_FILE_MAX} bytes)")
    try:
        return data.decode("utf-8").strip() or None
    except UnicodeDecodeError:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN_FILE: {path} is not text (UTF-8)") from None


def _passwords(url: str | None) -> list[str]:
    """The password inside `https://user:password@host`, as written and percent-decoded."""
    try:
        password = urlsplit(url).password if url else None
    except ValueError:
        return []
    # A short one would blank that string in every log line; in a URL the pattern redaction hides it.
    return [password, unquote(password)] if password and len(password) >= _MIN_LITERAL_SECRET else []
