"""Logging for every mediabot process: one stderr handler whose filter removes secrets.

The bot token travels in every Bot API URL (`/bot<token>/getUpdates`), and httpx logs
request URLs at INFO, so a secret can reach a log line through the message, its
arguments, an exception text or a stack. The filter redacts all of them before any
formatting happens; it sits on the handler, so records of every logger pass it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

REDACTED = "[REDACTED]"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_HANDLER_NAME = "mediabot-stderr"
# These log a line per HTTP request (with the token in it); their warnings are enough.
_CHATTY_LOGGERS = ("httpx", "httpcore")


class RedactSecrets(logging.Filter):
    """Replace each secret (and a bot token's secret half) with [REDACTED] in a record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = _secret_variants(secrets)

    def redact(self, text: str) -> str:
        """`text` with every known secret replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
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


def secrets_of(settings: Settings) -> list[str]:
    """Every secret a process holds: the bot token and the webhook secret (PTB logs setWebhook's
    parameters, secret_token included, at DEBUG)."""
    return [secret for secret in (settings.token, settings.webhook_secret) if secret]


def is_log_level(text: str) -> bool:
    """True for a level name mediabot accepts (any case)."""
    return text.upper() in LEVELS


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> RedactSecrets:
    """Send every log record to stderr through a secret-redacting filter; replaces earlier handlers."""
    root = logging.getLogger()
    # A handler without the filter would print the token: this is the process's only one.
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = RedactSecrets(secrets)
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return redactor


def ensure_redacted(secrets: Iterable[str], level: str = "INFO") -> RedactSecrets:
    """Keep the existing logging setup but make sure every handler redacts `secrets`; set it up if none."""
    root = logging.getLogger()
    if not root.handlers:
        return configure_logging(level, secrets)
    redactor = RedactSecrets(secrets)
    for handler in root.handlers:
        handler.addFilter(redactor)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))
    return redactor
