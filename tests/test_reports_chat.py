"""/campaign, /compare, /export and report questions through the real application against the fake Bot API.

The archive is generated with known answers for the shipped campaigns (tests/reports_archive.py);
the bot's clock is that archive's NOW, so "tháng này" and the default 30 days are known periods.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from bot.config import load_config
from bot.reports.period import read_period
from bot.settings import Settings
from bot.telegram.app import build_application
from tests.conftest import BOT_TOKEN, BOT_USERNAME, config_dict
from tests.fakes.telegram import FakeTelegram, RecordedCall, parse_html
from tests.fakes.telegram._media import image_size
from tests.reports_archive import NOW, OUTLETS, ROOT, Generated, build, generate, hand_count
from tests.test_handlers import BotThread

LAN, JOHN, FORUM = 2001, 2002, -100900


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("reports_chat")
    shipped = yaml.safe_load((ROOT / "feeds.yaml").read_text(encoding="utf-8"))
    data = config_dict(
        sources=[{"id": i, "name": n, "url": f"https://{i}.example.vn/rss"} for i, n in OUTLETS],
        campaigns=shipped["campaigns"],
        access={"users": [LAN, JOHN], "chats": [FORUM]},
    )
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config, rows, db = load_config(path), generate(), tmp / "db.sqlite"
    build(config, db, rows)
    with FakeTelegram(token=BOT_TOKEN, bot_username=BOT_USERNAME) as srv:
        srv.group(FORUM, "Diễn đàn báo chí", is_forum=True)
        bot = BotThread(srv, config, db)
        settings = Settings(token=srv.token, api_url=srv.url, db_path=str(db))
        bot.app = build_application(settings, config, poll_feeds=False, clock=lambda: NOW)
        with bot:
            yield {"srv": srv, "rows": rows}
        refused = [c.summary() for c in srv.sent if c.error_code == 400]
        assert not refused, f"Telegram refused: {refused}"


@pytest.fixture
def srv(world: dict[str, Any]) -> FakeTelegram:
    return world["srv"]


def ask(srv: FakeTelegram, user_id: int, text: str, lang: str = "vi", **kwargs: Any) -> RecordedCall:
    user = srv.user(user_id, "Lan" if lang == "vi" else "John", language_code=lang)
    message_id = srv.send_text(user, text, **kwargs)
    chat = kwargs.get("chat", user)
    return srv.wait_for_message(chat, after=message_id, timeout=20)


def total_in(caption: str) -> int:
    found = re.search(r"(?:Tổng|Total): (\d+)", caption)
    assert found, caption
    return int(found.group(1))


def assert_photo(srv: FakeTelegram, call: RecordedCall) -> None:
    assert call.method == "sendPhoto", call.summary()
    html = call.html or ""
    parse_html(html)  # valid Telegram HTML
    assert len(html) <= 1024
    largest = call.message["photo"][-1]
    assert image_size(srv.file(largest["file_id"]).data) == (1200, 800)


def test_campaign_command_sends_the_chart_with_the_summary(world: dict[str, Any], srv: FakeTelegram) -> None:
    call = ask(srv, LAN, "/campaign chuyen-doi-so")
    assert_photo(srv, call)
    period = read_period("", NOW)
    expected = hand_count(world["rows"], "chuyen-doi-so", period.first, period.last)
    assert total_in(call.text or "") == expected["total"]
    assert "Chuyển đổi số" in (call.text or "") and "17/10/2026–15/11/2026" in (call.text or "")
    top = expected["top_stories"][0]["title"]
    assert top in (call.text or "")
    assert any(e["type"] == "text_link" for e in call.message.get("caption_entities", []))


@pytest.mark.parametrize(
    ("question", "campaign", "period", "lang"),
    [
        ("báo cáo chuyển đổi số tháng này", "chuyen-doi-so", "tháng này", "vi"),
        ("thống kê phòng chống dịch 30 ngày qua", "phong-chong-dich", "30d", "vi"),
        ("report on 5G this month", "phu-song-5g", "this month", "en"),
    ],
)
def test_a_report_question_gets_the_report(
    world: dict[str, Any], srv: FakeTelegram, question: str, campaign: str, period: str, lang: str
) -> None:
    call = ask(srv, LAN if lang == "vi" else JOHN, question, lang)
    assert_photo(srv, call)
    span = read_period(period, NOW)
    assert total_in(call.text or "") == hand_count(world["rows"], campaign, span.first, span.last)["total"]


def test_a_question_without_a_report_word_still_lists_articles(srv: FakeTelegram) -> None:
    call = ask(srv, LAN, "có bài nào về chuyển đổi số không")
    assert call.method == "sendMessage" and "Tìm thấy" in (call.text or "")


def test_compare_draws_every_campaign(world: dict[str, Any], srv: FakeTelegram) -> None:
    call = ask(srv, JOHN, "/compare last month", "en")
    assert_photo(srv, call)
    span = read_period("tháng trước", NOW)
    for name, campaign in (("Chuyển đổi số", "chuyen-doi-so"), ("Phủ sóng 5G", "phu-song-5g")):
        total = hand_count(world["rows"], campaign, span.first, span.last)["total"]
        assert f"{name}: {total} article" in (call.text or "")


def test_export_sends_a_spreadsheet_of_every_article(world: dict[str, Any], srv: FakeTelegram) -> None:
    call = ask(srv, LAN, "/export bien-dao 2026-10-01..2026-10-31")
    assert call.method == "sendDocument", call.summary()
    document = call.message["document"]
    assert document["file_name"] == "bien-dao_2026-10-01_2026-10-31.xlsx"
    book = load_workbook(io.BytesIO(srv.file(document["file_id"]).data))
    urls = sorted(row[3] for row in book["Bài báo"].iter_rows(min_row=2, values_only=True))
    rows: list[Generated] = world["rows"]
    span = read_period("2026-10-01..2026-10-31", NOW)
    assert urls == sorted(
        g.url for g in rows if g.campaign == "bien-dao" and span.first <= g.published.date() <= span.last
    )
    parse_html(call.html or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/campaign chuyen-doi", "có phải ý bạn là chuyen-doi-so"),
        ("/campaign zzz", "Các chiến dịch: chuyen-doi-so"),
        ("/campaign", "Cách dùng"),
        ("/export", "Cách dùng"),
        ("/campaign bien-dao tuần sau nữa", "Không hiểu khoảng thời gian"),
        ("/compare 2027-01-01..2027-01-31", "chưa bắt đầu"),
        ("/export bien-dao 2020-01-01..2026-11-01", "tối đa 366 ngày"),
        ("báo cáo chuyển đổi số tháng 12/2026", "chưa bắt đầu"),
    ],
)
def test_bad_input_gets_one_clear_message(srv: FakeTelegram, text: str, expected: str) -> None:
    call = ask(srv, LAN, text)
    assert call.method == "sendMessage"
    assert expected in (call.text or ""), call.text
    parse_html(call.html or "")


def test_a_report_in_a_forum_topic_stays_in_the_topic(srv: FakeTelegram) -> None:
    user = srv.user(LAN, "Lan", language_code="vi")
    message_id = srv.send_text(user, "/campaign dich-vu-cong 7d", chat=FORUM, thread_id=77)
    call = srv.wait_for_message(FORUM, after=message_id, timeout=20)
    assert call.method == "sendPhoto" and call.message.get("message_thread_id") == 77


def test_the_menu_offers_the_report_commands(srv: FakeTelegram) -> None:
    for lang in ("", "en"):
        assert {"campaign", "compare", "export"} <= {c["command"] for c in srv.commands(language_code=lang)}
