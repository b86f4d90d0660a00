"""Logging for every mediabot process: one stderr handler whose filter removes secrets.

The bot token travels in every Bot API URL (`/bot<token>/getUpdates`), and httpx logs
request URLs at INFO, so a secret can reach a log line through the message, its
arguments, an exception text or a stack. The filter redacts all of them before any
formatting happens; it sits on the handler, so records of every logger pass it. Besides
the known secrets (token, webhook secret, passwords of configured URLs) it blanks the
password of any `scheme://user:password@` URL, whoever wrote it.

Lines are text (`2026-11-30 07:00:00,000 INFO bot.x: message`) or, with `--log-format json`,
one JSON object per line: `ts` (UTC, ISO 8601), `level`, `logger`, `msg`, and `exc` when a
traceback comes with it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

REDACTED = "[REDACTED]"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
_HANDLER_NAME = "mediabot-stderr"
# scheme://user:password@ — the password part (up to the @ that ends the authority).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^/\s:@]{0,256}:)[^/\s@]{1,256}@")
# These log a line per HTTP request (with the token in it); their warnings are enough.
_CHATTY_LOGGERS = ("httpx", "httpcore")


class RedactSecrets(logging.Filter):
    """Replace each secret (and a bot token's secret half) with [REDACTED] in a record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = _secret_variants(secrets)

    def redact(self, text: str) -> str:
        """`text` with every known secret and every URL password replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_url(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(_message(record))
        record.msg, record.args = message, None
        if record.exc_info:
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
            # exc_text is used as is; dropping exc_info stops a formatter from re-rendering the raw one.
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must not lose the line (nor leak its arguments)
        return f"{record.msg!s} (unformattable arguments)"


def _secret_variants(secrets: Iterable[str]) -> tuple[str, ...]:
    out: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        out.add(secret)
        _bot_id, colon, key = secret.partition(":")
        if colon and len(key) >= 8:  # the part after the bot id is what makes a token secret
            out.add(key)
    return tuple(sorted(out, key=len, reverse=True))


def redact_url(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` replaced."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret a process holds (bot.settings.Settings.secrets)."""
    return settings.secrets()


class JsonLines(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, and exc when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if record.stack_info:
            exc = f"{exc}\n{record.stack_info}" if exc else record.stack_info
        if exc:
            entry["exc"] = exc
        return json.dumps(entry, ensure_ascii=False)


def is_log_level(text: str) -> bool:
    """True for a level name mediabot accepts (any case)."""
    return text.upper() in LEVELS


def configure_logging(level: str = "INFO", secrets: Iterable[str] = (), fmt: str = "text") -> RedactSecrets:
    """Send every log record to stderr through a secret-redacting filter; replaces earlier handlers.

    `fmt`: "text" or "json" (one object per line)."""
    root = logging.getLogger()
    # A handler without the filter would print the token: this is the process's only one.
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonLines() if fmt == "json" else text)
    redactor = RedactSecrets(secrets)
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return redactor


def ensure_redacted(secrets: Iterable[str], level: str = "INFO", fmt: str = "text") -> RedactSecrets:
    """Keep the existing logging setup but make sure every handler redacts `secrets`; set it up if none."""
    root = logging.getLogger()
    if not root.handlers:
        return configure_logging(level, secrets, fmt)
    redactor = RedactSecrets(secrets)
    for handler in root.handlers:
        handler.addFilter(redactor)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
    return redactor


def report_error(line: str) -> None:
    """Print a one-line error for the operator on stderr: redacted, and a JSON object when the
    logs are JSON (a log shipper reading stderr then never meets a line it cannot parse)."""
    handler = next((h for h in logging.getLogger().handlers if h.get_name() == _HANDLER_NAME), None)
    redactors = [f for f in handler.filters if isinstance(f, RedactSecrets)] if handler else []
    for redactor in redactors:
        line = redactor.redact(line)
    line = redact_url(line)
    if handler is not None and isinstance(handler.formatter, JsonLines):
        record = logging.LogRecord("mediabot", logging.ERROR, __file__, 0, line, None, None)
        line = handler.formatter.format(record)
    print(line, file=sys.stderr, flush=True)
