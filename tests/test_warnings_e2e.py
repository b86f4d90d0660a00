"""Warnings end to end: `mediabot run` as a subprocess, FakeTelegram for the Bot API, FeedServer for the press.

An article naming the organization with a warning term reaches every admin's private chat at once,
marked ⚠ with the term, exactly once (also for an admin who follows /subscribe news); a news
subscriber's alert is marked too; plain department news reaches no admin. /news then lists the
warning first, and /diembao hôm nay answers with the review and a Word file listing it first.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml

from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram import FakeTelegram, RecordedCall, parse_html
from tests.test_alerts_e2e import Press, alerts_for, ask, wait_alert
from tests.test_bot_e2e import bot_env, query, start_bot, wait_until

pytestmark = pytest.mark.e2e
ADMIN, SECOND_ADMIN, THU = 1001, 1003, 1005
WARNING = "Người dân bức xúc vì Sở TT&TT Đồng Tháp chậm trễ cấp phép trạm phát sóng"
ACCENTLESS = "Thanh tra chỉ ra sai phạm tại Sở Thông tin và Truyền thông Đồng Tháp"
PLAIN = "Sở TT&TT Đồng Tháp tổ chức hội nghị chuyển đổi số"
ELSEWHERE = "Doanh nghiệp bị phạt vì sai phạm về quảng cáo"


def write_config(tmp: Path, server: FeedServer) -> Path:
    data = config_dict(
        sources=[
            {"id": "baodongthap", "name": "Báo Đồng Tháp", "url": server.url("/baodongthap.rss"), "interval": "2s"}
        ],
        polling={"interval": "2s", "min_interval": "1s", "max_interval": "2s"},
        access={"admins": [ADMIN, SECOND_ADMIN], "users": [THU]},
    )
    data["organization"]["warning_terms"] = ["chậm trễ", "bức xúc", "sai pham"]
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("warnings_e2e")
    with FeedServer() as server, FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        press = Press(server)
        press.publish("Khai mạc hội chợ nông sản")  # the feed's first fetch: its backlog
        db = tmp / "data" / "mediabot.db"
        env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=srv.url)
        proc = start_bot(write_config(tmp, server), db, env, tmp)
        try:
            srv.wait_for_polling(timeout=30)
            wait_until(lambda: query(db, "SELECT count(*) FROM articles") == [(1,)], 30, "the backlog stored")
            yield {"srv": srv, "press": press, "db": db}
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        assert "Traceback" not in (tmp / "stderr").read_text()


def drained(live: dict[str, Any]) -> None:
    wait_until(
        lambda: query(live["db"], "SELECT count(*) FROM outbox WHERE status = 'pending'") == [(0,)],
        15,
        "outbox drained",
    )


def test_a_warning_reaches_every_admin_once_marked_with_its_term(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    admin, thu = srv.user(ADMIN, "Quản trị", language_code="vi"), srv.user(THU, "Thu", language_code="vi")
    ask(srv, srv.user(SECOND_ADMIN, "Phó phòng", language_code="vi"), "/start")  # a bot may write only then
    for user in (admin, thu):  # the first admin and a user follow the news; the second admin follows nothing
        assert ask(srv, user, "/subscribe news").text.startswith("🔔 Đã theo dõi báo chí viết về")
    mark = srv.mark()
    press.publish(WARNING, ACCENTLESS, PLAIN, ELSEWHERE)
    for chat in (ADMIN, SECOND_ADMIN, THU):
        for title, term in ((WARNING, "chậm trễ"), (ACCENTLESS, "sai pham")):
            call = wait_alert(live, chat, title, mark)
            assert call.text.startswith(f"⚠ Cảnh báo: bài viết về cơ quan có «{term}»"), call.text
            parse_html(call.html or "")
    wait_alert(live, THU, PLAIN, mark)  # a news subscriber gets plain department news too, unmarked
    drained(live)
    for chat in (ADMIN, SECOND_ADMIN, THU):
        assert len(alerts_for(srv, chat, WARNING, mark)) == 1
        assert len(alerts_for(srv, chat, ACCENTLESS, mark)) == 1
        assert alerts_for(srv, chat, ELSEWHERE, mark) == []
    assert alerts_for(srv, SECOND_ADMIN, PLAIN, mark) == []
    assert not alerts_for(srv, THU, PLAIN, mark)[0].text.startswith("⚠")
    second = alerts_for(srv, SECOND_ADMIN, WARNING, mark)[0]
    assert second.callback_data == []  # no subscription to mute
    terms = dict(query(live["db"], "SELECT a.title, o.warning_term FROM organization_articles o JOIN articles a "
                                   "ON a.id = o.article_id"))  # fmt: skip
    assert terms == {WARNING: "chậm trễ", ACCENTLESS: "sai pham", PLAIN: None}


def test_news_lists_the_warnings_first(live: dict[str, Any]) -> None:
    srv, press = live["srv"], live["press"]
    wait_until(lambda: query(live["db"], "SELECT count(*) FROM organization_articles") == [(3,)], 30, "stored")
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    answer = ask(srv, admin, "/news")
    lines = answer.text.splitlines()
    warned = [i for i, line in enumerate(lines) if line.startswith("⚠")]
    assert len(warned) == 2 and press  # both warnings, first
    assert lines.index(next(line for line in lines if PLAIN in line)) > max(warned)
    parse_html(answer.html or "")


def test_diembao_today_sends_the_review_and_a_word_file(live: dict[str, Any]) -> None:
    srv = live["srv"]
    admin = srv.user(ADMIN, "Quản trị", language_code="vi")
    mark = srv.mark()
    srv.send_text(admin, "/diembao hôm nay")
    document: RecordedCall = srv.wait_for_message(admin, lambda c: c.method == "sendDocument", 20, after_call=mark)
    text = next(c for c in srv.sent[mark:] if c.method == "sendMessage" and c.chat_id == ADMIN).text
    assert text.startswith("📰 Điểm báo ngày") and text.index(WARNING) < text.index(PLAIN)
    data = srv.file(document.message["document"]["file_id"]).data
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    joined = "\n".join(paragraphs)
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG ĐỒNG THÁP" in joined
    assert joined.index(WARNING) < joined.index(PLAIN) and joined.index(ACCENTLESS) < joined.index(PLAIN)
    assert ELSEWHERE not in joined
