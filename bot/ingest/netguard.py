"""Refuse to contact private, loopback and other non-public addresses.

A feed URL comes from an administrator or a /addsource command; without this
guard the bot could be pointed at the office router, a cloud metadata service
(169.254.169.254) or a database on localhost. The check runs on the addresses
the name RESOLVES to, because a public-looking name can point anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from bot.errors import BlockedAddress, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


async def check_url(url: str, *, allow_private: bool = False) -> None:
    """Validate scheme and host of `url`; unless `allow_private`, refuse non-public resolved IPs."""
    _scheme, host, port = split_http_url(url)
    if allow_private:
        return
    for ip in await resolve(host, port):
        if is_blocked_ip(ip):
            raise BlockedAddress(
                f"refusing private address {ip} for host {host} (set polling.allow_private_networks: true to allow)"
            )


async def check_public_url(url: str) -> None:
    """Raise BlockedAddress (or FetchError for a bad URL) unless `url` is http(s) on a public address."""
    await check_url(url, allow_private=False)
