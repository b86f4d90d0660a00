"""The commands a user can find name the commands the bot has: Telegram's menu, /help, the README.

Every list is read from its source — the menu the bot registers with setMyCommands (through the fake
Bot API), each catalogue's /help text, the README's tables, the CommandHandlers the bot registers — so a
command added in one place and forgotten in another fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram import Bot
from telegram.ext import Application, CommandHandler

from bot.telegram.handlers import register_handlers, set_bot_commands
from bot.telegram.i18n import DEFAULT_LANGUAGE, LANGUAGES, t_plain
from tests.conftest import BOT_TOKEN
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
# "/name" at a word start (not inside a URL or a path), as /help and the README write commands.
COMMAND = re.compile(r"(?<![\w/:.@-])/([a-z][a-z0-9_]*)")


def _names(text: str) -> set[str]:
    return set(COMMAND.findall(text))


def readme_tables() -> tuple[set[str], set[str]]:
    """(user commands, admin commands) named in the first column of the README's "Telegram bot" tables."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Telegram bot\n", 1)[1].split("\n## ", 1)[0]
    user: set[str] = set()
    admin: set[str] = set()
    for row in section.splitlines():
        cells = row.split("|")
        if not row.startswith("|") or len(cells) < 3 or set(cells[1].strip()) <= set("-"):
            continue
        first = cells[1].strip()
        (admin if first.startswith("admin:") else user).update(_names(first))
    return user, admin


def registered_commands() -> set[str]:
    """Every command a CommandHandler answers, as the bot registers them."""
    application = Application.builder().token(BOT_TOKEN).build()
    register_handlers(application)
    handlers = [h for group in application.handlers.values() for h in group if isinstance(h, CommandHandler)]
    return {command for handler in handlers for command in handler.commands}


@pytest.fixture
async def menus(fake_telegram: FakeTelegram) -> dict[str, set[str]]:
    """The menu per language, as set_bot_commands registers it with the (fake) Bot API."""
    async with Bot(BOT_TOKEN, base_url=fake_telegram.base_url, base_file_url=fake_telegram.base_file_url) as bot:
        await set_bot_commands(bot, DEFAULT_LANGUAGE)
    return {
        lang: {c["command"] for c in fake_telegram.commands(language_code="" if lang == DEFAULT_LANGUAGE else lang)}
        for lang in LANGUAGES
    }


def test_the_readme_tables_are_read() -> None:
    user, admin = readme_tables()
    assert len(user) >= 5 and len(admin) >= 3 and not user & admin


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_menu_help_and_readme_name_the_same_commands(menus: dict[str, set[str]], lang: str) -> None:
    readme_user, readme_admin = readme_tables()
    menu, help_user, help_admin = menus[lang], _names(t_plain("help.text", lang)), _names(t_plain("help.admin", lang))
    assert menu, f"no menu registered for {lang}"
    assert help_user == menu, f"/help ({lang}) vs menu: {sorted(help_user ^ menu)}"
    assert readme_user == menu, f"README vs menu ({lang}): {sorted(readme_user ^ menu)}"
    assert help_admin == readme_admin, f"admin /help ({lang}) vs README: {sorted(help_admin ^ readme_admin)}"
    assert not menu & help_admin, f"admin commands in the public menu: {sorted(menu & help_admin)}"


async def test_every_registered_command_is_in_the_menu_or_the_admin_help(menus: dict[str, set[str]]) -> None:
    documented = menus[DEFAULT_LANGUAGE] | _names(t_plain("help.admin", DEFAULT_LANGUAGE))
    registered = registered_commands()
    assert registered - documented == set(), "registered but nowhere in the menu or the admin help"
    assert documented - registered == set(), "documented but no handler answers it"
