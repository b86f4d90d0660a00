"""Fetch stage: one feed URL → FetchResult (bytes and validators), or a FetchError.

Every network problem becomes a `bot.errors.FetchError` with a short message:

    FetchError            timeout, too slow, connection refused/reset, bad URL, too many redirects
    ├── BlockedAddress    a hop resolves to a private/loopback/... address
    ├── BodyTooLarge      decompressed body over polling.max_body
    └── HTTPStatusError   4xx/5xx (with retry_after on 429/503)

The address guard lives in the connection layer (`netguard.PinnedBackend`): the address
that was checked is the one connected to, hop by hop.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import math
import socket
import ssl
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpcore
import httpx

from bot.config import Polling
from bot.errors import FetchError, HTTPStatusError
from bot.ingest.body import BodyReader, finish_exchange, human_size, read_capped
from bot.ingest.netguard import PinnedBackend, Resolver, check_public_url, check_url, resolve, split_http_url
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


@dataclass(slots=True)
class _Answer:
    """One hop's outcome: a final answer (with body) or a redirect (with location)."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""
    location: str | None = None
    elapsed: float = 0.0  # network time of this hop, queueing excluded


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose connections go through `PinnedBackend`.

    httpx takes no network backend argument, so the pool it built is replaced by an
    identical one that has it.
    """

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        super().__init__(verify=ssl_context, limits=limits, retries=0, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            retries=0,
            network_backend=backend,
        )


class Fetcher:
    """Conditional GETs with caps, redirects checked hop by hop, bounded concurrency.

    `resolver`, `connector` (the TCP layer under the guard) and `verify` stand in for DNS,
    the network and the CA store in tests; `transport` replaces the whole HTTP layer (the
    guard then checks each hop before sending it).
    """

    def __init__(
        self,
        polling: Polling,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = resolve,
        connector: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        self._polling = polling
        self._resolver = resolver
        self._precheck = transport is not None
        self._global = asyncio.Semaphore(polling.concurrency)
        self._host_slots: dict[str, asyncio.Queue[int]] = {}
        self._per_client = max(CONNECTIONS_PER_CLIENT, 1)
        if transport is None:
            backend = PinnedBackend(allow_private=polling.allow_private_networks, resolver=resolver, inner=connector)
            count = math.ceil(polling.concurrency / self._per_client)
            self._clients = [self._client(self._pinned_transport(backend, verify)) for _ in range(max(count, 1))]
        else:
            self._clients = [self._client(transport)]
        self._busy = [0] * len(self._clients)

    def _pinned_transport(self, backend: PinnedBackend, verify: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
        limits = httpx.Limits(max_connections=self._per_client, max_keepalive_connections=self._per_client)
        return _PinnedTransport(backend, verify or _ssl_context(), limits)

    def _client(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
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
        reader = BodyReader(self._polling.max_body)
        try:
            async with asyncio.timeout(budget):
                if self._precheck:
                    await check_url(url, allow_private=self._polling.allow_private_networks, resolver=self._resolver)
                index = self._pick_client(host, slot)
                self._busy[index] += 1
                try:
                    answer = await self._request(self._clients[index], url, headers, reader)
                finally:
                    self._busy[index] -= 1
            answer.elapsed = time.monotonic() - started
            return answer
        except (TimeoutError, httpx.TimeoutException):
            raise FetchError(_timeout_message(timeout, reader)) from None
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

    async def _request(
        self, client: httpx.AsyncClient, url: str, headers: dict[bytes, bytes], reader: BodyReader
    ) -> _Answer:
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        try:
            return await self._read(response, reader)
        finally:
            await response.aclose()

    async def _read(self, response: httpx.Response, reader: BodyReader) -> _Answer:
        url, status = str(response.url), response.status_code
        if status in _REDIRECTS:
            location = _location(response)
            await finish_exchange(response)
            return _Answer(url, status, response.headers, location=location)
        if status == 304:
            await finish_exchange(response)
            return _Answer(url, status, response.headers)
        if not 200 <= status < 300:
            raise _status_error(response)
        reader.start(response.headers.get("Content-Encoding", ""))
        return _Answer(url, status, response.headers, body=await read_capped(response, reader))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building one costs ~20 ms (loading the CA bundle); all clients can share it.
    return httpx.create_ssl_context()


def _timeout_message(timeout: float, reader: BodyReader) -> str:
    if not reader.started:
        return f"timeout after {timeout:g}s"
    # The answer began but dripped: name it, so the source's health tells a slow outlet from a dead one.
    return f"too slow: {human_size(reader.received)} of the body in the {timeout:g}s budget"


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
