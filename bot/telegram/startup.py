"""The bot token's life at `mediabot run`: the first contact with the Bot API, and the token
revoked while running; each ends in one line and an exit code.

A wrong TELEGRAM_API_URL (a web server, a proxy's error page) answers HTML. PTB then logs
the whole body with a traceback and puts the body into its exception text as well; the
body may be huge or hold anything, so neither is ever shown: its logger's record is
shortened to a size, and the exception is read for its HTTP status only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from bot.logsetup import RedactSecrets, report_error
from bot.settings import Settings

log = logging.getLogger(__name__)

# PTB's logger for a body that is not JSON (telegram.request._baserequest.parse_json_payload).
PTB_REQUEST_LOGGER = "telegram.request.BaseRequest"
_NOT_JSON_RECORD = "Can not load invalid JSON data"
_NOT_JSON_ERROR = "Invalid server response"  # PTB's TelegramError for such a body
_STATUS = re.compile(r"\((\d{3})\)\. Parsing the server response")
_MAX_REASON = 200  # characters of an error text shown (a hostile server chooses it)
# PTB's network loop (logger telegram.ext) logs a 401 while polling with a traceback, and its
# Updater another one when the last getUpdates at shutdown is refused too.
PTB_RUN_LOGGERS = ("telegram.ext", "telegram.ext.Updater", "telegram.ext.Application")
_LOOP_INVALID_TOKEN = "Invalid token. Aborting retry loop."
REVOKED = (
    "error: Telegram no longer accepts the bot token (401 Unauthorized): it was revoked or replaced "
    "with @BotFather; put the new one in TELEGRAM_BOT_TOKEN (or TELEGRAM_BOT_TOKEN_FILE) and start mediabot again. "
    "Alerts not yet sent stay in the outbox."
)


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


class TokenWatch(logging.Filter):
    """Stops a running bot once the Bot API refuses its token (401), so the process exits with one line.

    Without it PTB's polling task died with a traceback, the process kept running without
    Telegram until a signal, and stopping then skipped the shutdown (the database and the
    outbox sender were left to "Task was destroyed but it is pending")."""

    def __init__(self) -> None:
        super().__init__()
        self.revoked = False
        self._application: Application[Any, Any, Any, Any, Any, Any] | None = None

    def watch(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """From now on a 401 stops `application` (before: check_token says it)."""
        self._application = application
        for name in PTB_RUN_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def rejected(self) -> None:
        """A Bot API request was answered 401 (bot.telegram.limiter calls this)."""
        if self._application is None or self.revoked:
            return
        self.revoked = True
        log.debug("the Bot API refused the token: stopping")
        self._application.stop_running()

    def filter(self, record: logging.LogRecord) -> bool:
        """getUpdates bypasses the rate limiter: its 401 shows only as PTB's record. Once the token
        is refused, PTB's tracebacks of that refusal are dropped: one line at the end says it."""
        if self._application is None:
            return True
        if _LOOP_INVALID_TOKEN in str(record.msg):
            self.rejected()
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not (self.revoked and isinstance(error, InvalidToken))

    def finish(self, loop: asyncio.AbstractEventLoop) -> None:
        """What PTB skips when stopping raises (its polling task ended on the 401): stop, shut down."""
        application = self._application
        if application is None:
            return
        with contextlib.suppress(TelegramError, RuntimeError):
            if application.running:
                loop.run_until_complete(application.stop())
            loop.run_until_complete(application.shutdown())
        if application.post_shutdown:
            loop.run_until_complete(application.post_shutdown(application))


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
            report_error("error: Telegram rejected the bot token (401): check TELEGRAM_BOT_TOKEN.")
            return 2
        line = f"error: cannot reach Telegram at {settings.api_url}: {unreachable_reason(err)}"
        report_error(redactor.redact(line))
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
