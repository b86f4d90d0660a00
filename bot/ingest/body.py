"""Reading a response body under a size cap, whatever its compression.

A strict cap needs the raw bytes: `httpx.get()` inflated a 1 MB gzip bomb into 1 GiB
(2.1 GB RSS) and even `iter_bytes()` with a running check produced a 64 MiB chunk before
the check ran. So the body is read with `aiter_raw()` and inflated here in bounded steps.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncGenerator

import httpx

from bot.errors import BodyTooLarge, FetchError

# Inflating in steps bounds memory per step whatever the compression ratio.
_INFLATE_STEP = 64 * 1024
_SMALL_BODY = 16 * 1024  # what is read of a body we do not use (a redirect's page) to keep its connection


class BodyReader:
    """Accumulates a raw (possibly compressed) body, refusing it once it decodes past the cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.started = False  # the headers came and said how to read the body
        self.received = 0  # raw bytes from the network, for "too slow" messages
        self._mode: str | None = None
        self._size = 0
        self._parts: list[bytes] = []
        self._head = b""
        self._z: zlib._Decompress | None = None

    def start(self, content_encoding: str) -> None:
        """Set how the body is encoded (the Content-Encoding header), before the first chunk."""
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._mode = {"": None, "identity": None, "x-gzip": "gzip"}.get(encoding, encoding)
        self.started = True

    def feed(self, data: bytes) -> None:
        """Take the next raw chunk from the network."""
        self.received += len(data)
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
        if self._size > self.cap:
            raise BodyTooLarge(f"body larger than {human_size(self.cap)}")
        if data:
            self._parts.append(data)


async def read_capped(response: httpx.Response, reader: BodyReader) -> bytes:
    """The whole decoded body of `response`, fed through `reader` (which enforces the cap)."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > reader.cap:
        raise BodyTooLarge(f"body larger than {human_size(reader.cap)} (Content-Length {length})")
    async with contextlib.aclosing(raw_chunks(response)) as chunks:
        async for chunk in chunks:
            reader.feed(chunk)
    return reader.finish()


async def raw_chunks(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body's bytes as they came over the wire (still compressed)."""
    if not response.is_stream_consumed:
        async for chunk in response.aiter_raw():
            yield chunk
    elif isinstance(response.stream, httpx.AsyncByteStream):
        # A transport that built its Response from `content=` (httpx.MockTransport)
        # has pre-read it; its stream still yields the raw, undecoded bytes.
        async for chunk in response.stream:
            yield chunk


async def finish_exchange(response: httpx.Response) -> None:
    """Read the rest of a body we do not use, so its connection serves the next request.

    Closed before its end, a response takes its connection along: every 304 of a poll opened
    a new one (TCP, and for https TLS, handshakes). A long redirect page is not worth it.
    """
    size = 0
    async with contextlib.aclosing(raw_chunks(response)) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > _SMALL_BODY:
                return


def human_size(size: int) -> str:
    """`2 MB`, `512 KB`, `12 bytes`."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"
