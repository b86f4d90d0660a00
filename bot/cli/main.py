"""Command-line interface: a thin layer over the same services the bot uses."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import __version__
from bot.cli.progress import ProgressReporter
from bot.config import Config, load_config
from bot.errors import ConfigError, MediabotError, QueryError
from bot.logsetup import configure_logging
from bot.settings import Settings

log = logging.getLogger("mediabot")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="mediabot", description="Press monitoring: poll feeds, search the archive, run the Telegram bot."
    )
    parser.add_argument(
        "--config",
        default=env.get("MEDIABOT_CONFIG") or "feeds.yaml",
        help="feeds.yaml to use (env MEDIABOT_CONFIG, default ./feeds.yaml)",
    )
    parser.add_argument(
        "--db",
        default=env.get("MEDIABOT_DB") or "data/mediabot.db",
        help="SQLite database (env MEDIABOT_DB, default ./data/mediabot.db)",
    )
    parser.add_argument(
        "--log-level",
        default=env.get("MEDIABOT_LOG_LEVEL") or "INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
    )
    parser.add_argument("--version", action="version", version=f"mediabot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    poll = sub.add_parser("poll", help="poll the feeds (keeps polling; --once for one round)")
    poll.add_argument("--once", action="store_true", help="poll every active source once, then exit")

    search = sub.add_parser("search", help="search the archive")
    search.add_argument("query", nargs="+", help='query: words, "phrases", OR, -word, source:ID, since:7d')
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", help="one JSON object per line")

    sources = sub.add_parser("sources", help="monitored sources and their health")
    sources.add_argument("--json", action="store_true", help="one JSON object per line")

    sub.add_parser("check-config", help="validate feeds.yaml and exit")
    imp = sub.add_parser("import-opml", help="add the feeds of an OPML file as sources")
    imp.add_argument("file", type=Path)
    exp = sub.add_parser("export-opml", help="print the sources as OPML")
    exp.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    sub.add_parser("run", help="run the Telegram bot and the poller in one process")
    sub.add_parser("health", help="exit 0 when the database answers and feeds were checked recently")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `mediabot` command."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(args.log_level, secrets=[settings.token] if settings.token else [])
        config = load_config(args.config)
        return _dispatch(args, config, settings)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except QueryError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MediabotError as err:
        print(f"error: {err}", file=sys.stderr)
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
    if args.command == "import-opml":
        return commands.import_opml(config, args.db, args.file)
    if args.command == "export-opml":
        return commands.export_opml(config, args.db, args.output)
    if args.command == "health":
        return commands.health(config, args.db)
    if args.command == "run":
        from dataclasses import replace

        from bot.telegram.app import run_bot

        return run_bot(replace(settings, config_path=args.config, db_path=args.db), config)
    raise AssertionError(args.command)
