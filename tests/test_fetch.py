"""Fetch stage end to end against a real HTTP server on 127.0.0.1 (tests/fakes/feed_server.py)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from bot.config import Polling
from bot.errors import BlockedAddress, BodyTooLarge, FetchError, HTTPStatusError
from bot.ingest.fetch import Fetcher, check_public_url, parse_retry_after
from tests.corpus import CORPUS
from tests.fakes.feed_content import gzip_bomb, small_feed
from tests.fakes.feed_server import FeedServer

FEED = small_feed("Thời sự Đồng Tháp: Tin mới nhất")
MB = 1024**2


@pytest.fixture
def srv():
    with FeedServer() as server:
        yield server
    assert server.errors == []


def local(**overrides) -> Polling:
    """Polling for the loopback server (loopback is private, so it must be allowed)."""
    return Polling(**{"allow_private_networks": True, "timeout": 5.0, **overrides})


async def fetch(url: str, polling: Polling | None = None, **kwargs):
    async with Fetcher(polling or local()) as fetcher:
        return await fetcher.fetch(url, **kwargs)


# ---------------------------------------------------------------- 200 / 304


async def test_200_returns_body_validators_and_type(srv):
    url = srv.add("/feed.rss", FEED, etag='"v1"', last_modified="Sat, 31 Oct 2026 10:00:00 GMT")
    result = await fetch(url)
    assert (result.status, result.url, result.body) == (200, url, FEED)
    assert "Đồng Tháp".encode() in result.body
    assert result.etag == '"v1"'
    assert result.last_modified == "Sat, 31 Oct 2026 10:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.permanent_url is None
    assert result.elapsed > 0


async def test_etag_gives_304_then_200_when_body_changes(srv):
    url = srv.add("/e.rss", FEED, etag='"v1"')
    first = await fetch(url)
    second = await fetch(url, etag=first.etag)
    assert (second.status, second.body, second.etag) == (304, b"", '"v1"')
    assert srv.requests[-1].headers["if-none-match"] == '"v1"'
    changed = small_feed("Tin mới: Đà Nẵng đón bão")
    srv.set_body("/e.rss", changed, etag='"v2"')
    third = await fetch(url, etag=first.etag)
    assert (third.status, third.body, third.etag) == (200, changed, '"v2"')


async def test_last_modified_gives_304(srv):
    stamp = "Sat, 31 Oct 2026 10:00:00 GMT"
    url = srv.add("/lm.rss", FEED, last_modified=stamp)
    result = await fetch(url, last_modified=stamp)
    assert (result.status, result.body, result.last_modified) == (304, b"", stamp)
    assert srv.requests[-1].headers["if-modified-since"] == stamp
    assert "if-none-match" not in srv.requests[-1].headers
    assert (await fetch(url, last_modified="Fri, 30 Oct 2026 10:00:00 GMT")).status == 200


async def test_304_without_validators_keeps_the_ones_sent(srv):
    url = srv.add("/bare304", b"", status=304)
    result = await fetch(url, etag='"abc"', last_modified="Sat, 31 Oct 2026 10:00:00 GMT")
    assert (result.status, result.etag, result.last_modified) == (
        304,
        '"abc"',
        "Sat, 31 Oct 2026 10:00:00 GMT",
    )


async def test_no_conditional_headers_without_validators(srv):
    await fetch(srv.add("/plain.rss", FEED, etag='"x"'))
    headers = srv.requests[-1].headers
    assert "if-none-match" not in headers and "if-modified-since" not in headers


async def test_user_agent_accept_and_encodings_sent(srv):
    agent = "mediabot-test/1.0 (So Thong tin Dong Thap; +https://example.vn/bot)"
    await fetch(srv.add("/ua.rss", FEED), local(user_agent=agent))
    headers = srv.requests[-1].headers
    assert headers["user-agent"] == agent
    assert "application/rss+xml" in headers["accept"]
    assert headers["accept-encoding"] == "gzip, deflate"


async def test_html_body_is_returned_for_the_parser_to_judge(srv):
    result = await fetch(srv.url("/html"))
    assert result.status == 200
    assert result.content_type == "text/html; charset=utf-8"
    assert "Tin tức Đà Nẵng".encode() in result.body


async def test_real_corpus_feed_is_byte_identical(srv):
    paths = srv.add_corpus(CORPUS)
    path = next(p for p in paths if p.endswith("baochinhphu.rss"))
    result = await fetch(srv.url(path))
    assert result.body == (CORPUS / "baochinhphu.rss").read_bytes()


# ---------------------------------------------------------------- content encodings


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
async def test_compressed_body_is_decoded(srv, encoding):
    big = small_feed("Báo Điện tử Chính phủ") * 20  # large enough that compression matters
    result = await fetch(srv.add(f"/{encoding}.rss", big, encoding=encoding))
    assert result.body == big


async def test_multi_member_gzip_is_decoded_whole(srv):
    body = gzip.compress("phần một, ".encode()) + gzip.compress("phần hai".encode())
    result = await fetch(srv.add("/multi.gz", body, headers={"Content-Encoding": "gzip"}))
    assert result.body.decode() == "phần một, phần hai"


async def test_unsupported_content_encoding_is_a_fetch_error(srv):
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        await fetch(srv.add("/br.rss", FEED, headers={"Content-Encoding": "br"}))


async def test_corrupt_gzip_is_a_fetch_error(srv):
    with pytest.raises(FetchError, match="corrupt compressed body"):
        await fetch(srv.add("/bad.gz", b"\x1f\x8b\x08\x00garbage-garbage", headers={"Content-Encoding": "gzip"}))


# ---------------------------------------------------------------- caps


async def test_content_length_over_cap_is_refused_before_reading(srv):
    start = time.monotonic()
    with pytest.raises(BodyTooLarge, match="Content-Length"):
        await fetch(srv.url("/big/50"), local(max_body=1 * MB))
    assert time.monotonic() - start < 3


async def test_streamed_body_over_cap_stops_early_with_bounded_memory(srv):
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="larger than 1 MB"):
            await fetch(srv.url("/big-chunked/50"), local(max_body=1 * MB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * MB
    assert srv.wait_for(lambda: "/big-chunked/50" in srv.streamed)
    assert srv.streamed["/big-chunked/50"] < 50 * MB  # the server was cut off mid-body


async def test_gzip_bomb_is_refused_with_bounded_memory(srv):
    gzip_bomb()  # build the cached 1 MB bomb outside the measurement
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooLarge, match="larger than 10 MB"):
            await fetch(srv.url("/bomb"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB


def test_gzip_bomb_really_inflates_to_a_gibibyte():
    bomb = gzip_bomb()
    assert len(bomb) < 2 * MB
    assert int.from_bytes(bomb[-4:], "little") == 1 << 30  # gzip ISIZE trailer
    inflater = zlib.decompressobj(47)
    first = inflater.decompress(bomb[: 64 * 1024], 32 * MB)
    assert len(first) > 32 * MB - 1 and first.count(0) == len(first)


# ---------------------------------------------------------------- timeouts and status errors


async def test_slow_headers_time_out(srv):
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"^timeout after 0\.3s$"):
        await fetch(srv.url("/slow/5"), local(timeout=0.3))
    assert time.monotonic() - start < 2


async def test_trickling_body_times_out_as_a_whole(srv):
    # Headers come at once and every piece arrives well inside the timeout, but the
    # whole body takes 3 s: the timeout covers the full request, and says the body dripped.
    with pytest.raises(FetchError, match=r"^too slow: \d+ bytes of the body in the 1s budget$"):
        await fetch(srv.url("/trickle/3"), local(timeout=1.0))


async def test_timeout_covers_the_redirect_chain_as_a_whole(srv):
    srv.latency = 0.3  # every hop alone fits in the timeout, three do not
    with pytest.raises(FetchError, match=r"timeout after 0\.7s"):
        await fetch(srv.url("/redirect/302-302"), local(timeout=0.7))
    assert srv.hits("/redirect/") <= 1


async def test_waiting_for_a_host_slot_does_not_count_toward_the_timeout(srv):
    # Each request takes 0.2 s, five in a row take 1 s: the last waits past the timeout.
    url = srv.add("/slowish.rss", FEED, delay=0.2)
    async with Fetcher(local(timeout=0.8, per_host=1)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url) for _ in range(5)))
    assert [r.status for r in results] == [200] * 5
    assert srv.max_inflight["127.0.0.1"] == 1


async def test_server_error_is_http_status_error(srv):
    with pytest.raises(HTTPStatusError) as info:
        await fetch(srv.url("/status/500"))
    assert (info.value.status, str(info.value), info.value.retry_after) == (
        500,
        "HTTP 500 Internal Server Error",
        None,
    )


async def test_404_is_http_status_error(srv):
    with pytest.raises(HTTPStatusError) as info:
        await fetch(srv.url("/no-such-feed.rss"))
    assert info.value.status == 404


async def test_429_retry_after_seconds(srv):
    with pytest.raises(HTTPStatusError) as info:
        await fetch(srv.url("/status/429?retry_after=120"))
    assert (info.value.status, info.value.retry_after) == (429, 120.0)
    assert str(info.value) == "HTTP 429 Too Many Requests"


async def test_503_retry_after_http_date(srv):
    with pytest.raises(HTTPStatusError) as info:
        await fetch(srv.url("/status/503?retry_after_date=90"))
    assert info.value.status == 503
    assert 80 <= info.value.retry_after <= 90


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Nov 2026 10:02:00 GMT", 120.0),
        ("Sun, 01 Nov 2026 09:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected


def test_parse_retry_after_date_round_trip():
    now = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 11, 1, 11, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now) == 3600.0


# ---------------------------------------------------------------- redirects


async def test_redirect_loop_is_too_many_redirects(srv):
    with pytest.raises(FetchError, match=r"too many redirects \(>5\)"):
        await fetch(srv.url("/loop/a"))
    assert srv.hits("/loop/a") + srv.hits("/loop/b") == 6


async def test_five_redirects_are_followed_six_are_not(srv):
    result = await fetch(srv.url("/redirect/302-302-302-302-302"))
    assert (result.status, result.url) == (200, srv.url("/redirect/"))
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch(srv.url("/redirect/302-302-302-302-302-302"))


async def test_permanent_chain_sets_permanent_url(srv):
    result = await fetch(srv.url("/redirect/301-308"))
    assert result.status == 200
    assert result.url == result.permanent_url == srv.url("/redirect/")
    assert "Đích chuyển hướng".encode() in result.body


@pytest.mark.parametrize("codes", ["302", "301-302", "307-301", "303"])
async def test_chain_with_a_temporary_hop_has_no_permanent_url(srv, codes):
    result = await fetch(srv.url(f"/redirect/{codes}"))
    assert (result.status, result.url, result.permanent_url) == (200, srv.url("/redirect/"), None)


async def test_conditional_headers_follow_redirects(srv):
    await fetch(srv.url("/redirect/301"), etag='"e1"')
    assert [r.headers.get("if-none-match") for r in srv.requests] == ['"e1"', '"e1"']


# ---------------------------------------------------------------- connection failures


async def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match=r"^connection refused$"):
        await fetch(f"http://127.0.0.1:{port}/feed.rss")


async def test_connection_reset(srv):
    with pytest.raises(FetchError, match="connection reset") as info:
        await fetch(srv.url("/reset"))
    assert type(info.value) is FetchError


async def test_unresolvable_host():
    with pytest.raises(FetchError, match=r"cannot resolve host no-such-host\.invalid"):
        await fetch("http://no-such-host.invalid/rss", Polling(timeout=5.0))


@pytest.mark.parametrize(
    "url",
    ["ftp://example.vn/feed.rss", "file:///etc/passwd", "http:///no-host", "báo.vn/rss", "http://x:99999/"],
)
async def test_bad_urls_are_fetch_errors(url):
    with pytest.raises(FetchError) as info:
        await fetch(url)
    assert type(info.value) is FetchError


# ---------------------------------------------------------------- concurrency


async def test_per_host_and_overall_limits_are_respected(srv):
    url = srv.add("/busy.rss", FEED, delay=0.2)
    other = url.replace("127.0.0.1", "localhost")
    async with Fetcher(local(concurrency=3, per_host=2)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(u) for u in [url] * 6 + [other] * 6))
    assert all(r.status == 200 for r in results)
    assert srv.max_inflight == {"127.0.0.1": 2, "localhost": 2}  # reached, never exceeded
    assert srv.max_inflight_total == 3


async def test_many_feeds_of_one_host_reuse_connections(srv):
    srv.latency = 0.05  # long enough for all slots to be in use at once
    async with Fetcher(local(concurrency=8, per_host=8)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(srv.url(f"/gen/{n}.rss")) for n in range(80)))
    assert len({r.body for r in results}) == 80
    assert srv.max_inflight["127.0.0.1"] == 8
    assert srv.connections_total <= 8  # 80 requests over kept-alive connections


async def test_304s_and_redirects_keep_their_connection(srv):
    url = srv.add("/feed.rss", FEED, etag='"v1"')
    async with Fetcher(local(concurrency=1, per_host=1)) as fetcher:
        for _ in range(5):
            assert (await fetcher.fetch(url, etag='"v1"')).status == 304
        assert (await fetcher.fetch(srv.url("/redirect/301-302"))).status == 200
    assert srv.connections_total == 1  # each 304 and redirect used to close it: 6 connections


async def test_synthetic_feed_second_poll_is_304(srv):
    async with Fetcher(local()) as fetcher:
        first = await fetcher.fetch(srv.url("/gen/7.rss"))
        second = await fetcher.fetch(srv.url("/gen/7.rss"), etag=first.etag, last_modified=first.last_modified)
        srv.epoch += 1
        third = await fetcher.fetch(srv.url("/gen/7.rss"), etag=first.etag)
    assert first.status == 200 and first.body.count(b"<item>") == 50
    assert "đ".encode() in first.body.lower()
    assert second.status == 304
    assert third.status == 200 and third.body != first.body


# ---------------------------------------------------------------- address guard


BLOCKED = [
    "http://localhost:{port}/feed.rss",
    "http://127.0.0.1:{port}/feed.rss",
    "http://[::1]:{port}/feed.rss",
    "http://10.1.2.3/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.1/rss",
    "http://172.16.5.4/rss",
    "http://[::ffff:10.0.0.1]/rss",
    "http://0.0.0.0:{port}/rss",
    "http://[fe80::1]/rss",
    "http://100.64.0.1/rss",
    "http://224.0.0.1/rss",
]


@pytest.mark.parametrize("template", BLOCKED)
async def test_default_polling_refuses_private_addresses(srv, template):
    srv.add("/feed.rss", FEED)
    url = template.format(port=srv.port)
    with pytest.raises(BlockedAddress, match=r"^refusing private address .+ for host "):
        await fetch(url, Polling(timeout=2.0))
    assert srv.requests == []


@pytest.mark.parametrize("template", BLOCKED)
async def test_check_public_url_refuses_private_addresses(template):
    with pytest.raises(BlockedAddress):
        await check_public_url(template.format(port=8080))


async def test_blocked_message_names_the_resolved_address():
    with pytest.raises(BlockedAddress, match=r"^refusing private address 127\.0\.0\.1 for host localhost \("):
        await check_public_url("http://localhost/rss")


@pytest.mark.parametrize("url", ["http://93.184.216.34/rss", "https://[2001:4860:4860::8888]/feed"])
async def test_check_public_url_accepts_public_literals(url):
    await check_public_url(url)


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/rss", "javascript:alert(1)", "http://"])
async def test_check_public_url_rejects_non_http(url):
    with pytest.raises(FetchError) as info:
        await check_public_url(url)
    assert type(info.value) is FetchError


class _Internet:
    """Stands in for hosts outside this machine (the only thing we mock)."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return self.routes[str(request.url)]


async def test_each_redirect_hop_is_checked_by_the_guard():
    internet = _Internet({"http://93.184.216.34/rss": httpx.Response(302, headers={"Location": "http://10.0.0.5/"})})
    async with Fetcher(Polling(timeout=2.0), transport=httpx.MockTransport(internet)) as fetcher:
        with pytest.raises(BlockedAddress, match=r"refusing private address 10\.0\.0\.5 for host 10\.0\.0\.5"):
            await fetcher.fetch("http://93.184.216.34/rss")
    assert internet.seen == ["http://93.184.216.34/rss"]


async def test_redirect_to_another_scheme_is_refused():
    internet = _Internet({"http://93.184.216.34/rss": httpx.Response(301, headers={"Location": "file:///etc/passwd"})})
    async with Fetcher(Polling(timeout=2.0), transport=httpx.MockTransport(internet)) as fetcher:
        with pytest.raises(FetchError, match="unsupported URL scheme 'file'"):
            await fetcher.fetch("http://93.184.216.34/rss")


async def test_public_permanent_redirect_through_transport():
    internet = _Internet(
        {
            "http://93.184.216.34/rss": httpx.Response(308, headers={"Location": "/moi/rss"}),
            "http://93.184.216.34/moi/rss": httpx.Response(200, content=FEED, headers={"ETag": '"m"'}),
        }
    )
    async with Fetcher(Polling(timeout=2.0), transport=httpx.MockTransport(internet)) as fetcher:
        result = await fetcher.fetch("http://93.184.216.34/rss")
    assert (result.permanent_url, result.body, result.etag) == ("http://93.184.216.34/moi/rss", FEED, '"m"')


async def test_compressed_body_from_a_pre_read_transport_is_decoded():
    packed = gzip.compress(FEED)
    internet = _Internet(
        {"http://93.184.216.34/rss": httpx.Response(200, content=packed, headers={"Content-Encoding": "gzip"})}
    )
    async with Fetcher(Polling(timeout=2.0), transport=httpx.MockTransport(internet)) as fetcher:
        assert (await fetcher.fetch("http://93.184.216.34/rss")).body == FEED


# ---------------------------------------------------------------- odd inputs never leak other exceptions


@pytest.mark.parametrize("etag", ['"é"', '"Đồng"', "bad\r\nX-Injected: 1"])
async def test_odd_validators_never_break_the_request(srv, etag):
    url = srv.add("/odd.rss", FEED, etag='"v1"')
    result = await fetch(url, etag=etag)
    assert result.status == 200 and result.body == FEED
    assert "x-injected" not in srv.requests[-1].headers


async def test_latin1_etag_from_the_server_round_trips(srv):
    url = srv.add("/latin.rss", FEED, etag='"é"')
    first = await fetch(url)
    assert (await fetch(url, etag=first.etag)).status == 304


@pytest.mark.parametrize("path", ["/a b\n", "/x\x00y"])
async def test_urls_with_control_characters_are_fetch_errors(srv, path):
    with pytest.raises(FetchError, match="bad URL") as info:
        await fetch(srv.base_url + path)
    assert type(info.value) is FetchError
