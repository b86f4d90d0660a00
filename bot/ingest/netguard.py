"""Refuse to contact private, loopback and other non-public addresses.

A feed URL comes from an administrator or a /addsource command; without this
guard the bot could be pointed at the office router, a cloud metadata service
(169.254.169.254) or a database on localhost. The check runs on the addresses
the name RESOLVES to, because a public-looking name can point anywhere.

Checking is not enough on its own: httpx would resolve the name a second time to
connect, and a name that answers a public address first and 127.0.0.1 next (DNS
rebinding) reached the loopback server. `PinnedBackend` is the connection layer of the
fetcher: it resolves once, checks every address and connects to a checked one, so no
second lookup happens. TLS SNI and the Host header keep the name (httpcore takes them
from the URL, not from the address connected to).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import itertools
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import httpcore

from bot.errors import BlockedAddress, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
Stream = httpcore.AsyncNetworkStream
_ATTEMPT_DELAY = 0.25  # RFC 8305's recommended Connection Attempt Delay


def split_http_url(url: str) -> tuple[str, str, int]:
    """Return (scheme, host, port) of an http(s) URL or raise FetchError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchError(f"bad URL: {url[:200]}") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {parts.scheme or '(none)'!r}: only http and https")
    if not parts.hostname:
        raise FetchError(f"bad URL (no host): {url[:200]}")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def is_blocked_ip(ip: IPAddress) -> bool:
    """True for any address that is not plainly public unicast."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 reaches 10.0.0.1 on dual-stack sockets: judge the IPv4 inside.
        if ip.ipv4_mapped:
            return is_blocked_ip(ip.ipv4_mapped)
        tunnelled = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if tunnelled is not None and is_blocked_ip(tunnelled):
            return True
        # fec0::/10 is deprecated (RFC 3879) yet still routed on some intranets, and
        # Python counts it neither private nor non-global: the IPv6 twin of 10/8.
        if ip.is_site_local:
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # also covers 100.64/10 (carrier NAT) and documentation ranges
    )


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Resolve `host` with the event loop's getaddrinfo; FetchError when it cannot."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]  # a literal: no lookup (a thread-pool round trip) needed
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise FetchError(f"cannot resolve host {host}") from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        # Strip an IPv6 zone id ("fe80::1%eth0") before parsing.
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchError(f"cannot resolve host {host}")
    return addresses


def refuse_blocked(host: str, addresses: Iterable[IPAddress]) -> None:
    """Raise BlockedAddress naming the first non-public address of `host`, if any."""
    for ip in addresses:
        if is_blocked_ip(ip):
            raise BlockedAddress(
                f"refusing private address {ip} for host {host} (set polling.allow_private_networks: true to allow)"
            )


async def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = resolve) -> None:
    """Validate scheme and host of `url`; unless `allow_private`, refuse non-public resolved IPs."""
    _scheme, host, port = split_http_url(url)
    if not allow_private:
        refuse_blocked(host, await resolver(host, port))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's connection layer with the address guard inside: one lookup, checked, then used."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first reachable address of `host`, every one of them checked first."""
        addresses = await self._resolver(host, port)
        if not self._allow_private:
            refuse_blocked(host, addresses)
        # Literal addresses: the inner backend has nothing left to resolve.
        attempts = [
            functools.partial(self._inner.connect_tcp, str(ip), port, timeout, local_address, socket_options)
            for ip in _interleaved(addresses)
        ]
        return await _first_to_connect(attempts)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never used: feeds are fetched over TCP only."""
        raise FetchError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the inner backend."""
        await self._inner.sleep(seconds)


def _interleaved(addresses: list[IPAddress]) -> list[IPAddress]:
    """IPv6 and IPv4 alternating, each family in resolver order (RFC 8305 §4)."""
    first = [ip for ip in addresses if ip.version == addresses[0].version]
    second = [ip for ip in addresses if ip.version != addresses[0].version]
    mixed: list[IPAddress] = []
    for pair in itertools.zip_longest(first, second):
        mixed.extend(ip for ip in pair if ip is not None)
    return mixed


async def _first_to_connect(attempts: Sequence[Callable[[], Awaitable[Stream]]]) -> Stream:
    """Happy eyeballs over checked addresses: the next attempt starts as soon as the previous one
    failed, or `_ATTEMPT_DELAY` after it began; the first connection wins, the others are dropped.

    One address at a time, a black-holed IPv6 address (no answer, no refusal) would spend the
    whole fetch budget before the IPv4 one was tried.
    """
    queue = list(attempts)
    pending: set[asyncio.Task[Stream]] = set()
    failure: BaseException = FetchError("no address to connect to")
    try:
        while queue or pending:
            if queue:
                pending.add(asyncio.ensure_future(queue.pop(0)()))
            delay = _ATTEMPT_DELAY if queue else None
            done, pending = await asyncio.wait(pending, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            winners = [task for task in done if task.exception() is None]
            for task in winners[1:]:
                await task.result().aclose()
            if winners:
                return winners[0].result()
            failure = next((error for task in done if (error := task.exception())), failure)
        raise failure
    finally:
        for task in pending:
            task.cancel()
        await _close_late_winners(pending)


async def _close_late_winners(tasks: set[asyncio.Task[Stream]]) -> None:
    """Wait for cancelled attempts; close any that connected before the cancellation reached it."""
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if not isinstance(outcome, BaseException):
            await outcome.aclose()


async def check_public_url(url: str) -> None:
    """Raise BlockedAddress (or FetchError for a bad URL) unless `url` is http(s) on a public address."""
    await check_url(url, allow_private=False)
