"""Subscriptions on a real Runtime and SQLite file: the /subscribe grammar, storing, the registry,
the recorder inside the store transaction (outbox rows, digest items), access, limits, digests."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.alerts.digest import DigestItem, is_due, run_digests, seconds_until_next, send_due_digests
from bot.alerts.outbox_rows import block_chat
from bot.alerts.service import Place, Spec, SubscriptionError, SubscriptionService
from bot.alerts.subscriptions import DAILY, INSTANT, SubscriptionRow
from bot.config import Config, load_config
from bot.errors import ConfigError, QueryError
from bot.models import Article
from bot.runtime import Runtime
from bot.saved_queries.saved_query import SUBSCRIPTION
from bot.services.archive import UnknownOutlet
from bot.store import access as access_store
from bot.store.articles import store_articles
from bot.telegram.handlers.subscriptions import render_digest
from tests.conftest import config_dict
from tests.fakes.telegram import parse_html

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN, LAN, STRANGER = 1001, 1002, 1003
GROUP = -100900
_numbers = itertools.count(1)


def write_config(tmp: Path, **overrides: Any) -> Config:
    data = config_dict(
        sources=[
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": "http://127.0.0.1:9/dt.rss"},
            {"id": "baocantho", "name": "Báo Cần Thơ", "url": "http://127.0.0.1:9/ct.rss"},
        ],
        campaigns=[{"id": "cds", "name": "Chuyển đổi số", "query": '"chuyển đổi số" OR "chính quyền số"'}],
        access={"admins": [ADMIN], "users": [LAN]},
        **overrides,
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime(write_config(tmp_path), tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    yield runtime
    await runtime.aclose()


def article(title: str, source: str = "baodongthap", summary: str = "", at: datetime | None = None) -> Article:
    number = next(_numbers)
    when = at or datetime.now(UTC) - timedelta(minutes=5)
    url = f"https://{source}.example.vn/bai-{number}.html"
    return Article(source, url, url, title, summary or f"Tin {number}", when, when)


async def publish(rt: Runtime, *articles: Article) -> tuple[int, ...]:
    """Store articles exactly as the poller does: one transaction with the registry's hook."""
    result = await rt.write(store_articles, [(list(articles), None)], (rt.registry.record_matches,))
    return result.new_ids


def outbox(rt: Runtime) -> list[tuple[int, int | None, int, str]]:
    """(chat, topic, subscription, title) of every alert row."""
    sql = """SELECT o.chat_id, o.thread_id, o.subscription_id, a.title FROM outbox o
             JOIN articles a ON a.id = o.article_id WHERE o.kind = 'alert' ORDER BY o.id"""
    return [tuple(r) for r in rt.reader().execute(sql)]  # type: ignore[misc]


def digest_rows(rt: Runtime) -> list[tuple[int, str]]:
    sql = "SELECT d.subscription_id, a.title FROM digest_items d JOIN articles a ON a.id = d.article_id ORDER BY 2"
    return [tuple(r) for r in rt.reader().execute(sql)]  # type: ignore[misc]


def place(chat_id: int = LAN, *, thread: int | None = None, user: int = LAN, kind: str = "private") -> Place:
    return Place(chat_id, thread, kind, user, "vi")


async def follow(rt: Runtime, text: str, where: Place | None = None) -> SubscriptionRow:
    service = SubscriptionService(rt)
    return (await service.subscribe(where or place(), await service.read_command(text))).subscription


# ---- the grammar


@pytest.mark.parametrize(
    ("text", "kind", "target", "query", "label", "mode", "at"),
    [
        ("chuyen doi so", "query", None, "chuyen doi so", "chuyen doi so", INSTANT, None),
        # Stored as the structured query reads (exclusions last): `-quảng cáo` excludes quảng only.
        ('"Đền Hùng" -quảng cáo', "query", None, '"Đền Hùng" cáo -quảng', '"Đền Hùng" cáo -quảng', INSTANT, None),
        ("daily 7:30 bão OR lũ", "query", None, "bão OR lũ", "bão OR lũ", DAILY, "07:30"),
        ("DAILY 18:05 news", "news", None, "", "Sở Thông tin và Truyền thông Đồng Tháp", DAILY, "18:05"),
        ("campaign cds", "campaign", "cds", "", "Chuyển đổi số", INSTANT, None),
        ("campaign chuyen doi so", "campaign", "cds", "", "Chuyển đổi số", INSTANT, None),
        ("source Báo Cần Thơ", "source", "baocantho", "", "Báo Cần Thơ", INSTANT, None),
        ("source baodongthap", "source", "baodongthap", "", "Báo Đồng Tháp", INSTANT, None),
        ("source:baocantho", "source", "baocantho", "", "Báo Cần Thơ", INSTANT, None),
        ("UBND source:baocantho", "query", None, "UBND source:baocantho", "UBND source:baocantho", INSTANT, None),
        ('"news"', "query", None, '"news"', '"news"', INSTANT, None),
    ],
)
async def test_subscribe_grammar(
    rt: Runtime, text: str, kind: str, target: str | None, query: str, label: str, mode: str, at: str | None
) -> None:
    spec = await SubscriptionService(rt).read_command(text)
    assert spec == Spec(kind, target, query, label, mode, at)


@pytest.mark.parametrize(
    ("text", "error", "code"),
    [
        ("", SubscriptionError, "usage"),
        ("daily 07:30", SubscriptionError, "usage"),
        ("daily 7h30 bão", SubscriptionError, "bad_time"),
        ("daily 24:00 bão", SubscriptionError, "bad_time"),
        ("bão lũ daily 07:30", SubscriptionError, "daily_first"),
        ("bão since:7d", SubscriptionError, "since"),
        ("campaign khong-co", SubscriptionError, "unknown_campaign"),
        ("bão source:baocanth", QueryError, "unknown_source"),
        ("bão since:2m", QueryError, "since_unit"),
        ("!!!", QueryError, "empty"),
        ('-"quảng cáo"', QueryError, "only_excluded"),
    ],
)
async def test_subscribe_mistakes_are_explained(rt: Runtime, text: str, error: type, code: str) -> None:
    with pytest.raises(error) as info:
        await SubscriptionService(rt).read_command(text)
    assert info.value.code == code


async def test_unknown_outlet_by_name(rt: Runtime) -> None:
    with pytest.raises(UnknownOutlet):
        await SubscriptionService(rt).read_command("source Báo Không Có")


# ---- matching inside the store transaction


async def test_instant_match_becomes_an_outbox_row_in_the_store_transaction(rt: Runtime) -> None:
    sub = await follow(rt, "chuyen doi so")
    assert [q.id for q in rt.registry.active(SUBSCRIPTION)] == [str(sub.id)]
    await publish(rt, article("Đồng Tháp đẩy mạnh chuyển đổi số"), article("Giá lúa tăng mạnh"))
    assert outbox(rt) == [(LAN, None, sub.id, "Đồng Tháp đẩy mạnh chuyển đổi số")]


async def test_accent_rules_are_the_search_rules(rt: Runtime) -> None:
    exact = await follow(rt, "đảng")  # with accents: that spelling only
    await publish(rt, article("Đại hội Đảng bộ tỉnh"), article("Hướng dẫn đăng ký xe"))
    assert [row[3] for row in outbox(rt) if row[2] == exact.id] == ["Đại hội Đảng bộ tỉnh"]


async def test_daily_match_becomes_a_digest_item_not_an_alert(rt: Runtime) -> None:
    sub = await follow(rt, "daily 07:30 sen tháp mười")
    await publish(rt, article("Sen Tháp Mười vào mùa"))
    assert outbox(rt) == [] and digest_rows(rt) == [(sub.id, "Sen Tháp Mười vào mùa")]


async def test_news_campaign_and_source_subscriptions(rt: Runtime) -> None:
    news = await follow(rt, "news")
    campaign = await follow(rt, "campaign cds")
    source = await follow(rt, "source baocantho")
    await publish(
        rt,
        article("Sở TT&TT Đồng Tháp họp báo định kỳ"),
        article("Xây dựng chính quyền số ở Cao Lãnh"),
        article("Lễ hội bánh dân gian", source="baocantho"),
    )
    got = {(row[2], row[3]) for row in outbox(rt)}
    assert got == {
        (news.id, "Sở TT&TT Đồng Tháp họp báo định kỳ"),
        (campaign.id, "Xây dựng chính quyền số ở Cao Lãnh"),
        (source.id, "Lễ hội bánh dân gian"),
    }


async def test_forum_topic_subscription_keeps_its_topic(rt: Runtime) -> None:
    sub = await follow(rt, "bão", place(GROUP, thread=42, user=ADMIN, kind="supergroup"))
    await publish(rt, article("Bão số 9 đổ bộ"))
    assert outbox(rt) == [(GROUP, 42, sub.id, "Bão số 9 đổ bộ")]


async def test_pause_resume_switch_and_delete_reach_the_registry(rt: Runtime) -> None:
    service = SubscriptionService(rt)
    sub = await follow(rt, "lúa")
    paused = await service.pause(sub.id)
    assert paused is not None and paused.paused and rt.registry.active(SUBSCRIPTION) == ()
    await publish(rt, article("Lúa được mùa"))
    assert outbox(rt) == []
    await service.pause(sub.id, False)
    switched = await service.switch_mode(sub.id)
    assert switched is not None and (switched.mode, switched.digest_time) == (DAILY, "07:30")
    await publish(rt, article("Lúa Đông Xuân"))
    assert digest_rows(rt) == [(sub.id, "Lúa Đông Xuân")]
    back = await service.switch_mode(sub.id)
    assert back is not None and back.mode == INSTANT and digest_rows(rt) == []
    assert (await service.delete(sub.id)) is not None and await service.delete(sub.id) is None
    await publish(rt, article("Lúa mất giá"))
    assert outbox(rt) == [] and await service.of_chat(LAN) == []


async def test_subscriptions_are_loaded_at_start(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    first = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await first.start()
    try:
        sub = await follow(first, "cầu Cao Lãnh")
        await follow(first, "paused one")
        await SubscriptionService(first).pause(sub.id + 1)
    finally:
        await first.aclose()
    second = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await second.start()
    try:
        assert [q.id for q in second.registry.active(SUBSCRIPTION)] == [str(sub.id)]
        await publish(second, article("Khởi công cầu Cao Lãnh 2"))
        assert [row[3] for row in outbox(second)] == ["Khởi công cầu Cao Lãnh 2"]
    finally:
        await second.aclose()


async def test_confirmation_shows_the_three_newest_matches(rt: Runtime) -> None:
    now = datetime.now(UTC)
    titles = [f"Chuyển đổi số ở xã {i}" for i in range(5)]
    await publish(rt, *(article(t, at=now - timedelta(hours=5 - i)) for i, t in enumerate(titles)))
    service = SubscriptionService(rt)
    done = await service.subscribe(place(), await service.read_command("chuyển đổi số"))
    assert [hit.title for hit in done.recent.hits] == titles[:-4:-1]


# ---- limits and access


async def test_a_chat_has_at_most_the_configured_number(tmp_path: Path) -> None:
    config = write_config(tmp_path, alerts={"max_subscriptions_per_chat": 2})
    runtime = Runtime(config, tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    try:
        await follow(runtime, "bão")
        await follow(runtime, "lũ")
        with pytest.raises(SubscriptionError) as info:
            await follow(runtime, "sạt lở")
        assert (info.value.code, info.value.params) == ("too_many", {"max": 2})
        assert len(await SubscriptionService(runtime).of_chat(LAN)) == 2
        await follow(runtime, "sạt lở", place(ADMIN, user=ADMIN))  # another chat has its own 2
    finally:
        await runtime.aclose()


async def test_the_same_subscription_twice_is_refused(rt: Runtime) -> None:
    await follow(rt, "bão")
    with pytest.raises(SubscriptionError) as info:
        await follow(rt, "bão")
    assert info.value.code == "duplicate"
    await follow(rt, "bão", place(LAN, thread=7))  # another topic is another destination


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"max_subscriptions_per_chat": 0}, "alerts.max_subscriptions_per_chat: must be a whole number"),
        ({"max_subscriptions_per_chat": "nhiều"}, "alerts.max_subscriptions_per_chat: must be a whole number"),
        ({"digest_time": "25:00"}, "alerts.digest_time: not a time of day"),
        ({"limit": 3}, "alerts.limit: unknown key"),
        ({"max_in_flight": 0}, "alerts.max_in_flight: must be a whole number"),
    ],
)
def test_alerts_config_is_validated(tmp_path: Path, value: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        write_config(tmp_path, alerts=value)
    assert problem in str(info.value)


async def test_a_user_who_loses_access_gets_nothing_more(rt: Runtime) -> None:
    await rt.write(access_store.record_decision, ADMIN, STRANGER, access_store.APPROVED, datetime.now(UTC))
    sub = await follow(rt, "bão", place(STRANGER, user=STRANGER))
    trusted = await follow(rt, "bão")  # LAN is in access.users
    await publish(rt, article("Bão số 9 đổ bộ"))
    assert {row[2] for row in outbox(rt)} == {sub.id, trusted.id}
    await rt.write(access_store.record_decision, ADMIN, STRANGER, access_store.DENIED, datetime.now(UTC))
    await publish(rt, article("Bão số 10 suy yếu"))
    assert [row[2] for row in outbox(rt) if row[3] == "Bão số 10 suy yếu"] == [trusted.id]


async def test_a_chat_blocked_by_a_403_is_delivered_again_once_it_subscribes_or_resumes(rt: Runtime) -> None:
    """Delivery pauses a 403 chat's subscriptions; acting in that chat again brings them back."""
    first = await follow(rt, "bão")
    await rt.write(block_chat, LAN, "Forbidden: bot was blocked by the user", time.time())
    await publish(rt, article("Bão số 11 đổ bộ"))
    assert outbox(rt) == []  # blocked: nothing is queued for the chat
    service = SubscriptionService(rt)
    assert (await service.get(first.id)).paused_reason == "blocked"  # type: ignore[union-attr]
    await follow(rt, "lũ")  # the user writes to the bot again
    assert (await service.get(first.id)).paused == 0  # type: ignore[union-attr]
    await publish(rt, article("Bão số 12 và lũ quét"))
    assert sorted(row[2] for row in outbox(rt)) == [first.id]  # one alert per story and chat
    # The same through /subscriptions' resume button.
    await rt.write(block_chat, LAN, "Forbidden: bot was blocked by the user", time.time())
    assert (await service.pause(first.id, paused=False)) is not None
    await publish(rt, article("Bão số 13 suy yếu"))
    assert [row[3] for row in outbox(rt)][-1] == "Bão số 13 suy yếu"


# ---- daily digests


def _now(hour: int, minute: int, day: int = 26) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def _render(row: SubscriptionRow, items: Sequence[DigestItem], left_out: int, day: date) -> list[str]:
    return render_digest(row, items, left_out, day, tz=TZ)


def digests(rt: Runtime) -> list[tuple[int, str, str]]:
    sql = "SELECT chat_id, dedup_key, parts FROM outbox WHERE kind = 'digest' ORDER BY id"
    return [tuple(r) for r in rt.reader().execute(sql)]  # type: ignore[misc]


async def test_digest_is_sent_once_at_its_time_grouped_by_outlet(rt: Runtime) -> None:
    sub = await follow(rt, "daily 07:30 chuyển đổi số")
    await publish(
        rt,
        article("Chuyển đổi số ở Cao Lãnh"),
        article("Chuyển đổi số ở Sa Đéc"),
        article("Cần Thơ chuyển đổi số", source="baocantho"),
        article("Giá lúa"),
    )
    config = rt.config
    assert await rt.write(send_due_digests, config, _now(7, 29), _render) == 0  # not yet
    assert await rt.write(send_due_digests, config, _now(7, 30), _render) == 1
    assert await rt.write(send_due_digests, config, _now(7, 31), _render) == 0  # once
    assert await rt.write(send_due_digests, config, _now(7, 35), _render) == 0
    [(chat, key, parts)] = digests(rt)
    assert (chat, key) == (LAN, f"digest:{sub.id}:2026-11-26")
    text = yaml.safe_load(parts)[0]
    parse_html(text)
    assert text.startswith("🗓 <b>Bản tin 26/11/2026</b> — <b>chuyển đổi số</b>: 3 bài")
    assert text.index("Báo Đồng Tháp</i> (2)") < text.index("Sa Đéc") < text.index("Báo Cần Thơ</i> (1)")
    assert "Giá lúa" not in text and digest_rows(rt) == []


async def test_digest_nothing_when_empty_and_the_day_still_counts(rt: Runtime) -> None:
    await follow(rt, "daily 07:30 sen")
    assert await rt.write(send_due_digests, rt.config, _now(7, 30), _render) == 0
    await publish(rt, article("Sen nở rộ"))  # after today's digest time: tomorrow's digest
    assert await rt.write(send_due_digests, rt.config, _now(9, 0), _render) == 0
    assert digests(rt) == []
    assert await rt.write(send_due_digests, rt.config, _now(7, 30, day=27), _render) == 1


async def test_digest_catches_up_and_survives_a_clock_set_back(rt: Runtime) -> None:
    await follow(rt, "daily 06:00 lúa")
    await publish(rt, article("Lúa được giá"))
    # The process was down at 06:00: the first wake at 11:00 sends it.
    assert await rt.write(send_due_digests, rt.config, _now(11, 0), _render) == 1
    await publish(rt, article("Lúa mất mùa"))
    # The clock goes back a day: that day is not passed again.
    assert await rt.write(send_due_digests, rt.config, _now(23, 0, day=25), _render) == 0
    assert await rt.write(send_due_digests, rt.config, _now(11, 0), _render) == 0
    assert len(digests(rt)) == 1


def _row(mode: str, at: str | None, last: str | None = None, paused: bool = False) -> SubscriptionRow:
    return SubscriptionRow(
        1, LAN, None, "query", None, "q", "q", mode, at, last, paused, None, LAN, "private", "vi", "2026-11-01"
    )


@pytest.mark.parametrize(
    ("row", "now", "due"),
    [
        (_row(DAILY, "07:30"), _now(7, 30), True),
        (_row(DAILY, "07:30"), _now(7, 29), False),
        (_row(DAILY, "07:30", "2026-11-26"), _now(8, 0), False),
        (_row(DAILY, "07:30", "2026-11-25"), _now(8, 0), True),
        (_row(DAILY, "07:30", paused=True), _now(8, 0), False),
        (_row(INSTANT, None), _now(8, 0), False),
    ],
)
def test_is_due(row: SubscriptionRow, now: datetime, due: bool) -> None:
    assert is_due(row, now) is due


def test_the_digest_task_sleeps_until_the_next_digest() -> None:
    rows = [_row(DAILY, "07:30", "2026-11-26"), _row(DAILY, "12:00"), _row(INSTANT, None)]
    assert seconds_until_next(rows, _now(11, 59).replace(second=30)) == 30.0
    assert seconds_until_next(rows, _now(9, 0)) == 60.0  # never longer: new subscriptions, clock changes
    assert seconds_until_next(rows, _now(12, 0)) == 0.0  # due now


async def test_the_digest_task_sends_once_across_a_restart(rt: Runtime) -> None:
    sub = await follow(rt, "daily 07:30 thanh long")
    await publish(rt, article("Thanh long được giá"))
    for _run in range(2):  # the second run is the process started again the same day
        asked: list[datetime] = []

        def clock(asked: list[datetime] = asked) -> datetime:
            asked.append(_now(8, 15))
            return asked[-1]

        stop = asyncio.Event()
        task = asyncio.create_task(run_digests(rt, _render, stop, clock=clock))
        deadline = asyncio.get_running_loop().time() + 10
        while len(asked) < 2:  # one whole pass: "now", then the time to sleep
            assert asyncio.get_running_loop().time() < deadline, "the digest task made no pass"
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)
    assert [row[1] for row in digests(rt)] == [f"digest:{sub.id}:2026-11-26"]
    assert rt.outbox_wake.is_set()


def test_a_long_digest_is_split_into_valid_parts() -> None:
    row = _row(DAILY, "07:30")
    when = datetime(2026, 11, 26, 6, 0, tzinfo=TZ)
    items = [
        DigestItem(i, f"<Tin> số {i} & “chuyển đổi số” " + "rất dài " * 40, f"https://b{i % 3}.vn/{i}", f"s{i % 3}",
                   f"Báo <{i % 3}>", when, i % 7 != 0)
        for i in range(100)
    ]  # fmt: skip
    parts = render_digest(row, items, 40, date(2026, 11, 26), tz=TZ)
    assert len(parts) > 1
    for part in parts:
        parse_html(part)
        assert len(part) <= 4096
    text = "".join(parts)
    assert "140 bài" in parts[0] and "… và 40 bài khác" in parts[-1] and text.count("• ") == 100
