"""A fake Telegram Bot API server for tests and benchmarks: real HTTP on 127.0.0.1.

    with FakeTelegram(token="123456:TEST-token", bot_username="mediabot_test") as srv:
        # bot: base_url=srv.base_url, base_file_url=srv.base_file_url
        lan = srv.user(1001, "Lan", language_code="vi")
        msg_id = srv.send_text(lan, "/search chuyển đổi số")
        reply = srv.wait_for_message(lan, lambda c: "chuyển đổi số" in c.text, after=msg_id)
        srv.press_button(lan, reply, "page:2")

Errors keep Telegram's shape (`ok`, `error_code`, `description`, `parameters.retry_after`);
faults are injected with `fail_next`, `drop_connection_next`, `flood_limits` and an outage window
(`start_outage("502" | "hang")` … `end_outage()`).
"""

from tests.fakes.telegram._fake import FakeTelegram
from tests.fakes.telegram._flood import FloodLimits
from tests.fakes.telegram._html import HtmlError, parse_html, utf16_len
from tests.fakes.telegram._objects import (
    FakeChat,
    FakeUser,
    RecordedCall,
    StoredFile,
    UpdateTiming,
    UploadedFile,
)

__all__ = [
    "FakeChat",
    "FakeTelegram",
    "FakeUser",
    "FloodLimits",
    "HtmlError",
    "RecordedCall",
    "StoredFile",
    "UpdateTiming",
    "UploadedFile",
    "parse_html",
    "utf16_len",
]
