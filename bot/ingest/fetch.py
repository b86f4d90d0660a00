"""Fetch stage: one feed URL → FetchResult (bytes and validators), or a FetchError.

Every network problem becomes a `bot.errors.FetchError` with a short message:

    FetchError            timeout, connection refused/reset, bad URL, too many redirects
    ├── BlockedAddress    a hop resolves to a private/loopback/... address
    ├── BodyTooLarge      decompressed body over polling.max_body
    └── HTTPStatusError   4xx/5xx (with retry_after on 429/503)
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import math
import socket
import ssl
import time
import zlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpx

from bot.config import Polling
from bot.errors import BodyTooLarge, FetchError, HTTPStatusError
from bot.ingest.netguard import check_public_url, check_url, split_http_url
from bot.models import FetchResult

__all__ = ["Fetcher", "check_public_url", "parse_retry_after"]

MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# httpcore's pool bookkeeping grows with its connection count, so we run many
# small clients. Measured here (2 cores, tests/fakes/feed_server.py in another
# process, 1,000 GETs of a 32 KB feed at 100 concurrent, 20 ms latency), client
# CPU per request: one client of 100 connections 7.6 ms; clients of 25: 3.8 ms,
# 16: 3.3 ms, 8: 1.8-2.0 ms, 4: 1.1-1.2 ms, 2: 1.0 ms. Four matches the default
# per_host, so one host's slots share one client and reuse its keep-alive connections.
CONNECTIONS_PER_CLIENT = 4
# Inflating in steps bounds memory per step whatever the compression ratio.
_INFLATE_STEP = 64 * 1024
_SMALL_BODY = 16 * 1024  # what is read of a body we do not use (a redirect's page) to keep its connection


@dataclass(slots=True)
class _Answer:
    """One hop's outcome: a final answer (with body) or a redirect (with location)."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    location: str | None = None
    elapsed: float = 0.0  # network time of this hop, queueing excluded


class _BodyReader:
    """Accumulates a raw (possibly compressed) body, refusing it once it decodes past the cap."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._mode = {"": None, "identity": None, "x-gzip": "gzip"}.get(encoding, encoding)
        self._cap = cap
        self._size = 0
        self._parts: list[bytes] = []
        self._head = b""
        self._z: zlib._Decompress | None = None

    def feed(self, data: bytes) -> None:
        """Take the next raw chunk from the network."""
        if self._mode is None:
            self._add(data)
        elif self._z is None:
            self._start(data)
        else:
            self._inflate(data)

    def finish(self) -> bytes:
        """Return the whole decoded body."""
        if self._z is None and self._head:
            self._start(self._head, final=True)
        if self._z is not None:
            # Lenient on a missing gzip trailer, like browsers: keep what inflated.
            self._add(self._z.flush())
        return b"".join(self._parts)

    def _start(self, data: bytes, final: bool = False) -> None:
        self._head += data
        if len(self._head) < 2 and not final:
            return
        head, self._head = self._head, b""
        self._z = zlib.decompressobj(self._wbits(head))
        self._inflate(head)

    def _wbits(self, head: bytes) -> int:
        if self._mode == "gzip" or head[:2] == b"\x1f\x8b":
            return 47  # gzip or zlib, detected by zlib
        # RFC 9110 "deflate" is zlib-wrapped, but many servers send raw deflate.
        zlib_header = len(head) >= 2 and head[0] & 0x0F == 8 and ((head[0] << 8) | head[1]) % 31 == 0
        return 47 if zlib_header else -15

    def _inflate(self, data: bytes) -> None:
        assert self._z is not None
        while data:
            if self._z.eof:
                # A second gzip member continues the body; anything else is trailing junk.
                if not data.startswith(b"\x1f\x8b"):
                    return
                self._z = zlib.decompressobj(47)
            try:
                out = self._z.decompress(data, _INFLATE_STEP)
            except zlib.error as err:
                raise FetchError(f"corrupt compressed body: {err}") from None
            self._add(out)
            data = self._z.unconsumed_tail or (self._z.unused_data if self._z.eof else b"")

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise BodyTooLarge(f"body larger than {_human_size(self._cap)}")
        if data:
            self._parts.append(data)


class Fetcher:
    """Conditional GETs with caps, redirects checked hop by hop, bounded concurrency."""

    def __init__(self, polling: Polling, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._polling = polling
        self._global = asyncio.Semaphore(polling.concurrency)
        self._host_slots: dict[str, asyncio.Queue[int]] = {}
        self._per_client = max(CONNECTIONS_PER_CLIENT, 1)
        count = 1 if transport is not None else math.ceil(polling.concurrency / self._per_client)
        ssl_context = _ssl_context() if transport is None else None
        self._clients = [self._client(transport, ssl_context) for _ in range(max(count, 1))]
        self._busy = [0] * len(self._clients)

    def _client(
        self, transport: httpx.AsyncBaseTransport | None, ssl_context: ssl.SSLContext | None
    ) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self._per_client, max_keepalive_connections=self._per_client)
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=ssl_context or _ssl_context(), limits=limits, retries=0)
        return httpx.AsyncClient(
            transport=transport,
            headers={
                "User-Agent": self._polling.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            timeout=httpx.Timeout(self._polling.timeout),
            follow_redirects=False,
            # The address guard assumes direct connections; an env proxy would bypass it.
            trust_env=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every HTTP client and its connections."""
        for client in self._clients:
            await client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url` conditionally; 200 with body or 304, else raise a FetchError subclass."""
        headers = _conditional_headers(etag, last_modified)
        spent = 0.0
        permanent = True
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            answer = await self._hop(current, headers, self._polling.timeout - spent)
            spent += answer.elapsed
            if answer.location is None:
                moved = hop > 0 and permanent
                return self._result(answer, moved, spent, etag, last_modified)
            permanent = permanent and answer.status in _PERMANENT
            current = answer.location
        raise FetchError(f"too many redirects (>{MAX_REDIRECTS})")

    def _result(
        self,
        answer: _Answer,
        moved: bool,
        elapsed: float,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        status = 304 if answer.status == 304 else 200
        # A 304 may omit validators (RFC 9110 only says SHOULD); keep the ones that still hold.
        fallback_etag, fallback_lm = (etag, last_modified) if status == 304 else (None, None)
        return FetchResult(
            url=answer.url,
            status=status,
            body=answer.body if status == 200 else b"",
            etag=answer.headers.get("ETag") or fallback_etag,
            last_modified=answer.headers.get("Last-Modified") or fallback_lm,
            permanent_url=answer.url if moved else None,
            content_type=answer.headers.get("Content-Type"),
            elapsed=elapsed,
        )

    async def _hop(self, url: str, headers: dict[bytes, bytes], budget: float) -> _Answer:
        _scheme, host, _port = split_http_url(url)
        slots = self._host_slots.get(host)  # not setdefault, which built a queue on every hop
        if slots is None:
            slots = self._host_slots[host] = _slot_queue(self._polling.per_host)
        # Queue time is not network time: the timeout starts once both limits let us in.
        slot = await slots.get()
        try:
            async with self._global:
                return await self._timed_hop(url, host, slot, headers, budget)
        finally:
            slots.put_nowait(slot)

    async def _timed_hop(self, url: str, host: str, slot: int, headers: dict[bytes, bytes], budget: float) -> _Answer:
        timeout = self._polling.timeout
        if budget <= 0:
            raise FetchError(f"timeout after {timeout:g}s")
        started = time.monotonic()
        try:
            async with asyncio.timeout(budget):
                await check_url(url, allow_private=self._polling.allow_private_networks)
                index = self._pick_client(host, slot)
                self._busy[index] += 1
                try:
                    answer = await self._request(self._clients[index], url, headers)
                finally:
                    self._busy[index] -= 1
            answer.elapsed = time.monotonic() - started
            return answer
        except (TimeoutError, httpx.TimeoutException):
            raise FetchError(f"timeout after {timeout:g}s") from None
        except httpx.HTTPError as err:
            raise FetchError(_describe(err, host)) from None
        except (httpx.InvalidURL, UnicodeError) as err:
            raise FetchError(f"bad URL: {err}") from None
        except OSError as err:
            raise FetchError(_describe(err, host)) from None

    def _pick_client(self, host: str, slot: int) -> int:
        # A host prefers the same client (keep-alive reuse); when that one is full we
        # take the least busy, so a request never queues inside a pool, where the wait
        # would eat its timeout. The global semaphore guarantees a client has room.
        base = zlib.crc32(host.encode("utf-8", "replace"))
        preferred = (base + slot // self._per_client) % len(self._clients)
        if self._busy[preferred] < self._per_client:
            return preferred
        return min(range(len(self._clients)), key=self._busy.__getitem__)

    async def _request(self, client: httpx.AsyncClient, url: str, headers: dict[bytes, bytes]) -> _Answer:
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        try:
            return await self._read(response)
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response) -> _Answer:
        url, status = str(response.url), response.status_code
        if status in _REDIRECTS:
            location = _location(response)
            await _finish_exchange(response)
            return _Answer(url, status, response.headers, location=location)
        if status == 304:
            await _finish_exchange(response)
            return _Answer(url, status, response.headers)
        if not 200 <= status < 300:
            raise _status_error(response)
        return _Answer(url, status, response.headers, body=await self._body(response))

    async def _body(self, response: httpx.Response) -> bytes:
        cap = self._polling.max_body
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            raise BodyTooLarge(f"body larger than {_human_size(cap)} (Content-Length {length})")
        reader = _BodyReader(response.headers.get("Content-Encoding", ""), cap)
        async with contextlib.aclosing(_raw_chunks(response)) as chunks:
            async for chunk in chunks:
                reader.feed(chunk)
        return reader.finish()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building one costs ~20 ms (loading the CA bundle); all clients can share it.
    return httpx.create_ssl_context()


async def _raw_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    if not response.is_stream_consumed:
        async for chunk in response.aiter_raw():
            yield chunk
    elif isinstance(response.stream, httpx.AsyncByteStream):
        # A transport that built its Response from `content=` (httpx.MockTransport)
        # has pre-read it; its stream still yields the raw, undecoded bytes.
        async for chunk in response.stream:
            yield chunk


async def _finish_exchange(response: httpx.Response) -> None:
    """Read the rest of a body we do not use, so its connection serves the next request.

    Closed before its end, a response takes its connection along: every 304 of a poll opened
    a new one (TCP, and for https TLS, handshakes). A long redirect page is not worth it.
    """
    size = 0
    async with contextlib.aclosing(_raw_chunks(response)) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > _SMALL_BODY:
                return


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[bytes, bytes]:
    # Validators are echoed back as the server sent them (latin-1 by RFC 9110); one
    # that cannot be a header value is dropped, which only costs a full download.
    headers = {}
    for name, value in ((b"If-None-Match", etag), (b"If-Modified-Since", last_modified)):
        raw = (value or "").strip().encode("latin-1", "replace")
        if raw and not any(b < 0x20 or b == 0x7F for b in raw):
            headers[name] = raw
    return headers


def _slot_queue(size: int) -> asyncio.Queue[int]:
    slots: asyncio.Queue[int] = asyncio.Queue()
    for slot in range(max(size, 1)):
        slots.put_nowait(slot)
    return slots


def _location(response: httpx.Response) -> str:
    location = response.headers.get("Location", "").strip()
    if not location:
        raise HTTPStatusError(response.status_code, f"HTTP {response.status_code} redirect without Location")
    try:
        return str(response.url.join(location))
    except (httpx.InvalidURL, ValueError):
        raise FetchError(f"bad redirect Location: {location[:200]}") from None


def _status_error(response: httpx.Response) -> HTTPStatusError:
    status = response.status_code
    reason = response.reason_phrase or ""
    retry_after = None
    if status in _RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return HTTPStatusError(status, f"HTTP {status} {reason}".strip(), retry_after)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _describe(err: BaseException, host: str) -> str:
    """A short human message for a transport failure."""
    causes = list(_chain(err))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset by server"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return f"cannot resolve host {host}"
    if isinstance(err, httpx.RemoteProtocolError):
        return "server closed the connection or broke the HTTP protocol"
    if isinstance(err, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"bad URL: {err}"
    if any("SSL" in type(c).__name__ or "CERTIFICATE" in str(c) for c in causes):
        return f"TLS error: {causes[-1]}"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect: {causes[-1] or type(causes[-1]).__name__}"
    return f"network error: {err or type(err).__name__}"


def _chain(err: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo = [err]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo.extend(c for c in (current.__cause__, current.__context__) if c is not None)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return seen


def _human_size(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"
