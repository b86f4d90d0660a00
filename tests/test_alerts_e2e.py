"""Alerts end to end: `mediabot run` as a subprocess, FakeTelegram for the Bot API, FeedServer for the press.

Chats subscribe by command and by the Follow button; then articles appear in a feed polled
every 2 s, and the test measures when each alert reaches the fake Telegram: at most the poll
interval + 5 s after the article was published, exactly one per chat, none for an article no
subscription matches. Also: the organization's news, a forum topic, group admins, and a user
who loses access (removed from feeds.yaml, then /reload) getting nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict, rss
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, FakeUser, RecordedCall
from tests.test_bot_e2e import bot_env, query, start_bot, wait_until

pytestmark = pytest.mark.e2e
INTERVAL_S = 2.0
BOUND_S = INTERVAL_S + 5.0
ADMIN, LAN, THU = 1001, 1002, 1005
GROUP, FORUM, MEMBER, BOSS = -100500, -100700, 8801, 8802


class Press:
    """The local feed: items added over time, each with the moment it appeared."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: list[tuple[str, str, datetime]] = []
        self.published: dict[str, float] = {}
        self.path = "/baodongthap.rss"
        self._serve()

    def publish(self, *titles: str) -> None:
        for title in titles:
            self.items.insert(0, (title, f"{title}. Tin chi tiết.", datetime.now(UTC) - timedelta(seconds=30)))
        self._serve()
        now = time.monotonic()
        self.published.update(dict.fromkeys(titles, now))

    def _serve(self) -> None:
        body = rss("Báo Đồng Tháp", self.items, site="https://baodongthap.example.vn")
        self.server.add(self.path, body)


def write_config(tmp: Path, server: FeedServer, users: list[int]) -> Path:
    data = config_dict(
        sources=[
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/baodongthap.rss"), "interval": "2s"}
        ],
        polling={"interval": "2s", "min_interval": "1s", "max_interval": "2s"},
        access={"admins": [ADMIN], "users": users, "chats": [GROUP, FORUM]},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("alerts_e2e")
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        press = Press(server)
        press.publish("Khai mạc hội chợ nông sản")  # the feed's first fetch: its backlog
        db = tmp / "data" / "mediabot.db"
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=srv.url)
        cfg = write_config(tmp, server, [LAN, THU])
        proc = start_bot(cfg, db, env, tmp)
        try:
            srv.wait_for_polling(timeout=30)
            wait_until(lambda: query(db, "SELECT count(*) FROM articles") == [(1,)], 30, "the backlog stored")
            yield {"srv": srv, "press": press, "db": db, "tmp": tmp, "cfg": cfg, "server": server}
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        assert "Traceback" not in (tmp / "stderr").read_text()


def ask(srv: FakeTelegram, user: FakeUser, text: str, chat: Any = None, **kwargs: Any) -> RecordedCall:
    target = user if chat is None else chat
    message_id = srv.send_text(user, text, chat=chat, **kwargs)
    return srv.wait_for_message(target, after=message_id, timeout=15)


def alerts_for(srv: FakeTelegram, chat_id: int, title: str, after: int) -> list[RecordedCall]:
    return [
        c for c in srv.sent[after:] if c.ok and c.method == "sendMessage" and c.chat_id == chat_id and title in c.text
    ]


def wait_alert(live: dict[str, Any], chat_id: int, title: str, after: int) -> RecordedCall:
    srv: FakeTelegram = live["srv"]
    call = srv.wait_for_message(
        chat_id, lambda c: c.method == "sendMessage" and title in c.text, BOUND_S + 10, after_call=after
    )
    return call


def latency(live: dict[str, Any], call: RecordedCall, title: str) -> float:
    """Seconds from the article appearing in the feed to its alert reaching Telegram (shown with -s)."""
    seconds = call.at - live["press"].published[title]
    print(f"alert latency {seconds:.2f} s: chat {call.chat_id}, {title}")
    return seconds


def test_subscribe_by_command_and_button_then_one_alert_within_the_bound(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    lan = srv.user(LAN, "Lan", language_code="vi")
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    assert ask(srv, lan, "/subscribe hội chợ nông sản").text.startswith("🔔 Đã theo dõi hội chợ nông sản")
    answer = ask(srv, admin, "tin về hội chợ nông sản")
    follow = next(d for d in answer.callback_data if d.startswith("sub:f:"))
    mark = srv.mark()
    srv.press_button(admin, answer, follow)
    srv.wait_for_message(admin, lambda c: c.text.startswith("🔔 Đã theo dõi"), after_call=mark, timeout=15)

    mark = srv.mark()
    matching, other = "Hội chợ nông sản Đồng Tháp thu hút 50.000 lượt khách", "Giá xăng giảm nhẹ từ chiều nay"
    press.publish(matching, other)
    for chat in (LAN, ADMIN):
        call = wait_alert(live, chat, matching, mark)
        assert latency(live, call, matching) <= BOUND_S, latency(live, call, matching)
    wait_until(
        lambda: query(live["db"], "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)],
        15,
        "outbox drained",
    )
    for chat in (LAN, ADMIN):
        assert len(alerts_for(srv, chat, matching, mark)) == 1
        assert alerts_for(srv, chat, other, mark) == []


def test_department_news_subscriber_is_alerted(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    thu = srv.user(THU, "Thu", language_code="vi")
    assert ask(srv, thu, "/subscribe news").text.startswith("🔔 Đã theo dõi báo chí viết về")
    mark = srv.mark()
    title = "Sở TT&TT Đồng Tháp ra mắt cổng dịch vụ công mới"
    press.publish(title)
    call = wait_alert(live, THU, title, mark)
    assert latency(live, call, title) <= BOUND_S


def test_groups_admins_and_topics(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    group = srv.group(GROUP, "Tổ báo chí")
    forum = srv.group(FORUM, "Diễn đàn", is_forum=True)
    member, boss = srv.user(MEMBER, "Thành viên"), srv.user(BOSS, "Trưởng nhóm")
    for chat in (group, forum):
        srv.set_member_status(chat, member, "member")
        srv.set_member_status(chat, boss, "administrator")
    refused = ask(srv, member, f"/subscribe@{BOT_USERNAME} sen", chat=group)
    assert refused.text.startswith("Chỉ quản trị viên của nhóm")
    assert ask(srv, boss, "/subscribe sen", chat=group).text.startswith("🔔 Đã theo dõi sen")
    assert ask(srv, boss, "/subscribe sen", chat=forum, thread_id=42).text.startswith("🔔 Đã theo dõi sen")
    mark = srv.mark()
    title = "Sen Tháp Mười vào mùa, du khách đổ về"
    press.publish(title)
    assert latency(live, wait_alert(live, GROUP, title, mark), title) <= BOUND_S
    topic = wait_alert(live, FORUM, title, mark)
    assert topic.params.get("message_thread_id") == 42 and topic.message["message_thread_id"] == 42


def test_mute_and_more_under_an_alert(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    lan, thu = srv.user(LAN, "Lan", language_code="vi"), srv.user(THU, "Thu", language_code="vi")
    for user in (lan, thu):
        assert ask(srv, user, "/subscribe thanh long").text.startswith("🔔")
    mark = srv.mark()
    first = "Thanh long Chợ Gạo được giá"
    press.publish(first)
    alert = wait_alert(live, LAN, first, mark)
    wait_alert(live, THU, first, mark)
    more = next(d for d in alert.callback_data if d.startswith("sub:more:"))
    mark = srv.mark()
    srv.press_button(lan, alert, more)
    again = srv.wait_for_message(lan, lambda c: c.text.startswith("Tìm thấy"), after_call=mark, timeout=15)
    assert first in again.text
    srv.press_button(lan, alert, next(d for d in alert.callback_data if d.startswith("sub:mute:")))
    wait_until(
        lambda: (
            query(live["db"], "SELECT paused FROM subscriptions WHERE chat_id = ? AND query = 'thanh long'", LAN)
            == [(1,)]
        ),
        15,
        "muted",
    )
    mark = srv.mark()
    second = "Thanh long xuất khẩu tăng mạnh"
    press.publish(second)
    wait_alert(live, THU, second, mark)
    wait_until(
        lambda: query(live["db"], "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)],
        15,
        "outbox drained",
    )
    assert alerts_for(srv, LAN, second, mark) == []


def test_zz_a_user_who_loses_access_gets_nothing_more(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    lan, thu = srv.user(LAN, "Lan", language_code="vi"), srv.user(THU, "Thu", language_code="vi")
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    assert ask(srv, thu, "/subscribe cầu Cao Lãnh").text.startswith("🔔")
    assert ask(srv, lan, "/subscribe cầu Cao Lãnh").text.startswith("🔔")
    write_config(live["tmp"], live["server"], [LAN])  # Thu is no longer a user
    assert ask(srv, admin, "/reload").text.startswith("Đã nạp lại")
    mark = srv.mark()
    title = "Thông xe cầu Cao Lãnh mở rộng"
    press.publish(title)
    wait_alert(live, LAN, title, mark)
    wait_until(
        lambda: query(live["db"], "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)],
        15,
        "outbox drained",
    )
    assert alerts_for(srv, THU, title, mark) == []
