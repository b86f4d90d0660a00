"""A real, cheap HTTP/1.1 feed server on 127.0.0.1 for tests and benchmarks.

In-process:  `with FeedServer() as srv: srv.add("/a.rss", body); srv.url("/a.rss")`
Standalone:  `python -m tests.fakes.feed_server --port 0 --feeds 1000 --items 50 --latency 0.1`
             (prints the base URL as the first stdout line, serves until killed).

It runs on asyncio (one thread, keep-alive) so it costs little CPU next to the
client under benchmark. Built-in paths besides static routes (`add`):

    /gen/{n}.rss                synthetic Vietnamese RSS, stable ETag/Last-Modified
    /slow/{s}                   waits s seconds before the headers
    /trickle/{s}                sends the body in 10 pieces over s seconds
    /status/{code}[?retry_after=S | ?retry_after_date=S]
    /html                       an HTML page instead of a feed
    /big/{mb}, /big-chunked/{mb}  streamed body, with Content-Length / chunked
    /bomb                       ~1 MB of gzip inflating to 1 GiB
    /loop/{x}                   /loop/a ↔ /loop/b, forever
    /redirect/{codes}           e.g. /redirect/301-308 → /redirect/308 → /redirect/ (a feed)
    /entity-bomb                a feed with a ~100 KB internal DTD entity referenced 20,000 times
    /reset                      the connection is reset (RST) instead of answered
    /hostile/{kb}               ~kb KB of RSS whose items carry text cleanup's worst cases
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http
import socket
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from tests.fakes.feed_content import encode, entity_bomb_feed, gzip_bomb, hostile_feed, small_feed, synthetic_feed

RSS_TYPE = "application/rss+xml; charset=utf-8"
_VN = timezone(timedelta(hours=7))


class Request(NamedTuple):
    path: str
    headers: dict[str, str]  # lower-case names


@dataclass
class Route:
    body: bytes
    content_type: str = RSS_TYPE
    etag: str | None = None
    last_modified: str | None = None
    encoding: str | None = None  # gzip | deflate (zlib-wrapped) | deflate-raw
    delay: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stream: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None  # writes the body itself
    reset: bool = False


def _not_modified(headers: dict[str, str], etag: str | None, last_modified: str | None) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None and etag:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    ims = headers.get("if-modified-since")
    if ims and last_modified:
        with contextlib.suppress(TypeError, ValueError):
            return ims == last_modified or parsedate_to_datetime(ims) >= parsedate_to_datetime(last_modified)
    return False


# ---------------------------------------------------------------- the server


class FeedServer:
    """Asyncio HTTP/1.1 server for feeds; use as a context manager or via `python -m`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        feeds: int = 1000,
        items: int = 50,
        latency: float = 0.0,
        gen_gzip: bool = False,
        record: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.feeds, self.items, self.latency, self.gen_gzip = feeds, items, latency, gen_gzip
        self.record = record  # benchmarks turn the request log off
        self.epoch = 0  # bump to make every /gen feed gain a new item
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}  # per Host header (name without port)
        self.max_inflight_total = 0
        self.streamed: dict[str, int] = {}  # bytes written by a streamed body before it ended
        self.open_connections = 0
        self.connections_total = 0
        self._gen_cache: dict[tuple[int, int], tuple[bytes, str]] = {}
        self._cond = threading.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- public helpers
    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Full URL of `path` on this server."""
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        encoding: str | None = None,
        delay: float = 0.0,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `body` at `path` (replacing any earlier route); return its full URL."""
        self.routes[path] = Route(
            body,
            content_type,
            etag,
            last_modified,
            encoding or ("gzip" if gzip else None),
            delay,
            status,
            dict(headers or {}),
        )
        return self.url(path)

    def set_body(self, path: str, body: bytes, *, etag: str | None = None, last_modified: str | None = None) -> None:
        """Change a route's body (and validators, when given)."""
        route = self.routes[path]
        route.body = body
        route.etag = etag or route.etag
        route.last_modified = last_modified or route.last_modified

    def add_corpus(self, directory: str | Path) -> list[str]:
        """Serve every file of `directory` at /corpus/<filename>; return the paths."""
        paths = []
        for file in sorted(Path(directory).iterdir()):
            if file.is_file() and not file.name.endswith(".txt"):
                body = file.read_bytes()
                paths.append(f"/corpus/{file.name}")
                self.add(paths[-1], body, etag=f'"{hashlib.sha1(body).hexdigest()[:16]}"')
        return paths

    def hits(self, path: str) -> int:
        """How many requests asked for `path`."""
        return sum(1 for r in self.requests if r.path == path)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate()` is true (re-checked after every request); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # -- lifecycle
    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FeedServer:
        """Serve from a background thread; return once the port is bound."""
        self._thread = threading.Thread(target=self._run_thread, name="feed-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("feed server did not start")
        return self

    def stop(self) -> None:
        """Stop the loop, drop open connections and join the thread."""
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _run_thread(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(self.serve())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            loop.run_until_complete(asyncio.gather(*self._tasks, return_exceptions=True))
            loop.run_until_complete(server.wait_closed())
            loop.close()

    async def serve(self) -> asyncio.Server:
        """Start listening in the running loop (sets self.port)."""
        server = await asyncio.start_server(self._spawn, self.host, self.port, backlog=2048)
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- HTTP
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.connections_total += 1
        try:
            while await self._exchange(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        except Exception as err:  # surfaced to tests through srv.errors
            self.errors.append(repr(err))
        finally:
            self.open_connections -= 1
            writer.close()
            self._notify()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        _method, target, version = head[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        if headers.get("content-length", "0").isdigit():
            await reader.readexactly(int(headers.get("content-length", "0")))
        keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        path = urlsplit(target).path
        if self.record:
            self.requests.append(Request(path, headers))
        host = headers.get("host", "").rsplit(":", 1)[0]
        self.inflight[host] = self.inflight.get(host, 0) + 1
        self.max_inflight[host] = max(self.max_inflight.get(host, 0), self.inflight[host])
        self.max_inflight_total = max(self.max_inflight_total, sum(self.inflight.values()))
        self._notify()  # a request was seen: wait_for(hits(...)) must not wait for its (slow) answer
        done = False

        def finish() -> None:
            # Called before the last byte leaves, so a client that reuses the
            # connection can never be counted twice.
            nonlocal done
            if not done:
                done = True
                self.inflight[host] -= 1
                self._notify()

        try:
            reply = self._dispatch(target, headers)
            await asyncio.sleep(self.latency + reply.delay)
            if reply.reset:
                self._reset(writer)
                return False
            await self._write(writer, reply, keep, finish)
        finally:
            finish()
        return keep

    async def _write(self, writer: asyncio.StreamWriter, reply: Reply, keep: bool, finish: Callable[[], None]) -> None:
        try:
            reason = http.HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        headers = {"Server": "feed-server", "Date": formatdate(usegmt=True), **reply.headers}
        if reply.stream is None:
            headers["Content-Length"] = str(len(reply.body))
        if not keep:
            headers["Connection"] = "close"
        lines = [f"HTTP/1.1 {reply.status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if reply.stream is None:
            finish()
            writer.write(head + reply.body)
        else:
            writer.write(head)
            await reply.stream(writer)
            finish()
        await writer.drain()

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- routing
    def _dispatch(self, target: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path in self.routes:
            return self._static(self.routes[path], headers)
        name, _, arg = path.lstrip("/").partition("/")
        handler = getattr(self, f"_r_{name.replace('-', '_')}", None)
        if handler is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        return handler(arg, query, headers)

    def _static(self, route: Route, headers: dict[str, str]) -> Reply:
        out = dict(route.headers)
        out["Content-Type"] = route.content_type
        if route.etag:
            out["ETag"] = route.etag
        if route.last_modified:
            out["Last-Modified"] = route.last_modified
        if route.status == 200 and _not_modified(headers, route.etag, route.last_modified):
            return Reply(304, headers={k: v for k, v in out.items() if k != "Content-Type"}, delay=route.delay)
        body = route.body
        token = "deflate" if route.encoding == "deflate-raw" else route.encoding
        if token and token in headers.get("accept-encoding", ""):
            body = encode(body, route.encoding or "")
            out["Content-Encoding"] = token
        return Reply(route.status, body, out, route.delay)

    def _r_gen(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        number = arg.removesuffix(".rss")
        if not number.isdigit() or int(number) >= self.feeds:
            return Reply(404, b"no such feed")
        key = (int(number), self.epoch)
        if key not in self._gen_cache:
            body = synthetic_feed(key[0], self.items, self.epoch)
            self._gen_cache[key] = (body, f'"{hashlib.sha1(body).hexdigest()[:16]}"')
        body, etag = self._gen_cache[key]
        modified = formatdate(1_790_000_000 + 600 * self.epoch, usegmt=True)
        route = Route(body, etag=etag, last_modified=modified, encoding="gzip" if self.gen_gzip else None)
        return self._static(route, headers)

    def _r_slow(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(200, small_feed(), {"Content-Type": RSS_TYPE}, delay=float(arg or 1))

    def _r_trickle(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        body, pause = small_feed(), float(arg or 1) / 10

        async def stream(writer: asyncio.StreamWriter) -> None:
            step = len(body) // 10 + 1
            for start in range(0, len(body), step):
                if start:
                    await asyncio.sleep(pause)
                writer.write(body[start : start + step])
                await writer.drain()

        return Reply(200, headers={"Content-Type": RSS_TYPE, "Content-Length": str(len(body))}, stream=stream)

    def _r_status(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        out = {"Content-Type": "text/plain; charset=utf-8"}
        if "retry_after" in query:
            out["Retry-After"] = query["retry_after"]
        if "retry_after_date" in query:
            when = datetime.now(UTC) + timedelta(seconds=float(query["retry_after_date"]))
            out["Retry-After"] = format_datetime(when, usegmt=True)
        return Reply(int(arg), f"Lỗi {arg}".encode(), out)

    def _r_html(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        page = "<!DOCTYPE html><html><head><title>Trang chủ</title></head><body><h1>Tin tức Đà Nẵng</h1></body></html>"
        return Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _r_big(self, arg: str, query: dict[str, str], headers: dict[str, str], chunked: bool = False) -> Reply:
        size, path = int(float(arg or 50) * 1024**2), f"/big{'-chunked' if chunked else ''}/{arg}"
        chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"

        async def stream(writer: asyncio.StreamWriter) -> None:
            sent = 0
            try:
                while sent < size:
                    piece = chunk[: size - sent]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    sent += len(piece)
                    await writer.drain()
                if chunked:
                    writer.write(b"0\r\n\r\n")
            finally:
                self.streamed[path] = sent

        framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
        return Reply(200, headers={"Content-Type": RSS_TYPE, **framing}, stream=stream)

    def _r_big_chunked(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return self._r_big(arg, query, headers, chunked=True)

    def _r_bomb(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(200, gzip_bomb(), {"Content-Type": RSS_TYPE, "Content-Encoding": "gzip"})

    def _r_loop(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(302, b"", {"Location": f"/loop/{'b' if arg == 'a' else 'a'}"})

    def _r_redirect(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if not arg:
            return Reply(200, small_feed("Đích chuyển hướng"), {"Content-Type": RSS_TYPE})
        code, _, rest = arg.partition("-")
        return Reply(int(code), b"", {"Location": self.url(f"/redirect/{rest}")})

    def _r_entity_bomb(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(200, entity_bomb_feed(), {"Content-Type": RSS_TYPE})

    def _r_hostile(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(200, hostile_feed(int(arg or 800) * 1000), {"Content-Type": RSS_TYPE})

    def _r_reset(self, arg: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        return Reply(reset=True)


async def _serve_forever(server: FeedServer) -> None:
    await server.serve()
    print(server.base_url, flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground for benchmarks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    ap.add_argument("--gzip", action="store_true", help="gzip /gen feeds when the client accepts it")
    ap.add_argument("--corpus", help="also serve this directory at /corpus/<file>")
    args = ap.parse_args(argv)
    server = FeedServer(
        args.host,
        args.port,
        feeds=args.feeds,
        items=args.items,
        latency=args.latency,
        gen_gzip=args.gzip,
        record=False,
    )
    if args.corpus:
        server.add_corpus(args.corpus)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(server))
    sys.exit(0)


if __name__ == "__main__":
    main()
