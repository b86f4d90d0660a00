"""`mediabot run` refusals before it serves: one line on stderr, the documented exit code, nothing echoed.

A TELEGRAM_API_URL pointing at a web server that is not a Bot API (python -m http.server,
a proxy's error page) answers HTML: the operator gets one line naming the URL and the HTTP
status, never the body (it may be huge or hold anything) nor PTB's traceback.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.telegram.startup import install_not_json_filter
from tests.conftest import BOT_TOKEN
from tests.test_bot_e2e import bot_env, start_bot

pytestmark = pytest.mark.e2e

MARKER = "nội-dung-trang-lỗi"  # in every body the server sends: must never be printed
BIG = 1_000_000


class _HtmlAnswers(http.server.SimpleHTTPRequestHandler):
    """GET as http.server does; every POST (each Bot API call) answered with HTML and `status`."""

    status = 501
    posts: list[str]

    def do_POST(self) -> None:
        self.posts.append(self.path)
        if self.status == 501:  # what `python -m http.server` answers, body and all
            self.send_error(501, "Unsupported method ('POST')", explain=MARKER)
            return
        body = f"<!DOCTYPE html><html><body><h1>{MARKER}</h1>{'x' * BIG}</body></html>".encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def posts() -> list[str]:
    """The paths POSTed to the servers of `html_server`."""
    return []


@pytest.fixture
def html_server(posts: list[str]) -> Iterator[Callable[[int], str]]:
    """`serve(status)` → the URL of a plain HTTP server answering every POST with HTML and that status."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(status: int) -> str:
        handler = type("Handler", (_HtmlAnswers,), {"status": status, "posts": posts})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _refusal(write_config: Callable[..., Path], tmp_path: Path, **env: str) -> tuple[int, list[str], str]:
    proc = start_bot(write_config(), tmp_path / "db.sqlite", bot_env(**env), tmp_path)
    code = proc.wait(timeout=60)
    output = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
    return code, (tmp_path / "stderr").read_text().strip().splitlines(), output


@pytest.mark.parametrize("status", [501, 200, 404, 500])
def test_an_html_server_as_bot_api_is_one_line_without_its_body(
    status: int, html_server: Callable[[int], str], write_config: Callable[..., Path], tmp_path: Path
) -> None:
    url = html_server(status)
    code, lines, output = _refusal(write_config, tmp_path, TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=url)
    assert code == 1, output
    assert len(lines) == 1, output
    assert lines[0].startswith(f"error: cannot reach Telegram at {url}: the answer is not the Bot API's"), lines
    assert f"HTTP {status}" in lines[0] or status == 200, lines
    assert MARKER not in output and "<html" not in output.lower() and "Traceback" not in output
    assert BOT_TOKEN.split(":", 1)[1] not in output


def test_nothing_listening_is_one_line_exit_1(write_config: Callable[..., Path], tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    code, lines, output = _refusal(write_config, tmp_path, TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=url)
    assert code == 1, output
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach Telegram at {url}: "), output
    assert "Traceback" not in output


def test_a_non_json_answer_while_running_is_logged_by_its_size_only(caplog: pytest.LogCaptureFixture) -> None:
    """After the start-up check, PTB's own record of such an answer is shortened, never the body."""
    install_not_json_filter()
    body = f"<html><body>{MARKER}{'x' * 5000}</body></html>"
    with caplog.at_level("ERROR"), pytest.raises(TelegramError):
        HTTPXRequest.parse_json_payload(body.encode())
    [record] = [r for r in caplog.records if r.name == "telegram.request.BaseRequest"]
    assert record.getMessage() == f"the Bot API answered {len(body)} characters that are not JSON (not shown)"
    assert record.exc_info is None and MARKER not in caplog.text


# ---- settings refused before any request: exit 2, one line, the token never shown

GOOD_ID = BOT_TOKEN.split(":", 1)[0]


@pytest.mark.parametrize(
    "token",
    [
        "123456:fake",  # the README's own placeholder shape, too short
        f"{GOOD_ID}AAH-no-colon-between-the-id-and-the-secret-part",
        f"bot{GOOD_ID}:AAH-fake-secret-token-for-tests_xyz",
        f"{GOOD_ID}:AAH fake secret token for tests with spaces",
        f"{GOOD_ID}:AAH-bí-mật-có-dấu-không-phải-token-thật-đâu",
    ],
)
def test_a_malformed_token_is_refused_before_any_request(
    token: str, html_server: Callable[[int], str], posts: list[str], write_config: Callable[..., Path], tmp_path: Path
) -> None:
    url = html_server(200)
    code, lines, output = _refusal(write_config, tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=url)
    assert code == 2, output
    assert len(lines) == 1 and lines[0].startswith("error: TELEGRAM_BOT_TOKEN: not a bot token"), output
    assert token not in output and token.split(":")[-1] not in output
    assert posts == []  # refused before the network


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("TELEGRAM_API_URL", "ftp://api.telegram.org"),
        ("TELEGRAM_API_URL", "http://"),
        ("MEDIABOT_WEBHOOK_URL", "bot.example.vn/hook"),
        ("MEDIABOT_WEBHOOK_URL", "tcp://bot.example.vn:8443/hook"),
    ],
)
def test_a_url_setting_that_is_not_http_is_refused_with_exit_2(
    name: str, value: str, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    code, lines, output = _refusal(write_config, tmp_path, TELEGRAM_BOT_TOKEN=BOT_TOKEN, **{name: value})
    assert code == 2, output
    assert lines == [f"error: {name}: not an http(s) URL: {value.rstrip('/')!r}"], output


def test_a_missing_token_is_an_error_line_with_exit_2(write_config: Callable[..., Path], tmp_path: Path) -> None:
    code, lines, _output = _refusal(write_config, tmp_path)
    assert code == 2
    assert lines == ["error: TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token"]
