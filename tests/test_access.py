"""AccessService on a real Runtime and SQLite file: who may talk to the bot, requests, decisions."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import config_from_dict
from bot.runtime import Runtime
from bot.services.access import AccessService, NotAdmin
from bot.store import access as store

ADMIN, CONFIG_USER, STRANGER, OTHER = 111, 222, 333, 444
OFFICE_GROUP, OTHER_GROUP = -1001, -1002


def _config(mode: str = "private") -> Any:
    return config_from_dict(
        {
            "organization": {"name": "Sở Thông tin và Truyền thông Đồng Tháp"},
            "access": {"mode": mode, "admins": [ADMIN], "users": [CONFIG_USER], "chats": [OFFICE_GROUP]},
        }
    )


async def _runtime(tmp_path: Path, mode: str) -> Runtime:
    runtime = Runtime(_config(mode), tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    rt = await _runtime(tmp_path, "private")
    yield rt
    await rt.aclose()


@pytest.fixture
def access(runtime: Runtime) -> AccessService:
    return AccessService(runtime)


async def _audit(runtime: Runtime) -> list[store.AuditRow]:
    return await runtime.read(lambda rt: store.recent_audit(rt.reader()))


async def test_public_mode_allows_everyone(tmp_path: Path) -> None:
    rt = await _runtime(tmp_path, "public")
    try:
        service = AccessService(rt)
        assert await service.is_allowed(STRANGER, STRANGER, "private")
        assert await service.is_allowed(STRANGER, OTHER_GROUP, "supergroup")
    finally:
        await rt.aclose()


@pytest.mark.parametrize(
    ("user", "chat", "chat_type", "allowed"),
    [
        (ADMIN, ADMIN, "private", True),
        (CONFIG_USER, CONFIG_USER, "private", True),
        # In a group nobody allowed, nobody is answered: the whole group would read it (issue 9).
        (CONFIG_USER, OTHER_GROUP, "group", False),
        (ADMIN, OTHER_GROUP, "supergroup", False),
        (CONFIG_USER, OFFICE_GROUP, "supergroup", True),
        (STRANGER, STRANGER, "private", False),
        (STRANGER, OFFICE_GROUP, "supergroup", True),  # anyone in the office group
        (STRANGER, OFFICE_GROUP, "group", True),
        (STRANGER, OTHER_GROUP, "supergroup", False),
        # A configured chat id only vouches for a group, never for a private chat.
        (STRANGER, OFFICE_GROUP, "private", False),
    ],
)
async def test_private_mode_rules(access: AccessService, user: int, chat: int, chat_type: str, allowed: bool) -> None:
    assert await access.is_allowed(user, chat, chat_type) is allowed


def test_is_admin_reads_config(access: AccessService) -> None:
    assert access.is_admin(ADMIN)
    assert not access.is_admin(CONFIG_USER)
    assert not access.is_admin(STRANGER)


async def test_request_is_new_only_once(access: AccessService, runtime: Runtime) -> None:
    name = unicodedata.normalize("NFC", "Nguyễn Thị Đào")
    assert await access.request_access(STRANGER, name, "dao_nguyen") is True
    assert await access.request_access(STRANGER, name, "dao_nguyen") is False
    nfd = unicodedata.normalize("NFD", "Đào Nguyễn")
    assert await access.request_access(STRANGER, nfd, None) is False  # renamed, still one request
    pending = await access.pending()
    assert [(u.id, u.status, u.name, u.username) for u in pending] == [(STRANGER, "pending", "Đào Nguyễn", None)]
    assert not await access.is_allowed(STRANGER, STRANGER, "private")


async def test_approval_applies_at_once_and_is_audited(access: AccessService, runtime: Runtime) -> None:
    await access.request_access(STRANGER, "Trần Văn Hùng", None)
    assert not await access.is_allowed(STRANGER, STRANGER, "private")

    assert await access.decide(ADMIN, STRANGER, approve=True) is True
    assert await access.is_allowed(STRANGER, STRANGER, "private")
    assert not await access.is_allowed(STRANGER, OTHER_GROUP, "group")  # a group nobody allowed
    assert await access.pending() == []

    assert await access.decide(ADMIN, STRANGER, approve=True) is False  # nothing changes twice

    assert await access.decide(ADMIN, STRANGER, approve=False) is True
    assert not await access.is_allowed(STRANGER, STRANGER, "private")

    rows = await _audit(runtime)
    assert [(r.actor_id, r.action, r.target) for r in rows] == [
        (ADMIN, "user.denied", str(STRANGER)),
        (ADMIN, "user.approved", str(STRANGER)),
    ]
    user = await runtime.read(lambda rt: store.get_user(rt.reader(), STRANGER))
    assert user is not None
    assert (user.status, user.decided_by, user.name) == ("denied", ADMIN, "Trần Văn Hùng")


async def test_denied_user_asking_again_does_not_renotify(access: AccessService) -> None:
    assert await access.request_access(OTHER, "Lê Đức Thọ", None)
    await access.decide(ADMIN, OTHER, approve=False)
    assert await access.request_access(OTHER, "Lê Đức Thọ", None) is False
    assert not await access.is_allowed(OTHER, OTHER, "private")
    assert await access.pending() == []


async def test_admin_may_approve_someone_who_never_asked(access: AccessService) -> None:
    assert await access.decide(ADMIN, OTHER, approve=True) is True
    assert await access.is_allowed(OTHER, OTHER, "private")


async def test_only_admins_decide(access: AccessService, runtime: Runtime) -> None:
    await access.request_access(STRANGER, "Phạm Minh Đức", None)
    with pytest.raises(NotAdmin):
        await access.decide(CONFIG_USER, STRANGER, approve=True)
    assert not await access.is_allowed(STRANGER, STRANGER, "private")
    assert await _audit(runtime) == []


async def test_language_preference(access: AccessService) -> None:
    assert await access.language(STRANGER) is None
    await access.set_language(STRANGER, "en")
    assert await access.language(STRANGER) == "en"
    await access.set_language(STRANGER, "vi")
    assert await access.language(STRANGER) == "vi"
    assert await access.language(OTHER) is None
    with pytest.raises(ValueError):
        await access.set_language(STRANGER, "fr")
    assert await access.language(STRANGER) == "vi"


async def test_decisions_survive_a_restart(tmp_path: Path) -> None:
    first = await _runtime(tmp_path, "private")
    try:
        await AccessService(first).decide(ADMIN, STRANGER, approve=True)
        await AccessService(first).set_language(STRANGER, "en")
    finally:
        await first.aclose()
    second = await _runtime(tmp_path, "private")
    try:
        service = AccessService(second)
        assert await service.is_allowed(STRANGER, STRANGER, "private")
        assert await service.language(STRANGER) == "en"
    finally:
        await second.aclose()
