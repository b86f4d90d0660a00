"""AccessService on a real Runtime and SQLite file: who may talk to the bot, requests, decisions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import config_from_dict
from bot.errors import ConfigError
from bot.runtime import Runtime
from bot.services.access import AccessService, Ask, AttemptThrottle, NotAdmin
from bot.store import access as store
from bot.telegram.handlers.common import ADMIN_COMMANDS
from bot.telegram.i18n import t_plain
from bot.telegram.limiter import CourtesyBudget

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
        (ADMIN, OTHER_GROUP, "supergroup", True),  # admins choose where the bot speaks
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


# ---- issue 9: refusals an hour apart, the cool-down, /users pages, the courtesy budget


class Clock:
    """A settable clock for the service (the time is an input, like any other)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_one_refusal_an_hour_per_chat_and_remembered_across_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    first = await _runtime(tmp_path, "private")
    try:
        service = AccessService(first, clock=clock)
        assert await service.refusal_due(STRANGER)
        assert await service.claim_refusal(STRANGER) is True
        assert await service.claim_refusal(STRANGER) is False  # a second message in the same hour
        assert await service.refusal_due(OTHER_GROUP)  # chats are counted apart
    finally:
        await first.aclose()
    second = await _runtime(tmp_path, "private")
    try:
        service = AccessService(second, clock=clock)
        clock.now += timedelta(minutes=59)
        assert not await service.refusal_due(STRANGER)
        clock.now += timedelta(minutes=2)
        assert await service.refusal_due(STRANGER)
        assert await service.claim_refusal(STRANGER) is True
    finally:
        await second.aclose()


async def test_old_refusals_are_forgotten(runtime: Runtime) -> None:
    clock = Clock()
    service = AccessService(runtime, clock=clock)
    for chat in range(1, 51):
        await service.claim_refusal(chat)
    clock.now += timedelta(hours=2)
    await service.claim_refusal(STRANGER)
    remaining = await runtime.read(lambda rt: rt.reader().execute("SELECT chat_id FROM refusals").fetchall())
    assert remaining == [(STRANGER,)]  # the table holds only the last hour's refusals


async def test_a_denied_user_asks_again_after_the_cooldown(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "organization": {"name": "Sở Thông tin và Truyền thông Đồng Tháp"},
            "access": {"admins": [ADMIN], "request_cooldown": "3d"},
        }
    )
    runtime = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    try:
        clock = Clock()
        service = AccessService(runtime, clock=clock)
        assert (await service.ask(STRANGER, "Võ Thị Đẹp", None)).notify_admins
        await service.decide(ADMIN, STRANGER, approve=False)
        denied_at = clock.now
        clock.now += timedelta(days=2, hours=23)
        ask = await service.ask(STRANGER, "Võ Thị Đẹp", None)
        assert ask == Ask(notify_admins=False, retry_at=denied_at + timedelta(days=3))
        assert await service.pending() == []
        clock.now += timedelta(hours=1)
        assert (await service.ask(STRANGER, "Võ Thị Đẹp", "dep_vo")).notify_admins
        assert [(u.id, u.status, u.username) for u in await service.pending()] == [(STRANGER, "pending", "dep_vo")]
        assert (await service.ask(STRANGER, "Võ Thị Đẹp", None)).notify_admins is False  # once per asking
        assert [r.action for r in await _audit(runtime)] == ["user.asked_again", "user.denied"]
    finally:
        await runtime.aclose()


async def test_revoked_users_count_as_denied(access: AccessService, runtime: Runtime) -> None:
    await access.decide(ADMIN, STRANGER, approve=True)
    assert await access.revoke(ADMIN, STRANGER) is True
    assert not await access.is_allowed(STRANGER, STRANGER, "private")
    assert await access.revoke(ADMIN, STRANGER) is False
    with pytest.raises(NotAdmin):
        await access.revoke(CONFIG_USER, STRANGER)
    assert [r.action for r in await _audit(runtime)] == ["user.revoked", "user.approved"]


async def test_users_pages_are_bounded_and_clamped(access: AccessService) -> None:
    for n in range(23):
        await access.request_access(10_000 + n, f"Người dùng {n}", None)
    first = await access.users_page("pending", 0)
    assert (first.page, first.pages, len(first.rows), first.counts["pending"]) == (0, 3, 10, 23)
    last = await access.users_page("pending", 99)
    assert (last.page, len(last.rows), last.rows[-1].id) == (2, 3, 10_022)
    empty = await access.users_page("approved", -5)
    assert (empty.page, empty.pages, empty.rows) == (0, 1, [])
    with pytest.raises(ValueError):
        await access.users_page("everyone", 0)


async def test_refused_attempts_are_audited_once_a_minute_per_user(runtime: Runtime) -> None:
    clock = Clock()
    service = AccessService(runtime, clock=clock)
    assert await service.refused_attempt(CONFIG_USER, "/addsource http://127.0.0.1/" + "x" * 500)
    assert not await service.refused_attempt(CONFIG_USER, "acc:a:222")
    assert await service.refused_attempt(STRANGER, "/users")
    clock.now += timedelta(minutes=1)
    assert await service.refused_attempt(CONFIG_USER, "acc:a:222")
    rows = await _audit(runtime)
    assert [(r.actor_id, r.action, r.target) for r in rows][:2] == [
        (CONFIG_USER, "admin.refused", "acc:a:222"),
        (STRANGER, "admin.refused", "/users"),
    ]
    assert len(rows) == 3 and len(rows[2].target or "") == 200


def test_attempt_throttle_memory_is_bounded() -> None:
    throttle = AttemptThrottle(capacity=100)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert all(throttle.allow(user, now) for user in range(1000))
    assert len(throttle._last) == 100
    assert not throttle.allow(999, now) and throttle.allow(0, now)  # the oldest were forgotten


def test_courtesy_budget_gives_a_burst_then_its_rate() -> None:
    now = [100.0]
    budget = CourtesyBudget(rate=1.0, burst=5, clock=lambda: now[0])
    assert [budget.take() for _ in range(7)] == [True] * 5 + [False] * 2
    now[0] += 2.5
    assert [budget.take() for _ in range(3)] == [True, True, False]
    now[0] += 3600
    assert sum(budget.take() for _ in range(10)) == 5  # never more than the burst at once


@pytest.mark.parametrize(("value", "seconds"), [("3d", 3 * 86400), ("12h", 43200), (None, 7 * 86400)])
def test_request_cooldown_is_read_from_the_config(value: str | None, seconds: float) -> None:
    access: dict[str, Any] = {"admins": [ADMIN]} | ({"request_cooldown": value} if value else {})
    config = config_from_dict({"organization": {"name": "Sở"}, "access": access})
    assert config.access.request_cooldown == seconds


@pytest.mark.parametrize("value", ["soon", "-1d", 0, True])
def test_a_bad_request_cooldown_is_one_clear_error(value: object) -> None:
    with pytest.raises(ConfigError, match=r"access\.request_cooldown"):
        config_from_dict({"organization": {"name": "Sở"}, "access": {"request_cooldown": value}})


def test_admin_commands_are_the_admin_help() -> None:
    named = set(re.findall(r"(?<![\w/:.@-])/([a-z][a-z0-9_]*)", t_plain("help.admin", "vi")))
    assert named == set(ADMIN_COMMANDS)
