"""Access withdrawn after alerts were queued: delivery checks, just before each send, that the
subscription's chat may still receive (the recorder's rule), and skips what it may not.

A real Runtime on a SQLite file, the real sender with PTB against the fake Bot API: alerts and
a digest are queued for three chats, then one user is denied by an admin and another dropped
from `access.users` by a reload; only the chat that kept its access gets anything.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from telegram.ext import ExtBot

from bot.alerts.delivery import NO_ACCESS, Delivery, DeliveryOptions
from bot.alerts.digest import send_due_digests
from bot.alerts.pacing import Pacer
from bot.alerts.service import SubscriptionService
from bot.config import Config, load_config
from bot.runtime import Runtime
from bot.store import access as access_store
from bot.telegram.alerts import AlertRenderer
from bot.telegram.handlers.subscriptions import render_digest
from bot.telegram.limiter import SharedRateLimiter
from bot.telegram.sender import BotTransport
from tests.conftest import config_dict
from tests.fakes.telegram import FakeTelegram
from tests.test_subscriptions import ADMIN, LAN, STRANGER, TZ, article, follow, place, publish

THU = 1005


def configure(tmp: Path, users: list[int]) -> Config:
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "http://127.0.0.1:9/dt.rss"}],
        access={"admins": [ADMIN], "users": users},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


@asynccontextmanager
async def delivering(srv: FakeTelegram, rt: Runtime) -> AsyncIterator[Delivery]:
    """The sender of `mediabot run` on the runtime's writer, asking the runtime's access rule."""
    pacer = Pacer()
    bot: ExtBot[Any] = ExtBot(srv.token, base_url=srv.base_url, rate_limiter=SharedRateLimiter(pacer))
    await bot.initialize()
    service = SubscriptionService(rt)
    delivery = Delivery(
        rt.write,
        BotTransport(bot),
        AlertRenderer(TZ, "vi"),
        pacer,
        may_receive=service.may_receive,
        migrate=service.chat_migrated,
        wake=rt.outbox_wake,
        options=DeliveryOptions(backoff_s=(0.2, 0.2, 0.2)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop))
    try:
        yield delivery
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await bot.shutdown()


async def drained(rt: Runtime, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while rows_by_state(rt).get("pending"):
        assert time.monotonic() < deadline, f"the outbox did not drain: {rows_by_state(rt)}"
        await asyncio.sleep(0.02)


def rows_by_state(rt: Runtime) -> dict[str, int]:
    return dict(rt.reader().execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


def outbox_of(rt: Runtime, chat_id: int) -> list[tuple[str, str, str | None]]:
    sql = "SELECT kind, status, last_error FROM outbox WHERE chat_id = ? ORDER BY id"
    return [tuple(r) for r in rt.reader().execute(sql, (chat_id,))]  # type: ignore[misc]


async def test_alerts_queued_before_access_was_withdrawn_are_never_sent(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    srv = fake_telegram
    for user_id, name in ((LAN, "Lan"), (STRANGER, "Người lạ"), (THU, "Thu")):
        srv.user(user_id, name, language_code="vi")
    config = configure(tmp_path, [LAN, THU])
    rt = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await rt.start()
    try:
        now = datetime.now(UTC)
        await rt.write(access_store.record_decision, ADMIN, STRANGER, access_store.APPROVED, now)
        for user_id in (LAN, STRANGER, THU):
            await follow(rt, "bão", place(user_id, user=user_id))
        await follow(rt, "daily 07:30 lũ", place(STRANGER, user=STRANGER))
        await publish(rt, article("Bão số 9 đổ bộ Đồng Tháp"), article("Bão số 10 suy yếu"), article("Lũ về sớm"))
        local_tomorrow = datetime.now(TZ).replace(hour=8, minute=0) + timedelta(days=1)
        render = functools.partial(render_digest, tz=TZ)
        assert await rt.write(send_due_digests, rt.config, local_tomorrow, render) == 1
        assert [kind for kind, _, _ in outbox_of(rt, STRANGER)] == ["alert", "alert", "digest"]
        assert len(outbox_of(rt, THU)) == 2 and len(outbox_of(rt, LAN)) == 2

        # Withdrawn after queueing: an admin denies the stranger, and Thu leaves access.users.
        await rt.write(access_store.record_decision, ADMIN, STRANGER, access_store.DENIED, now)
        await rt.reload(configure(tmp_path, [LAN]))
        async with delivering(srv, rt):
            await drained(rt)
        for chat_id in (STRANGER, THU):
            assert {(status, error) for _, status, error in outbox_of(rt, chat_id)} == {("skipped", NO_ACCESS)}
        assert {status for _, status, _ in outbox_of(rt, LAN)} == {"sent"}
    finally:
        await rt.aclose()
    sent = [c for c in srv.sent if c.method == "sendMessage"]
    titles = ("Bão số 9 đổ bộ Đồng Tháp", "Bão số 10 suy yếu", "Lũ về sớm")
    assert sorted(t for c in sent for t in titles if t in c.text) == sorted(titles[:2])
    assert {c.chat_id for c in sent} == {LAN} and all(c.ok for c in sent)


async def test_group_alerts_follow_access_chats_like_answers(tmp_path: Path) -> None:
    """In private mode a member's subscription in a group nobody allowed gets nothing queued (every
    member there would read it); the same member's in an allowed group does, and an admin's anywhere."""
    open_group, closed_group, admins_group = -100501, -100502, -100503
    data = config_dict(
        sources=[{"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "http://127.0.0.1:9/dt.rss"}],
        access={"admins": [ADMIN], "users": [LAN], "chats": [open_group]},
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rt = Runtime(load_config(path), tmp_path / "db.sqlite", parser_workers=0)
    await rt.start()
    try:
        # As if made before access.chats changed: the handlers now refuse Lan in the closed group.
        await follow(rt, "đường dây nóng", place(open_group, user=LAN, kind="supergroup"))
        await follow(rt, "đường dây nóng", place(closed_group, user=LAN, kind="supergroup"))
        await follow(rt, "đường dây nóng", place(admins_group, user=ADMIN, kind="supergroup"))
        await publish(rt, article("Đường dây nóng của Sở tiếp nhận 40 phản ánh"))
        assert len(outbox_of(rt, open_group)) == 1
        assert len(outbox_of(rt, admins_group)) == 1
        assert outbox_of(rt, closed_group) == []
    finally:
        await rt.aclose()
