"""The fake Bot API server, proven against the real python-telegram-bot 22 client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from tests.fakes.telegram import FakeTelegram, FloodLimits, HtmlError, parse_html

TOKEN = "123456:TEST-token"
QUESTION = "có bài nào về chuyển đổi số tuần này không?"


@pytest.fixture
def srv() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, bot_username="mediabot_test") as server:
        yield server


@pytest.fixture
async def bot(srv: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url) as client:
        yield client


def build_app(srv: FakeTelegram) -> Application:
    return Application.builder().token(TOKEN).base_url(srv.base_url).base_file_url(srv.base_file_url).build()


@contextlib.asynccontextmanager
async def polling(app: Application, srv: FakeTelegram) -> AsyncIterator[Application]:
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=5)
        await srv.await_polling()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def timedelta_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns on every RetryAfter unless it already uses timedelta, its next major default.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    assert isinstance(value, dtm.timedelta)
    return value.total_seconds()


# -- the Application end to end -----------------------------------------------------------------


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Trang 2 ›", callback_data="trang:2")]])
    await update.message.reply_text(
        f"<b>Kết quả</b> cho «{update.message.text}»", parse_mode=ParseMode.HTML, reply_markup=keyboard, do_quote=True
    )


async def turn_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("Đang tải trang 2")
    await update.callback_query.edit_message_text(f"Trang {update.callback_query.data.split(':')[1]}")


async def test_application_answers_user_text_and_button(srv: FakeTelegram) -> None:
    lan = srv.user(1001, "Lan", language_code="vi", username="lan")
    app = build_app(srv)
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, answer_question))
    app.add_handler(CallbackQueryHandler(turn_page))
    async with polling(app, srv):
        asked = srv.send_text(lan, QUESTION)
        reply = await srv.await_message(lan, after=asked)
        assert reply.text == f"Kết quả cho «{QUESTION}»"
        assert reply.message["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
        assert reply.message["reply_to_message"]["message_id"] == asked
        assert reply.message_id == asked + 1
        assert reply.callback_data == ["trang:2"]

        query_id = srv.press_button(lan, reply, "trang:2")
        edited = await srv.await_message(lan, after=query_id)
    assert (edited.method, edited.text, edited.message_id) == ("editMessageText", "Trang 2", reply.message_id)
    assert srv.callback_answer(query_id)["text"] == "Đang tải trang 2"
    assert [m["text"] for m in srv.bot_messages(lan)] == ["Trang 2"]  # edit applied, keyboard gone
    assert "reply_markup" not in srv.bot_messages(lan)[0]
    timings = srv.update_latencies()
    assert [(t.kind, t.reply.index if t.reply else None) for t in timings] == [
        ("message", reply.index),
        ("callback_query", edited.index),
    ]
    assert all(t.enqueued_at <= t.fetched_at <= t.replied_at for t in timings)
    assert srv.pending_updates == 0  # PTB confirmed them with the next offset


async def test_group_command_addressed_to_the_bot(srv: FakeTelegram) -> None:
    lan = srv.user(1001, "Lan")
    room = srv.group(-100123, "Phòng Báo chí")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_chat.send_message(f"Xin chào {' '.join(context.args)}")

    app = build_app(srv)
    app.add_handler(CommandHandler("start", start))
    async with polling(app, srv):
        other = srv.send_text(lan, "/start@other_bot nope", chat=room)
        ours = srv.send_text(lan, "/start@mediabot_test phòng báo chí", chat=room)
        reply = await srv.await_message(room, after=other)
    assert reply.text == "Xin chào phòng báo chí"
    assert srv.messages_in(room)[ours - 1]["entities"] == [{"type": "bot_command", "offset": 0, "length": 20}]
    assert [m["text"] for m in srv.bot_messages(room)] == ["Xin chào phòng báo chí"]


async def test_forum_topic_thread_id_is_echoed(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    forum = srv.group(-100999, "Chủ đề", is_forum=True)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Đã nhận")

    app = build_app(srv)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with polling(app, srv):
        asked = srv.send_text(lan, "tin mới?", chat=forum, thread_id=42)
        reply = await srv.await_message(forum, after=asked)
    assert reply.params["message_thread_id"] == 42
    assert reply.message["message_thread_id"] == 42 and reply.message["is_topic_message"] is True
    sent = await bot.send_message(forum.id, "Thông báo", message_thread_id=7)
    assert sent.message_thread_id == 7 and sent.is_topic_message


# -- media ---------------------------------------------------------------------------------------


async def test_photo_and_document_upload_then_download(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    image = png(120, 80)
    photo_msg = await bot.send_photo(
        lan.id, image, caption="<i>Ảnh</i> đầu trang", parse_mode="HTML", filename="ảnh.png"
    )
    assert photo_msg.caption == "Ảnh đầu trang"
    largest = photo_msg.photo[-1]
    assert (largest.width, largest.height) == (120, 80)
    assert max(photo_msg.photo[0].width, photo_msg.photo[0].height) <= 90

    report = "Báo cáo tuần: Đắk Lắk, Đồng Nai\n".encode() * 100
    doc_msg = await bot.send_document(lan.id, io.BytesIO(report), filename="báo cáo tuần.txt")
    assert doc_msg.document.file_name == "báo cáo tuần.txt"
    assert doc_msg.document.mime_type == "text/plain"
    assert srv.file(doc_msg.document.file_id).data == report

    for file_id, expected in ((largest.file_id, image), (doc_msg.document.file_id, report)):
        tg_file = await bot.get_file(file_id)
        assert tg_file.file_path.startswith(f"{srv.base_file_url}{TOKEN}/")
        assert bytes(await tg_file.download_as_bytearray()) == expected

    again = await bot.send_photo(lan.id, largest.file_id)  # re-send by file_id, no upload
    assert again.photo[-1].width == 120


async def test_upload_that_is_not_an_image_is_refused(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(lan.id, b"not an image at all", filename="x.jpg")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(lan.id, "no-such-file-id")


# -- validation ----------------------------------------------------------------------------------


async def test_html_and_length_rules(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    with pytest.raises(BadRequest, match="Can't parse entities: can't find end tag corresponding to start tag"):
        await bot.send_message(lan.id, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(lan.id, "đ" * 4097)
    fits = "<b>" + "đ" * 4096 + "</b>"  # markup does not count, only the text after parsing
    assert len((await bot.send_message(lan.id, fits, parse_mode="HTML")).text) == 4096
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(lan.id, "<b></b>", parse_mode="HTML")
    failed = [c for c in srv.sent if not c.ok]
    assert [c.error_code for c in failed] == [400, 400, 400]
    assert failed[0].description.startswith("Bad Request: can't parse entities: ")


async def test_edit_rules(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    sent = await bot.send_message(lan.id, "<b>Bản tin</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<b>Bản tin</b>", lan.id, sent.message_id, parse_mode="HTML")
    edited = await bot.edit_message_text("<i>Bản tin</i>", lan.id, sent.message_id, parse_mode="HTML")
    assert edited.entities[0].type == "italic" and edited.edit_date is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Xem", url="https://baochinhphu.vn/")]])
    await bot.edit_message_reply_markup(lan.id, sent.message_id, reply_markup=keyboard)
    assert srv.bot_messages(lan)[0]["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://baochinhphu.vn/"
    assert await bot.delete_message(lan.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", lan.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(lan.id, sent.message_id)


async def test_callback_data_over_64_bytes_is_refused(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    data = "tìm:" + "chuyển đổi số " * 4  # 64 characters, but well over 64 UTF-8 bytes
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Tìm", callback_data=data)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(lan.id, "Kết quả", reply_markup=keyboard)


@pytest.mark.parametrize(
    ("markup", "text", "entities"),
    [
        ("a &lt; b &amp;&amp; c &gt; d &quot;x&quot;", 'a < b && c > d "x"', []),
        ("Tom&#x27;s &#273;&#7891;ng &nbsp; & x", "Tom's đồng &nbsp; & x", []),
        ("<B>Đà Nẵng</B>", "Đà Nẵng", [{"type": "bold", "offset": 0, "length": 7}]),
        ("😀 <u>x</u>", "😀 x", [{"type": "underline", "offset": 3, "length": 1}]),
        (
            '<a href="https://vnexpress.net/a?b=1&amp;c=2">VnExpress</a>',
            "VnExpress",
            [{"type": "text_link", "offset": 0, "length": 9, "url": "https://vnexpress.net/a?b=1&c=2"}],
        ),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        (
            '<b>in <span class="tg-spoiler">đậm</span></b>',
            "in đậm",
            [{"type": "bold", "offset": 0, "length": 6}, {"type": "spoiler", "offset": 3, "length": 3}],
        ),
        (
            "<blockquote expandable>trích</blockquote>",
            "trích",
            [{"type": "expandable_blockquote", "offset": 0, "length": 5}],
        ),
    ],
)
def test_html_parsing_matches_telegram(markup: str, text: str, entities: list[dict]) -> None:
    assert parse_html(markup) == (text, entities)


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("Dòng 1<br>Dòng 2", 'Unsupported start tag "br" at byte offset 7'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", "Unexpected end of name token at byte offset 3"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x>y', 'Unclosed end of attribute value in the tag "a" at byte offset 8'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_html_errors_match_telegram(markup: str, error: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(markup)
    assert str(caught.value) == error


# -- errors and faults ---------------------------------------------------------------------------


async def test_wrong_token_and_unknown_method(srv: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123456:wrong", base_url=srv.base_url, base_file_url=srv.base_file_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    response = httpx.post(f"{srv.base_url}{TOKEN}/sendTelepathy")
    assert (response.status_code, response.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    response = httpx.post(f"{srv.base_url}999:nope/getMe")
    assert (response.status_code, response.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )


@pytest.mark.usefixtures("timedelta_mode")
async def test_injected_faults(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    srv.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(lan.id, "một")
    assert retry_seconds(caught.value) == 7
    srv.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(lan.id, "hai")
    srv.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(lan.id, "ba")
    srv.drop_connection_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(lan.id, "bốn")
    assert (await bot.send_message(lan.id, "năm")).text == "năm"
    outcomes = [(c.error_code, c.dropped) for c in srv.sent if c.method == "sendMessage"]
    assert outcomes == [(429, False), (403, False), (500, False), (None, True), (None, False)]
    assert [m["text"] for m in srv.bot_messages(lan)] == ["năm"]


async def test_blocked_user_and_left_group(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    room = srv.group(-100123, "Phòng Báo chí")
    srv.block(lan)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(lan.id, "tin mới")
    assert await bot.leave_chat(room.id)
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.send_message(room.id, "tin mới")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "tin mới")


@pytest.mark.usefixtures("timedelta_mode")
async def test_flood_limits_per_chat_and_per_group(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    room = srv.group(-100123, "Phòng Báo chí")
    # A near-zero refill rate keeps the outcome independent of how fast this machine is.
    srv.flood_limits = FloodLimits(per_chat_per_second=0.001, per_chat_burst=3)
    for n in range(3):
        await bot.send_message(lan.id, f"tin {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(lan.id, "tin 3")
    assert retry_seconds(caught.value) >= 1
    srv.flood_limits = FloodLimits(per_chat_burst=100, per_chat_per_second=100)
    for n in range(20):
        await bot.send_message(room.id, f"tin {n}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(room.id, "tin 20")
    assert 1 <= retry_seconds(caught.value) <= 60
    srv.flood_limits = False
    await bot.send_message(room.id, "tin 21")


# -- polling, webhook, commands, chats -----------------------------------------------------------


async def test_get_updates_long_poll_wakes_on_new_update(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await srv.await_polling()
    started = time.monotonic()
    srv.send_text(lan, QUESTION)
    updates = await poll
    assert time.monotonic() - started < 2.0  # woke on the update, not at the 5 s timeout
    assert [u.message.text for u in updates] == [QUESTION]
    second = srv.send_text(lan, "thêm")
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id, updates[0].update_id + 1]
    confirmed = await bot.get_updates(offset=again[-1].update_id, limit=1, timeout=0)
    assert [u.message.message_id for u in confirmed] == [second]
    assert await bot.get_updates(offset=again[-1].update_id + 1, timeout=0) == ()


async def test_second_poller_terminates_first_and_webhook_conflicts(srv: FakeTelegram, bot: Bot) -> None:
    async with Bot(TOKEN, base_url=srv.base_url, base_file_url=srv.base_file_url) as other_instance:
        first = asyncio.create_task(other_instance.get_updates(timeout=5))
        await srv.await_polling()
        assert await bot.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert srv.webhook == {}


async def test_commands_roundtrip(srv: FakeTelegram, bot: Bot) -> None:
    commands = [("search", "Tìm bài báo"), ("report", "Báo cáo tuần")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands([("search", "Search articles")], language_code="en")
    assert srv.commands() == [{"command": c, "description": d} for c, d in commands]
    assert [c.command for c in await bot.get_my_commands()] == ["search", "report"]
    assert srv.wait_for_call("setMyCommands", lambda c: c.params.get("language_code") == "en").ok
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Tìm", "Tìm bài")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_chat_info_and_member_status(srv: FakeTelegram, bot: Bot) -> None:
    lan = srv.user(1001, "Lan")
    room = srv.group(-100123, "Phòng Báo chí", is_forum=True)
    chat = await bot.get_chat(room.id)
    assert (chat.title, chat.type, chat.is_forum) == ("Phòng Báo chí", "supergroup", True)
    assert (await bot.get_chat_member(room.id, lan.id)).status == "member"
    for status in ("administrator", "creator", "restricted", "left", "kicked"):
        srv.set_member_status(room, lan, status)
        assert (await bot.get_chat_member(room.id, lan.id)).status == status
    assert await bot.send_chat_action(lan.id, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(lan.id, "dancing")


def test_json_and_urlencoded_bodies_from_other_clients(srv: FakeTelegram) -> None:
    lan = srv.user(1001, "Lan")
    as_json = httpx.post(
        f"{srv.base_url}{TOKEN}/sendMessage",
        json={"chat_id": lan.id, "text": "123", "link_preview_options": {"is_disabled": True}},
    )
    as_form = httpx.post(f"{srv.base_url}{TOKEN}/SENDMESSAGE", data={"chat_id": str(lan.id), "text": "true"})
    assert as_json.json()["result"]["text"] == "123" and as_form.json()["result"]["text"] == "true"
    assert srv.sent[0].params["link_preview_options"] == {"is_disabled": True}
    assert [c.method for c in srv.sent] == ["sendMessage", "sendMessage"]


def test_wait_for_message_times_out_with_a_dump(srv: FakeTelegram) -> None:
    lan = srv.user(1001, "Lan")
    httpx.post(f"{srv.base_url}{TOKEN}/sendMessage", data={"chat_id": 1001, "text": "<b>x", "parse_mode": "HTML"})
    with pytest.raises(AssertionError) as caught:
        srv.wait_for_message(lan, timeout=0.2)
    dump = str(caught.value)
    assert "no bot message in chat 1001" in dump
    assert "sendMessage chat=1001 [400 Bad Request: can't parse entities" in dump
    assert TOKEN not in dump


async def test_bot_restart_on_the_same_server(srv: FakeTelegram) -> None:
    lan = srv.user(1001, "Lan")
    first = build_app(srv)
    async with polling(first, srv):
        pass
    # The stopped updater's abandoned long poll must not linger as a ready poller.
    await asyncio.to_thread(srv.wait_until_not_polling, 5.0)
    second = build_app(srv)
    second.add_handler(MessageHandler(filters.TEXT, answer_question))
    async with polling(second, srv):
        asked = srv.send_text(lan, QUESTION)
        reply = await srv.await_message(lan, after=asked)
    assert reply.message["reply_to_message"]["message_id"] == asked


async def test_abandoned_long_poll_is_noticed(srv: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await srv.await_polling()
    poll.cancel()  # the client closes its connection; the server must not wait out the 30 s
    with contextlib.suppress(asyncio.CancelledError):
        await poll
    await asyncio.to_thread(srv.wait_until_not_polling, 5.0)
