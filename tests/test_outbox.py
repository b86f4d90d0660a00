"""The outbox: alerts written in the store transaction, one per chat and article and per story,
"also in" outlets joining the alert (an edit only once it was sent), prepared messages exactly once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.outbox import AlertMatch, enqueue_alerts, enqueue_message, unblock_chat
from bot.alerts.outbox_rows import block_chat, mark_sent, pending_rows
from bot.config import Source
from bot.models import Article
from bot.store.articles import store_articles
from bot.store.db import MIGRATIONS, migrate, open_db
from bot.store.db import transaction as transaction_on
from bot.store.sources import upsert_source

NOW = datetime(2026, 11, 15, 3, 0, tzinfo=UTC)
OUTLETS = ("vtv", "baophutho", "vnexpress")
CHAT, OTHER_CHAT, GROUP = 1001, 1002, -100500


def article(key: str, source: str, title: str, minutes: int = 0) -> Article:
    published = NOW + timedelta(minutes=minutes)
    return Article(
        source_id=source,
        url=f"https://{source}.vn/{key}",
        guid=key,
        title=title,
        summary="Người dân Đồng Tháp đón tin vui.",
        published_at=published,
        fetched_at=published,
    )


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_db(tmp_path / "outbox.sqlite").conn
    connection.execute("BEGIN")
    for source_id in OUTLETS:
        upsert_source(
            connection,
            Source(id=source_id, name=source_id.upper(), urls=(f"https://{source_id}.vn/rss",)),
            "config",
            NOW,
        )
    connection.execute("COMMIT")
    yield connection
    connection.close()


def store(
    conn: sqlite3.Connection, articles: Sequence[Article], subscriptions: Sequence[tuple[int, int, int | None]]
) -> list[int]:
    """Store articles; every (subscription, chat, thread) matches every new article, as a recorder would."""

    def hook(c: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        enqueue_alerts(c, [AlertMatch(sub, chat, thread, a) for a in new_ids for sub, chat, thread in subscriptions])

    return list(store_articles(conn, [(articles, None)], hooks=[hook]).new_ids)


def rows(conn: sqlite3.Connection, kind: str | None = None) -> list[tuple[int, int, str]]:
    sql = "SELECT chat_id, coalesce(article_id, alert_id), kind FROM outbox"
    params: tuple[str, ...] = ()
    if kind:
        sql, params = sql + " WHERE kind = ?", (kind,)
    return conn.execute(sql + " ORDER BY id", params).fetchall()


def test_alerts_are_written_in_the_store_transaction_one_per_chat_and_article(conn: sqlite3.Connection) -> None:
    ids = store(
        conn,
        [article("a", "vtv", "Đồng Tháp khởi công cầu Cao Lãnh 2"), article("b", "baophutho", "Giá lúa tăng mạnh")],
        [(1, CHAT, None), (2, CHAT, None), (3, GROUP, 77)],
    )
    # Two subscriptions of one chat matched both articles: still one alert per article there.
    assert sorted(rows(conn)) == sorted((chat, a, "alert") for a in ids for chat in (CHAT, GROUP))
    assert conn.execute("SELECT DISTINCT subscription_id FROM outbox WHERE chat_id = ?", (CHAT,)).fetchall() == [(1,)]
    assert conn.execute("SELECT DISTINCT thread_id FROM outbox WHERE chat_id = ?", (GROUP,)).fetchall() == [(77,)]
    # The same matches again (a re-run hook) add nothing: the UNIQUE constraint holds.
    assert enqueue_alerts(conn, [AlertMatch(1, CHAT, None, ids[0])]) == 0


def test_a_failed_store_transaction_leaves_no_alert(conn: sqlite3.Connection) -> None:
    def hook(c: sqlite3.Connection, new_ids: Sequence[int]) -> None:
        enqueue_alerts(c, [AlertMatch(1, CHAT, None, a) for a in new_ids])
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store_articles(conn, [([article("a", "vtv", "Bão số 5 đổ bộ")], None)], hooks=[hook])
    assert rows(conn) == []
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_a_story_from_several_outlets_is_one_alert_whose_also_in_grows(conn: sqlite3.Connection) -> None:
    subs = [(1, CHAT, None)]
    first = store(conn, [article("a", "vtv", "Đồng Tháp: lũ đầu nguồn về sớm")], subs)
    store(conn, [article("b", "baophutho", "Đồng Tháp: lũ đầu nguồn về sớm", 5)], subs)
    # Pending: no edit, the alert will be rendered with the second outlet when it is sent.
    assert rows(conn) == [(CHAT, first[0], "alert")]
    assert conn.execute("SELECT source_id FROM outbox_also").fetchall() == [("baophutho",)]
    mark_sent(conn, 1, NOW.timestamp(), message_id=55, also=1)
    assert rows(conn, "edit") == []  # rendered with every outlet: nothing to edit
    store(conn, [article("c", "vnexpress", "Đồng Tháp: lũ đầu nguồn về sớm", 9)], subs)
    store(conn, [article("d", "vnexpress", "Đồng Tháp - lũ đầu nguồn về sớm", 12)], subs)  # same outlet again
    store(conn, [article("e", "vtv", "Đồng Tháp: lũ đầu nguồn về sớm!", 14)], subs)  # the alert's own outlet
    assert rows(conn, "edit") == [(CHAT, 1, "edit")]  # one pending edit for two later articles


def test_an_alert_sent_while_an_outlet_joined_gets_an_edit(conn: sqlite3.Connection) -> None:
    subs = [(1, CHAT, None)]
    store(conn, [article("a", "vtv", "Cần Thơ mở tuyến xe buýt mới")], subs)
    store(conn, [article("b", "baophutho", "Cần Thơ mở tuyến xe buýt mới", 3)], subs)
    mark_sent(conn, 1, NOW.timestamp(), message_id=9, also=0)  # rendered before the outlet joined
    assert rows(conn, "edit") == [(CHAT, 1, "edit")]
    edit_id = conn.execute("SELECT id FROM outbox WHERE kind = 'edit'").fetchone()[0]
    mark_sent(conn, edit_id, NOW.timestamp(), also=1)
    assert [r.kind for r in pending_rows(conn)] == []


def test_prepared_messages_go_out_once_per_dedup_key(conn: sqlite3.Connection) -> None:
    parts = ["<b>Tin tổng hợp ngày 15/11</b>", "Phần 2: Đắk Lắk, Đà Nẵng"]
    assert enqueue_message(conn, CHAT, None, "digest", parts, "digest:1:2026-11-15")
    assert not enqueue_message(conn, CHAT, None, "digest", parts, "digest:1:2026-11-15")
    assert enqueue_message(conn, CHAT, None, "notice", ["Đã tạm dừng"], None)
    assert enqueue_message(conn, CHAT, None, "notice", ["Đã tạm dừng"], None)  # no key: no dedup
    assert [r.kind for r in pending_rows(conn)] == ["digest", "notice", "notice"]


@pytest.mark.parametrize(
    ("kind", "parts", "problem"),
    [
        ("alert", ["x"], "reserved"),
        ("edit", ["x"], "reserved"),
        ("digest", [], "parts"),
        ("digest", ["đ" * 4097], "characters"),
        ("digest", ["ok", ""], "characters"),
        ("digest", ["x"] * 21, "parts"),
    ],
)
def test_bad_prepared_messages_are_refused(conn: sqlite3.Connection, kind: str, parts: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        enqueue_message(conn, CHAT, None, kind, parts, "k")
    assert rows(conn) == []


def test_a_blocked_chat_gets_nothing_until_unblocked(conn: sqlite3.Connection) -> None:
    store(conn, [article("a", "vtv", "Hội chợ nông sản Đồng Tháp")], [(1, CHAT, None), (2, OTHER_CHAT, None)])
    block_chat(conn, CHAT, "Forbidden: bot was blocked by the user", NOW.timestamp())
    assert [r.chat_id for r in pending_rows(conn)] == [OTHER_CHAT]
    store(conn, [article("b", "vtv", "Đường Hồ Chí Minh thông xe")], [(1, CHAT, None), (2, OTHER_CHAT, None)])
    assert [r.chat_id for r in pending_rows(conn)] == [OTHER_CHAT, OTHER_CHAT]
    assert unblock_chat(conn, CHAT)
    store(conn, [article("c", "vtv", "Đà Lạt đón khách dịp lễ")], [(1, CHAT, None)])
    assert [r.chat_id for r in pending_rows(conn)][-1] == CHAT


def test_the_migration_replaces_the_unused_outbox_of_migration_1(tmp_path: Path) -> None:
    import sqlite_utils

    from bot.store.db import connect

    db = sqlite_utils.Database(connect(str(tmp_path / "old.sqlite")))
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        db.conn.executescript(script)
        db.conn.execute(f"PRAGMA user_version = {number}")
    assert (
        "UNIQUE (subscription_id, article_id)"
        in db.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    )
    migrate(db)
    sql = db.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    assert "dedup_key" in sql and "subscription_id, article_id" not in sql
    assert db.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_mediabot_outbox_reports_states_age_and_blocked_chats(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import json

    from tests.cli import mediabot, one_line_error

    store(
        conn,
        [article("a", "vtv", "Lũ về sớm ở An Giang"), article("b", "vtv", "Giá điện tăng")],
        [(1, CHAT, None), (2, OTHER_CHAT, None)],
    )
    with transaction_on(conn):
        enqueue_message(conn, CHAT, None, "digest", ["Tin tổng hợp"], "digest:1:2026-11-15")
    mark_sent(conn, 1, NOW.timestamp(), message_id=5)
    block_chat(conn, OTHER_CHAT, "Forbidden: bot was blocked by the user", NOW.timestamp())
    config = tmp_path / "feeds.yaml"
    config.write_text("organization:\n  name: Sở TT&TT Đồng Tháp\n", encoding="utf-8")
    db = conn.execute("PRAGMA database_list").fetchone()[2]
    conn.execute(  # the pending alert has waited two minutes
        "UPDATE outbox SET created_ts = created_ts - 125 WHERE kind = 'alert' AND status = 'pending'"
    )
    as_json = mediabot(config, db, "outbox", "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["pending"], report["sent"], report["failed"], report["skipped"]) == (2, 1, 2, 0)
    assert report["by_kind"]["pending"] == {"alert": 1, "digest": 1}
    assert 125 <= report["oldest_pending_s"] < 185
    assert report["blocked_chats"] == [OTHER_CHAT]
    text = mediabot(config, db, "outbox")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["pending", "2", "(alert", "1,", "digest", "1)"]
    assert lines[4].startswith("oldest pending: 2m ")
    assert lines[5] == f"chats paused by 403: 1 ({OTHER_CHAT})"
    missing = mediabot(config, tmp_path / "nothing.db", "outbox")
    assert missing.returncode == 1
    assert one_line_error(missing).startswith("error: no database at")
