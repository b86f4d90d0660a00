"""Hostile network: DNS rebinding, an HTTP charset, a DOCTYPE inside a comment and servers that drip,
never end or never finish their headers.

DNS and the routes to public addresses are outside this machine, so they are the only stand-ins:
`FakeDNS` answers names (a different answer on each lookup, as a rebinding name does) and `Router`
carries a connection for a public address to a real server on 127.0.0.1. Everything else is real:
the fetcher, its guard, httpx, TLS, the feed server, the database.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import re
import sqlite3
import ssl
import threading
import time
import tracemalloc
import unicodedata
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import pytest
import trustme
import yaml

from bot.config import Polling, config_from_dict
from bot.errors import BlockedAddress, BodyTooLarge, FetchError, ParseError
from bot.ingest.charset import decode_by_http_charset
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import IPAddress
from bot.ingest.parse import parse_feed, sanitize_xml
from bot.runtime import Runtime
from bot.services.admin import AdminError, AdminService
from bot.store.sources import source_statuses
from tests.cli import mediabot
from tests.conftest import ConfigWriter, rss
from tests.fakes.feed_server import FeedServer
from tests.test_hostile_ingest import polling_runtime

PUBLIC = "93.184.216.34"  # a public address; no packet ever goes there (Router refuses unknown routes)
OTHER_PUBLIC = "203.119.73.10"
ORG = {"name": "Sở Thông tin và Truyền thông Đồng Tháp", "timezone": "Asia/Ho_Chi_Minh"}


def _feed(title: str = "Báo Đồng Tháp") -> bytes:
    return rss(title, [("Đắk Lắk đón mưa lớn, đường ngập sâu", "Nội dung", datetime.now(UTC))])


class FakeDNS:
    """Names → successive answers (the last one repeats); every lookup is recorded."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in self.answers:
            raise FetchError(f"cannot resolve host {host}")
        queue = self.answers[host]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in answer]


class Router(httpcore.AsyncNetworkBackend):
    """The network between here and public addresses: a route leads to a local server, else unreachable."""

    def __init__(self, routes: dict[str, str] | None = None, *, black_holes: Iterable[str] = ()) -> None:
        self.routes = routes or {}
        self.black_holes = set(black_holes)  # addresses whose packets vanish: a connect never returns
        self.attempts: list[tuple[str, int]] = []
        self.abandoned: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        if host in self.black_holes:
            try:
                await asyncio.Event().wait()
            finally:
                self.abandoned.append(host)
        target = self.routes.get(host, host if ipaddress.ip_address(host).is_loopback else None)
        if target is None:
            raise httpcore.ConnectError("network unreachable (no route in tests)")
        return await self._real.connect_tcp(target, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture
def srv() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def guarded(**overrides: Any) -> Polling:
    """Polling with the guard on (the default): only public addresses."""
    return Polling(**{"timeout": 3.0, **overrides})


# ---------------------------------------------------------------- DNS rebinding


async def test_a_rebinding_name_never_reaches_the_loopback_server(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed())
    dns = FakeDNS({"rebind.example.vn": [[PUBLIC], ["127.0.0.1"]]})
    router = Router()
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        with pytest.raises(FetchError, match=r"^cannot connect"):
            await fetcher.fetch(f"http://rebind.example.vn:{srv.port}/feed.rss")
    assert srv.requests == []
    assert dns.lookups == ["rebind.example.vn"]  # one lookup: the checked answer is the one used
    assert router.attempts == [(PUBLIC, srv.port)]


async def test_a_name_with_one_private_address_among_public_ones_is_refused(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed())
    dns = FakeDNS({"mixed.example.vn": [[PUBLIC, "127.0.0.1"]]})
    router = Router({PUBLIC: "127.0.0.1"})
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        with pytest.raises(BlockedAddress, match=r"^refusing private address 127\.0\.0\.1 for host mixed\.example"):
            await fetcher.fetch(f"http://mixed.example.vn:{srv.port}/feed.rss")
    assert (srv.requests, router.attempts) == ([], [])


@pytest.mark.parametrize("site_local", ["fec0::10", "feff::1"])
async def test_an_ipv6_site_local_address_is_refused(srv: FeedServer, site_local: str) -> None:
    """fec0::/10 is the IPv6 twin of 10/8 where it is still routed: the local server stands for it."""
    srv.add("/feed.rss", _feed())
    dns = FakeDNS({"intranet.example.vn": [[site_local]]})
    router = Router({site_local: "127.0.0.1"})
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        with pytest.raises(BlockedAddress, match=rf"^refusing private address {site_local} for host intranet"):
            await fetcher.fetch(f"http://intranet.example.vn:{srv.port}/feed.rss")
    assert (srv.requests, router.attempts) == ([], [])


async def test_a_public_name_is_fetched_from_the_checked_address_with_its_host_header(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed("Báo Đắk Lắk"))
    dns = FakeDNS({"baodaklak.example.vn": [[PUBLIC]]})
    router = Router({PUBLIC: "127.0.0.1"})
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        result = await fetcher.fetch(f"http://baodaklak.example.vn:{srv.port}/feed.rss")
        again = await fetcher.fetch(f"http://baodaklak.example.vn:{srv.port}/feed.rss")
    assert result.status == 200 and "Báo Đắk Lắk".encode() in result.body
    assert again.status == 200
    assert [r.headers["host"] for r in srv.requests] == [f"baodaklak.example.vn:{srv.port}"] * 2
    assert router.attempts == [(PUBLIC, srv.port)]  # the second request reused the checked connection


async def test_a_redirect_to_a_rebinding_name_is_pinned_too(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed())
    srv.add("/moved.rss", b"", status=302, headers={"Location": f"http://rebind.example.vn:{srv.port}/feed.rss"})
    dns = FakeDNS({"tin.example.vn": [[PUBLIC]], "rebind.example.vn": [[OTHER_PUBLIC], ["127.0.0.1"]]})
    router = Router({PUBLIC: "127.0.0.1"})
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        with pytest.raises(FetchError, match=r"^cannot connect"):
            await fetcher.fetch(f"http://tin.example.vn:{srv.port}/moved.rss")
    assert [r.path for r in srv.requests] == ["/moved.rss"]
    assert router.attempts == [(PUBLIC, srv.port), (OTHER_PUBLIC, srv.port)]


async def test_a_redirect_to_a_private_name_is_refused(srv: FeedServer) -> None:
    srv.add("/moved.rss", b"", status=301, headers={"Location": "http://router.example.vn/admin"})
    dns = FakeDNS({"tin.example.vn": [[PUBLIC]], "router.example.vn": [["192.168.1.1"]]})
    async with Fetcher(guarded(), resolver=dns, connector=Router({PUBLIC: "127.0.0.1"})) as fetcher:
        with pytest.raises(BlockedAddress, match=r"192\.168\.1\.1 for host router\.example\.vn"):
            await fetcher.fetch(f"http://tin.example.vn:{srv.port}/moved.rss")


async def test_a_black_holed_address_does_not_spend_the_budget_of_a_reachable_one(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed("Báo Cà Mau"))
    v6 = "2404:6800:4005:80b::200e"
    dns = FakeDNS({"baocamau.example.vn": [[v6, PUBLIC]]})
    router = Router({PUBLIC: "127.0.0.1"}, black_holes=[v6])
    async with Fetcher(guarded(timeout=10.0), resolver=dns, connector=router) as fetcher:
        result = await fetcher.fetch(f"http://baocamau.example.vn:{srv.port}/feed.rss")
    assert result.status == 200 and "Báo Cà Mau".encode() in result.body
    assert router.attempts == [(v6, srv.port), (PUBLIC, srv.port)]
    assert router.abandoned == [v6]  # the losing attempt was cancelled, not left running


async def test_a_refused_address_gives_way_to_the_next_one(srv: FeedServer) -> None:
    srv.add("/feed.rss", _feed("Báo Bạc Liêu"))
    dns = FakeDNS({"baobaclieu.example.vn": [[OTHER_PUBLIC, PUBLIC]]})
    router = Router({PUBLIC: "127.0.0.1"})
    async with Fetcher(guarded(), resolver=dns, connector=router) as fetcher:
        result = await fetcher.fetch(f"http://baobaclieu.example.vn:{srv.port}/feed.rss")
    assert result.status == 200
    assert router.attempts == [(OTHER_PUBLIC, srv.port), (PUBLIC, srv.port)]


# ---------------------------------------------------------------- TLS keeps the name (SNI, certificate)


class _TLSFeed:
    """An HTTPS server on 127.0.0.1 with a certificate for one name; records SNI and Host."""

    def __init__(self, ca: trustme.CA, name: str, body: bytes) -> None:
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(name).configure_cert(context)
        context.sni_callback = lambda _sock, server_name, _ctx: self.sni.append(server_name)
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.hosts.append(self.headers.get("Host", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _TLSFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_https_to_a_pinned_address_keeps_the_name_for_sni_and_the_certificate() -> None:
    ca = trustme.CA()
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with _TLSFeed(ca, "baodongthap.example.vn", _feed("Báo Đồng Tháp")) as tls:
        dns = FakeDNS({"baodongthap.example.vn": [[PUBLIC]], "khac.example.vn": [[PUBLIC]]})
        router = Router({PUBLIC: "127.0.0.1"})
        async with Fetcher(guarded(), resolver=dns, connector=router, verify=client_context) as fetcher:
            result = await fetcher.fetch(f"https://baodongthap.example.vn:{tls.port}/rss")
            # The same address under a name the certificate does not cover: verification uses the name.
            with pytest.raises(FetchError, match=r"^TLS error"):
                await fetcher.fetch(f"https://khac.example.vn:{tls.port}/rss")
    assert result.status == 200 and "Báo Đồng Tháp".encode() in result.body
    assert tls.sni[0] == "baodongthap.example.vn"
    assert tls.hosts == [f"baodongthap.example.vn:{tls.port}"]


# ---------------------------------------------------------------- the same guard through poll and /addsource


def _config(tmp_path: Path, sources: list[dict[str, Any]], *, allow_private: bool = False, timeout: str = "3s") -> Any:
    data = {
        "organization": ORG,
        "polling": {"timeout": timeout, "min_interval": "1s", "allow_private_networks": allow_private},
        "access": {"admins": [4242]},
        "sources": sources,
    }
    path = tmp_path / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config_from_dict(data, str(path), path)


@pytest.fixture
async def make_runtime(tmp_path: Path) -> AsyncIterator[Any]:
    started: list[Runtime] = []

    async def make(sources: list[dict[str, Any]], dns: FakeDNS, router: Router) -> Runtime:
        runtime = Runtime(_config(tmp_path, sources), tmp_path / "db.sqlite", parser_workers=0)
        await runtime.start()
        started.append(runtime)
        assert runtime.fetcher and runtime.poller
        await runtime.fetcher.aclose()
        # The real fetcher of the real config, with DNS and the routes outside replaced.
        runtime.fetcher = Fetcher(runtime.config.polling, resolver=dns, connector=router)
        runtime.poller.fetcher = runtime.fetcher
        return runtime

    yield make
    for runtime in started:
        await runtime.aclose()


async def test_poll_of_a_rebinding_source_stores_nothing_and_says_why(srv: FeedServer, make_runtime: Any) -> None:
    srv.add("/feed.rss", _feed())
    dns = FakeDNS({"rebind.example.vn": [[PUBLIC], ["127.0.0.1"]], "baodaklak.example.vn": [[OTHER_PUBLIC]]})
    sources = [
        {"id": "rebind", "name": "Báo Giả", "url": f"http://rebind.example.vn:{srv.port}/feed.rss"},
        {"id": "daklak", "name": "Báo Đắk Lắk", "url": f"http://baodaklak.example.vn:{srv.port}/feed.rss"},
    ]
    runtime = await make_runtime(sources, dns, Router({OTHER_PUBLIC: "127.0.0.1"}))
    assert runtime.poller
    report = await runtime.poller.poll(only_due=False)
    outcomes = {o.source_id: o for o in report.outcomes}
    assert outcomes["rebind"].status == "failed" and outcomes["daklak"].new_articles == 1
    assert [r.headers["host"] for r in srv.requests] == [f"baodaklak.example.vn:{srv.port}"]
    health = {s.id: s for s in await runtime.read(lambda rt: source_statuses(rt.reader()))}
    assert health["rebind"].last_error.startswith("cannot connect")


async def test_addsource_preview_of_a_rebinding_name_never_reaches_loopback(srv: FeedServer, make_runtime: Any) -> None:
    srv.add("/feed.rss", _feed("Báo Giả Mạo"))
    dns = FakeDNS({"rebind.example.vn": [[PUBLIC], ["127.0.0.1"]], "private.example.vn": [["10.1.2.3"]]})
    admin = AdminService(await make_runtime([], dns, Router()))
    with pytest.raises(AdminError) as info:
        await admin.preview_feed(f"http://rebind.example.vn:{srv.port}/feed.rss")
    assert info.value.code == "fetch_failed"
    with pytest.raises(AdminError) as blocked:
        await admin.preview_feed(f"http://private.example.vn:{srv.port}/feed.rss")
    assert (blocked.value.code, blocked.value.detail.split(" (")[0]) == (
        "private_address",
        "refusing private address 10.1.2.3 for host private.example.vn",
    )
    assert srv.requests == []
    assert dns.lookups == ["rebind.example.vn", "private.example.vn"]


async def test_addsource_preview_of_a_public_name_works(srv: FeedServer, make_runtime: Any) -> None:
    srv.add("/feed.rss", _feed("Báo Đồng Tháp điện tử"))
    dns = FakeDNS({"baodongthap.example.vn": [[PUBLIC]]})
    admin = AdminService(await make_runtime([], dns, Router({PUBLIC: "127.0.0.1"})))
    preview = await admin.preview_feed(f"http://baodongthap.example.vn:{srv.port}/feed.rss")
    assert (preview.title, preview.items) == ("Báo Đồng Tháp điện tử", 1)


# ---------------------------------------------------------------- the HTTP charset


TITLE_VN = "Đồng Tháp: lũ về sớm, người dân khẩn trương gia cố đê bao"
ITEM_VN = "Quảng Ngãi hỗ trợ ngư dân bị thiệt hại do bão số 13"


def to_cp1258(text: str) -> bytes:
    """Vietnamese in Windows-1258, as its writers produce it: base letters, then tone marks where no
    precomposed letter exists (Python's codec only maps characters one to one)."""
    return b"".join(_cp1258_char(char) for char in unicodedata.normalize("NFC", text))


def _cp1258_char(char: str) -> bytes:
    base, *marks = unicodedata.normalize("NFD", char)
    # Compose the base with as many of its marks as the code page has a letter for (ê, ơ, ư…),
    # and write the rest (tones) as combining marks.
    for size in range(len(marks), -1, -1):
        for inner in itertools.combinations(marks, size):
            outer = [m for m in marks if m not in inner]
            try:
                return (unicodedata.normalize("NFC", base + "".join(inner)) + "".join(outer)).encode("cp1258")
            except UnicodeEncodeError:
                continue
    raise ValueError(f"{char!r} has no Windows-1258 form")


def _plain_rss(title: str, item: str, declaration: str = '<?xml version="1.0"?>') -> str:
    return (
        f'{declaration}<rss version="2.0"><channel><title>{title}</title><link>https://baodongthap.example.vn/</link>'
        f"<item><title>{item}</title><link>https://baodongthap.example.vn/tin/1</link>"
        "<pubDate>Mon, 30 Nov 2026 08:00:00 +0700</pubDate></item></channel></rss>"
    )


def _titles(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT title FROM articles ORDER BY id")]


def test_a_feed_whose_only_charset_is_the_http_header_is_read_in_it(
    write_config: ConfigWriter, feed_server: FeedServer, tmp_path: Path
) -> None:
    body = to_cp1258(_plain_rss(TITLE_VN, ITEM_VN))
    assert b"\xcc" in body or b"\xec" in body  # combining tone marks, as real cp1258 text has
    url = feed_server.add("/cp1258.rss", body, content_type="text/xml; charset=windows-1258")
    config = write_config(sources=[{"id": "dongthap", "name": "Báo Đồng Tháp", "url": url}])
    proc = mediabot(config, tmp_path / "db.sqlite", "poll", "--once")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _titles(tmp_path / "db.sqlite") == [ITEM_VN]


async def test_the_http_charset_reaches_the_addsource_preview_too(srv: FeedServer, tmp_path: Path) -> None:
    body = to_cp1258(_plain_rss(TITLE_VN, ITEM_VN))
    url = srv.add("/cp1258.rss", body, content_type="text/xml; charset=cp1258")
    runtime = Runtime(_config(tmp_path, [], allow_private=True), tmp_path / "db.sqlite", parser_workers=0)
    await runtime.start()
    try:
        preview = await AdminService(runtime).preview_feed(url)
    finally:
        await runtime.aclose()
    assert (preview.title, preview.sample_titles) == (TITLE_VN, (ITEM_VN,))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # The declaration and the bytes agree: a wrong header does not win.
        (
            _plain_rss(TITLE_VN, ITEM_VN, '<?xml version="1.0" encoding="utf-8"?>').encode(),
            "text/xml; charset=windows-1258",
        ),
        # No declaration, valid UTF-8 (XML's default): the header is a server default nobody set.
        (_plain_rss(TITLE_VN, ITEM_VN).encode(), "application/rss+xml; charset=windows-1258"),
        # The declaration says windows-1258 and the bytes are that: the header is not needed.
        (to_cp1258(_plain_rss(TITLE_VN, ITEM_VN, '<?xml version="1.0" encoding="windows-1258"?>')), "text/xml"),
        # The declaration is wrong (the bytes are not UTF-8), the header is right.
        (
            to_cp1258(_plain_rss(TITLE_VN, ITEM_VN, '<?xml version="1.0" encoding="utf-8"?>')),
            "text/xml; charset=windows-1258",
        ),
        # An unknown charset is ignored.
        (_plain_rss(TITLE_VN, ITEM_VN).encode(), "text/xml; charset=klingon-8"),
    ],
)
def test_charset_precedence(body: bytes, content_type: str) -> None:
    feed = parse_feed(body, "https://baodongthap.example.vn/rss", content_type)
    # NFC is normalize's job (the next stage); cp1258 text decodes with combining tones.
    titles = (unicodedata.normalize("NFC", feed.title), unicodedata.normalize("NFC", feed.entries[0].title))
    assert titles == (TITLE_VN, ITEM_VN)


def test_utf8_with_a_stray_bad_byte_is_not_reread_in_the_header_charset() -> None:
    good = _plain_rss(TITLE_VN, ITEM_VN).encode()
    body = good.replace("Quảng".encode(), b"Qu\xff\xfeng", 1)
    assert decode_by_http_charset(body, "text/xml; charset=windows-1258") == body
    # The same bytes all in Windows-1258 are re-read in it.
    legacy = to_cp1258(_plain_rss(TITLE_VN, ITEM_VN))
    assert decode_by_http_charset(legacy, "text/xml; charset=windows-1258") == good


# ---------------------------------------------------------------- DOCTYPE inside a leading comment


COMMENTED_DOCTYPE = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<!-- <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    '"http://my.netscape.com/publish/formats/rss-0.91.dtd"> -->\n'
    '<!--\n<!ENTITY ban "Ban Tuyên giáo">\n-->\n'
)


def test_a_doctype_mentioned_in_a_leading_comment_leaves_the_feed_readable(
    write_config: ConfigWriter, feed_server: FeedServer, tmp_path: Path
) -> None:
    body = _plain_rss(TITLE_VN, ITEM_VN, COMMENTED_DOCTYPE).encode()
    url = feed_server.add("/comment.rss", body)
    config = write_config(sources=[{"id": "dongthap", "name": "Báo Đồng Tháp", "url": url}])
    proc = mediabot(config, tmp_path / "db.sqlite", "poll", "--once")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _titles(tmp_path / "db.sqlite") == [ITEM_VN]


def test_a_real_doctype_after_a_comment_is_still_removed() -> None:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    prolog = f"{COMMENTED_DOCTYPE}<!DOCTYPE rss [{''.join(levels)}]>\n"
    body = _plain_rss("&lol9;", "&lol9;", prolog).encode()
    clean = sanitize_xml(body)
    assert b"<!ENTITY" not in clean and b"<!DOCTYPE" not in clean
    feed = parse_feed(body, "https://baodongthap.example.vn/rss")
    assert len(feed.title) < 100 and "lollol" not in feed.title + feed.entries[0].title


def test_a_declaration_outside_the_prolog_is_still_refused() -> None:
    body = b'<?xml version="1.0"?>\n<!-- tin -->\n<!ENTITY a "b">\n<rss version="2.0"><channel/></rss>'
    with pytest.raises(ParseError, match=r"^not a feed: DTD declarations outside a well-formed prolog$"):
        sanitize_xml(body)


# ---------------------------------------------------------------- servers that drip, never end, never finish headers


class HostileServer:
    """A raw TCP server on 127.0.0.1 that answers every request the way `mode` says:

    drip             headers at once, then the body one byte per second
    endless          headers, then 64 KB chunks with no end (no Content-Length, no close)
    endless-headers  a status line, then header lines with no end
    stalled-headers  a status line and one header, then silence
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.closed = 0  # connections that ended (the client gave up)
        self.sent = 0
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def url(self, path: str = "/feed.rss") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, predicate: Any, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        assert self._ready.wait(10), "hostile server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._count("connections")
        try:
            await reader.readuntil(b"\r\n\r\n")
            await getattr(self, "_" + self.mode.replace("-", "_"))(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._count("closed")

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)

    async def _drip(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = _feed("Báo Nhỏ Giọt")
        await self._send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
        await self._send(writer, f"Content-Length: {len(body)}\r\n\r\n".encode())
        for index in range(len(body)):
            await self._send(writer, body[index : index + 1])
            await asyncio.sleep(1.0)

    async def _endless(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n<rss><channel>")
        chunk = b"<item><title>V\xc3\xb4 t\xe1\xba\xadn</title></item>" * 2048
        while True:
            await self._send(writer, chunk)

    async def _endless_headers(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, b"HTTP/1.1 200 OK\r\n")
        while True:
            await self._send(writer, b"X-Pad: " + b"a" * 1000 + b"\r\n")

    async def _stalled_headers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n")
        await reader.read()  # nothing more, until the client hangs up

    def _count(self, name: str) -> None:
        with self._cond:
            setattr(self, name, getattr(self, name) + 1)
            self._cond.notify_all()


def local(**overrides: Any) -> Polling:
    """Polling for servers on 127.0.0.1 (loopback is private, so it must be allowed)."""
    return Polling(**{"allow_private_networks": True, "timeout": 2.0, **overrides})


async def test_one_byte_per_second_is_cut_at_the_feed_budget() -> None:
    with HostileServer("drip") as server:
        started = time.monotonic()
        async with Fetcher(local(timeout=2.0)) as fetcher:
            with pytest.raises(FetchError, match=r"^too slow: \d+ bytes of the body in the 2s budget$"):
                await fetcher.fetch(server.url())
        took = time.monotonic() - started
        assert server.wait_for(lambda: server.closed == 1, 5), "the dripping connection was left open"
    # Each byte comes well inside a per-read timeout: only a budget for the whole fetch ends it
    # before the ~600 s the body would take.
    assert took < 30


async def test_an_endless_body_stops_at_the_size_cap_with_bounded_memory() -> None:
    cap = 512 * 1024
    with HostileServer("endless") as server:
        tracemalloc.start()
        try:
            async with Fetcher(local(timeout=20.0, max_body=cap)) as fetcher:
                with pytest.raises(BodyTooLarge, match=r"^body larger than 512 KB$"):
                    await fetcher.fetch(server.url())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert server.wait_for(lambda: server.closed == 1, 5)
    assert peak < 8 * cap


async def test_headers_without_end_are_refused_quickly() -> None:
    with HostileServer("endless-headers") as server:
        started = time.monotonic()
        async with Fetcher(local(timeout=20.0)) as fetcher:
            with pytest.raises(FetchError, match=r"^server closed the connection or broke the HTTP protocol$"):
                await fetcher.fetch(server.url())
        assert time.monotonic() - started < 15  # refused, not waited out (the budget is 20 s)
        assert server.wait_for(lambda: server.closed == 1, 5)


async def test_headers_that_never_finish_time_out() -> None:
    with HostileServer("stalled-headers") as server:
        async with Fetcher(local(timeout=1.0)) as fetcher:
            with pytest.raises(FetchError, match=r"^timeout after 1s$"):
                await fetcher.fetch(server.url())
        assert server.wait_for(lambda: server.closed == 1, 5)


async def test_a_dripping_outlet_keeps_no_other_from_its_schedule_and_its_health_says_why(
    srv: FeedServer, tmp_path: Path
) -> None:
    srv.add("/nhanh.rss", _feed("Báo Nhanh"))
    with HostileServer("drip") as drip:
        sources = [
            {"id": "nhogiot", "name": "Báo Nhỏ Giọt", "url": drip.url()},
            {"id": "nhanh", "name": "Báo Nhanh", "url": srv.url("/nhanh.rss"), "interval": "1s"},
        ]
        config = _config(tmp_path, sources, allow_private=True, timeout="6s")
        async with polling_runtime(config, tmp_path / "db.sqlite", stop_within=10) as runtime:
            # The 6 s budget of the dripping feed: the other one is checked about every second meanwhile.
            checked = await asyncio.to_thread(srv.wait_for, lambda: srv.hits("/nhanh.rss") >= 3, 10)
            assert checked, f"fast feed checked {srv.hits('/nhanh.rss')} times while the dripping one ran"
            assert drip.closed == 0  # …all inside the dripping feed's first attempt
            error = await _wait_for_error(runtime, "nhogiot", deadline=10)
    assert re.fullmatch(r"too slow: \d+ bytes of the body in the 6s budget", error), error


async def _wait_for_error(runtime: Runtime, source_id: str, *, deadline: float) -> str:
    """The source's last error once its health row has one (checked every 50 ms up to `deadline`)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        health = {s.id: s for s in await runtime.read(lambda rt: source_statuses(rt.reader()))}
        if health[source_id].last_error:
            return health[source_id].last_error
        await asyncio.sleep(0.05)
    raise AssertionError(f"{source_id} recorded no error within {deadline}s")
