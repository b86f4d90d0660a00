"""The first contact with the Bot API at `mediabot run`: one line and an exit code when it fails.

A wrong TELEGRAM_API_URL (a web server, a proxy's error page) answers HTML. PTB then logs
the whole body with a traceback and puts the body into its exception text as well; the
body may be huge or hold anything, so neither is ever shown: its logger's record is
shortened to a size, and the exception is read for its HTTP status only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.logsetup import RedactSecrets
from bot.settings import Settings

# PTB's logger for a body that is not JSON (telegram.request._baserequest.parse_json_payload).
PTB_REQUEST_LOGGER = "telegram.request.BaseRequest"
_NOT_JSON_RECORD = "Can not load invalid JSON data"
_NOT_JSON_ERROR = "Invalid server response"  # PTB's TelegramError for such a body
_STATUS = re.compile(r"\((\d{3})\)\. Parsing the server response")
_MAX_REASON = 200  # characters of an error text shown (a hostile server chooses it)


class NotJsonAnswers(logging.Filter):
    """Shortens PTB's record of a non-JSON answer to its size; drops it while `silent`."""

    def __init__(self) -> None:
        super().__init__()
        self.silent = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(_NOT_JSON_RECORD):
            return True
        if self.silent:
            return False
        body = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        record.msg, record.args = "the Bot API answered %d characters that are not JSON (not shown)", (len(str(body)),)
        record.exc_info, record.exc_text = None, None
        return True


def install_not_json_filter() -> NotJsonAnswers:
    """The filter on PTB's request logger (once per process)."""
    logger = logging.getLogger(PTB_REQUEST_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, NotJsonAnswers):
            return existing
    quiet = NotJsonAnswers()
    logger.addFilter(quiet)
    return quiet


def check_token(
    loop: asyncio.AbstractEventLoop,
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    redactor: RedactSecrets,
) -> int | None:
    """getMe once before anything starts (PTB's own retry loop would log a traceback); None when it worked."""
    quiet = install_not_json_filter()
    quiet.silent = True  # the one line below says it
    try:
        loop.run_until_complete(application.initialize())
    except TelegramError as err:
        if isinstance(err, InvalidToken) and not _not_json(err):
            print("error: Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN.", file=sys.stderr)
            return 2
        line = f"error: cannot reach Telegram at {settings.api_url}: {unreachable_reason(err)}"
        print(redactor.redact(line), file=sys.stderr)
        return 1
    finally:
        quiet.silent = False
    return None


def unreachable_reason(err: TelegramError) -> str:
    """Why the Bot API could not be used, in one short line that never quotes an answer's body."""
    if _not_json(err):
        status = _STATUS.search(" ".join(str(e) for e in (err, err.__cause__) if e is not None))
        got = f"HTTP {status.group(1)}, not JSON" if status else "not JSON"
        return f"the answer is not the Bot API's ({got}): is TELEGRAM_API_URL a Bot API server?"
    text = " ".join(str(err).split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _not_json(err: BaseException) -> bool:
    """The answer's body could not be read as JSON (PTB raises that error alone, or chains it)."""
    seen: BaseException | None = err
    for _ in range(5):  # Bot.initialize re-raises InvalidToken from the request's own
        if seen is None:
            return False
        if isinstance(seen, TelegramError) and seen.message == _NOT_JSON_ERROR:
            return True
        seen = seen.__cause__
    return False
