"""Command-line interface: a thin layer over the same services the bot uses."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from bot import __version__
from bot.cli.progress import ProgressReporter
from bot.config import Config, load_config, parse_duration
from bot.errors import ConfigError, MediabotError, QueryError
from bot.logsetup import FORMATS, LEVELS, configure_logging, report_error
from bot.settings import Settings

log = logging.getLogger("mediabot")
MAX_STATS_DAYS = 3660
# What a shell reports for a program killed by SIGPIPE (128 + 13): `mediabot search x | head -1`
# under `set -o pipefail` fails the way `seq 100000 | head -1` does, and says nothing.
PIPE_CLOSED = 141


_PERIOD_HELP = "7d, 30d (default), 'tháng này', 'this month', 2026-09-01..2026-09-30, 1/9/2026..30/9/2026"


_BAD_COMMAND = re.compile(r"argument COMMAND: invalid choice: '(.*)' \(choose from")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (argparse prints the whole usage first); a mistyped command gets a guess."""

    commands: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        typed = _BAD_COMMAND.match(message)
        if typed:
            close = difflib.get_close_matches(typed.group(1), self.commands, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else f"; the commands are {', '.join(self.commands)}"
            message = f"unknown command {typed.group(1)!r}{guess}"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """--config, --db, --log-level, --log-format: on the main parser with their defaults, and on every command
    without (SUPPRESS), so that `mediabot sources --db x` means `mediabot --db x sources`."""
    env = os.environ

    def default(value: str | None) -> str | None:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--config",
        default=default(env.get("MEDIABOT_CONFIG") or "feeds.yaml"),
        help="feeds.yaml to use (env MEDIABOT_CONFIG, default ./feeds.yaml)",
    )
    parser.add_argument(
        "--db",
        default=default(env.get("MEDIABOT_DB") or "data/mediabot.db"),
        help="SQLite database (env MEDIABOT_DB, default ./data/mediabot.db)",
    )
    # No default value: argparse does not check a default against `choices`, so the env
    # value is checked (and defaulted) by Settings.from_env instead.
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        type=str.upper,
        default=default(None),
        help="DEBUG, INFO, WARNING or ERROR (env MEDIABOT_LOG_LEVEL)",
    )
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        type=str.lower,
        default=default(None),
        help="text (default) or json: one JSON object per line (env MEDIABOT_LOG_FORMAT)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mediabot",
        description="Press monitoring: poll feeds, search the archive, run the Telegram bot.",
        epilog="--config, --db, --log-level and --log-format may also follow the command.",
    )
    _global_options(parser, defaults=True)
    parser.add_argument("--version", action="version", version=f"mediabot {__version__}")
    common = _Parser(add_help=False)
    _global_options(common, defaults=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_commands(sub, common)
    parser.commands = tuple(sub.choices)
    return parser


def _add_commands(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    def command(name: str, help: str, description: str | None = None, epilog: str | None = None) -> _Parser:
        return sub.add_parser(name, help=help, parents=[common], description=description, epilog=epilog)

    poll = command("poll", help="poll the feeds (keeps polling; --once for one round)")
    poll.add_argument("--once", action="store_true", help="poll every active source once, then exit")

    search = command("search", help="search the archive")
    search.add_argument("query", nargs="+", help='query: words, "phrases", OR, -word, source:ID, since:7d')
    search.add_argument("--limit", type=_at_least_one, default=10, help="at most this many results (default 10)")
    search.add_argument("--json", action="store_true", help="one JSON object per line")

    sources = command("sources", help="monitored sources and their health")
    sources.add_argument("--json", action="store_true", help="one JSON object per line")

    outbox = command("outbox", help="alerts and messages waiting, sent and failed; chats paused by 403")
    outbox.add_argument("--json", action="store_true", help="one JSON object")

    command("check-config", help="validate feeds.yaml and exit")
    imp = command("import-opml", help="add the feeds of an OPML file as sources")
    imp.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="an OPML file, as feed readers export it: each outline with an xmlUrl becomes a source",
    )
    exp = command("export-opml", help="print the sources as OPML")
    exp.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    report = command("report", help="a campaign's coverage report from its stored matches")
    report.add_argument("campaign", help="campaign id (feeds.yaml campaigns[].id)")
    report.add_argument("--period", default="", help=_PERIOD_HELP)
    report.add_argument("--json", action="store_true", help="one JSON object")
    export = command("export", help="every article a campaign matched, as XLSX or CSV")
    export.add_argument("campaign", help="campaign id (feeds.yaml campaigns[].id)")
    export.add_argument("--period", default="", help=_PERIOD_HELP)
    export.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="xlsx (default) or csv")
    export.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    review = command("press-review", help="a day's press review (điểm báo): Markdown or a Word document")
    review.add_argument("--date", default="", help="the local day (default yesterday): 2026-09-14, 14/9/2026, hôm qua")
    review.add_argument("--format", choices=("md", "docx"), default="md", help="md (default) or docx")
    review.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    command(
        "run",
        help="run the Telegram bot and the poller in one process",
        description="Run the Telegram bot, the feed poller and alert delivery in one process, "
        "until SIGINT or SIGTERM (then exit 0).",
        epilog="Environment: TELEGRAM_BOT_TOKEN (required: the token @BotFather gave you, <bot id>:<35 or more "
        "characters>); TELEGRAM_API_URL (default https://api.telegram.org); MEDIABOT_WEBHOOK_URL for a webhook "
        "instead of long polling (with MEDIABOT_WEBHOOK_LISTEN, MEDIABOT_WEBHOOK_PORT, MEDIABOT_WEBHOOK_SECRET); "
        "TELEGRAM_BOT_TOKEN_FILE instead of TELEGRAM_BOT_TOKEN: a file holding the token (a container secret).",
    )
    command("health", help="exit 0 when the database answers and feeds were checked recently")
    _add_operations(command)


def _add_operations(command: Callable[..., _Parser]) -> None:
    backup = command(
        "backup",
        help="copy the database to PATH (safe while mediabot run writes; owner-only file)",
        epilog="Restore: stop mediabot, copy PATH over the database file (delete its -wal and -shm files), "
        "start mediabot (newer migrations run at start).",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    prune = command("prune", help="delete articles older than feeds.yaml retention (mediabot run does it daily)")
    prune.add_argument("--older-than", type=_duration, help="instead of feeds.yaml retention, e.g. 365d")
    stats = command("stats", help="articles per day and source, database size, outbox, subscriptions")
    stats.add_argument("--days", type=_days, default=14, help="articles per day of the last N days (14, at most 3660)")
    stats.add_argument("--json", action="store_true", help="one JSON object (keys documented in README)")


def _days(text: str) -> int:
    value = _at_least_one(text)
    if value > MAX_STATS_DAYS:  # past a few thousand, dates leave the calendar (OverflowError)
        raise argparse.ArgumentTypeError(f"at most {MAX_STATS_DAYS} days (ten years), got {value}")
    return value


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds < 86400:
        raise argparse.ArgumentTypeError(f"must be at least 1d, got {text!r}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mediabot` command."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # a reader that left (`| head`) fails here, not in the interpreter's exit
    except BrokenPipeError:
        # Anything still buffered would fail again at exit: point stdout at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    return code


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    code = _run_parsed(args)
    # Docker reserves a health check's exit 2: a bad config is unhealthy too, and says why.
    return min(code, 1) if args.command == "health" else code


def _run_parsed(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        settings = replace(
            settings, log_level=args.log_level or settings.log_level, log_format=args.log_format or settings.log_format
        )
        configure_logging(settings.log_level, settings.secrets(), settings.log_format)
        config = load_config(args.config)
        return _dispatch(args, config, settings)
    except (ConfigError, QueryError) as err:
        report_error(f"error: {err}")
        return 2
    except MediabotError as err:
        report_error(f"error: {err}")
        return 1
    except sqlite3.Error as err:  # a folder or a non-database as --db, a database locked too long
        report_error(f"error: {args.db}: cannot use the database: {err}")
        return 1
    except BrokenPipeError:
        raise
    except OSError as err:  # e.g. --db in a folder that cannot be created or written
        where = f"{err.filename}: " if err.filename else ""
        report_error(f"error: {where}{err.strerror or err}")
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, config: Config, settings: Settings) -> int:
    from bot.cli import commands

    if args.command == "check-config":
        return commands.check_config(config)
    if args.command == "poll":
        return asyncio.run(commands.poll(config, args.db, once=args.once, progress=ProgressReporter()))
    if args.command == "search":
        return commands.search(config, args.db, " ".join(args.query), limit=args.limit, as_json=args.json)
    if args.command == "sources":
        return commands.sources(config, args.db, as_json=args.json)
    if args.command == "outbox":
        from bot.cli.outbox import outbox

        return outbox(config, args.db, as_json=args.json)
    if args.command == "import-opml":
        return commands.import_opml(config, args.db, args.file)
    if args.command == "export-opml":
        return commands.export_opml(config, args.db, args.output)
    if args.command in ("report", "export"):
        from bot.cli import reports

        if args.command == "report":
            return reports.report(config, args.db, args.campaign, args.period, as_json=args.json)
        return reports.export(config, args.db, args.campaign, args.period, fmt=args.format, output=args.output)
    if args.command == "press-review":
        from bot.cli.press_review import press_review_command

        return press_review_command(config, args.db, args.date, fmt=args.format, output=args.output)
    if args.command == "health":
        return commands.health(config, args.db)
    if args.command in ("backup", "prune", "stats"):
        from bot.cli import operations

        if args.command == "backup":
            return operations.backup_command(config, args.db, args.path, force=args.force)
        if args.command == "prune":
            return operations.prune_command(config, args.db, args.older_than)
        return operations.stats_command(config, args.db, days=args.days, as_json=args.json)
    if args.command == "run":
        from bot.telegram.app import run_bot

        return run_bot(replace(settings, config_path=args.config, db_path=args.db), config)
    raise AssertionError(args.command)
