"""The asyncio HTTP front of the fake: routing, auth, file downloads and getUpdates long polling.

It runs in its own event loop (a background thread) so sync tests and bots in other processes
can share it. One loop and no per-request threads keeps it cheap on 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from tests.fakes.telegram._http import (
    HttpProtocolError,
    HttpRequest,
    encode_response,
    json_response,
    parse_params,
    read_request,
)
from tests.fakes.telegram._methods import CANONICAL
from tests.fakes.telegram._objects import ApiError
from tests.fakes.telegram._world import Response, World

_UNAUTHORIZED = ApiError(401, "Unauthorized")
_NOT_FOUND = ApiError(404, "Not Found")
_NO_METHOD = ApiError(404, "Not Found: method not found")
_CONFLICT_OTHER_POLL = ApiError(
    409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_CONFLICT_WEBHOOK = ApiError(
    409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_WAKE, _TERMINATED, _GONE = "wake", "terminated", "gone"
_BAD_GATEWAY = ApiError(502, "Bad Gateway")
_NO_UPDATES: dict[str, Any] = {"ok": True, "result": []}


class ApiServer:
    """Serves one World on 127.0.0.1; every coroutine runs on the server's own loop."""

    def __init__(self, world: World, host: str, port: int) -> None:
        self.world = world
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._pollers: set[asyncio.Future[str]] = set()
        self._connections: set[asyncio.Task[None]] = set()
        self._outage_over: asyncio.Event | None = None  # set when no outage holds calls

    async def start(self) -> int:
        """Listen and return the bound port."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        """Stop listening and end every open connection, long polls included."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def set_outage(self, mode: str | None) -> None:
        """Open (mode "502" or "hang") or close (None) the outage window (call on the loop)."""
        with self.world.lock:
            self.world.outage = mode
        if self._outage_over is None:
            self._outage_over = asyncio.Event()
        if mode == "hang":
            self._outage_over.clear()
        else:
            self._outage_over.set()  # hung calls are released (and dropped)
        self.wake_pollers()  # a long poll waiting now answers as the outage says

    async def _during_outage(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Response | None:
        """What a call gets while the window is open; None (drop) for "hang", after the window closes."""
        with self.world.lock:
            mode = self.world.outage
            if mode is None:
                return self.world.call(method, params, files) if method != "getUpdates" else (200, _NO_UPDATES)
            if method != "getUpdates":  # counted, so tests can wait for a number of attempts
                self.world.record(method, params, files, error=_BAD_GATEWAY, dropped=mode == "hang")
        if mode == "hang" and self._outage_over is not None:
            await self._outage_over.wait()
            return None
        return _BAD_GATEWAY.error_code, _BAD_GATEWAY.payload()

    def wake_pollers(self) -> None:
        """A new update arrived: answer the waiting long polls (call on the loop)."""
        for waiter in list(self._pollers):
            if not waiter.done():
                waiter.set_result(_WAKE)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        dropped = True
        try:
            dropped = await self._serve_requests(reader, writer)
        except (HttpProtocolError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels us; finishing normally keeps asyncio's stream callback from
            # logging "Exception in callback" for a cancelled connection task.
            pass
        finally:
            self._connections.discard(task)
            if dropped:
                writer.transport.abort()
            else:
                writer.close()  # flushes what is buffered first

    async def _serve_requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer requests until the client is done; True when the connection must be dropped."""
        while (request := await read_request(reader)) is not None:
            response = await self._respond(request, reader)
            if response is None:
                return True  # injected fault, or the client left during a long poll
            writer.write(response)
            await writer.drain()
            if not request.keep_alive:
                return False
        return False

    async def _respond(self, request: HttpRequest, reader: asyncio.StreamReader) -> bytes | None:
        keep = request.keep_alive
        if request.path.startswith("/file/bot"):
            return self._download(request.path.removeprefix("/file/bot"), keep)
        if not request.path.startswith("/bot"):
            return json_response(404, _NOT_FOUND.payload(), keep)
        token, _, method_name = request.path.removeprefix("/bot").partition("/")
        if token != self.world.token:
            return json_response(401, _UNAUTHORIZED.payload(), keep)
        method = CANONICAL.get(method_name.lower())
        try:
            params, files = parse_params(request)
        except ValueError:
            return json_response(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse request body"}, keep
            )
        if method is None:
            with self.world.lock:
                self.world.record(method_name, params, files, error=_NO_METHOD)
            return json_response(404, _NO_METHOD.payload(), keep)
        if self.world.outage is not None:
            answer = await self._during_outage(method, params, files)
        elif method == "getUpdates":
            answer = await self._get_updates(params, reader)
        else:
            answer = self.world.call(method, params, files)
            if self.world.answer_delay > 0:
                await asyncio.sleep(self.world.answer_delay)
        return None if answer is None else json_response(answer[0], answer[1], keep)

    def _download(self, rest: str, keep: bool) -> bytes:
        token, _, file_path = rest.partition("/")
        if token != self.world.token:
            return json_response(401, _UNAUTHORIZED.payload(), keep)
        with self.world.lock:
            stored = self.world.files_by_path.get(file_path)
        if stored is None:
            return json_response(404, _NOT_FOUND.payload(), keep)
        return encode_response(200, stored.data, stored.mime_type or "application/octet-stream", keep)

    async def _get_updates(self, params: dict[str, Any], reader: asyncio.StreamReader) -> Response | None:
        """Long polling: answer at once when updates are pending, else when one arrives or at timeout."""
        world = self.world
        with world.lock:
            world.polls_total += 1
            fault = world.take_fault("getUpdates")
            if fault is not None:
                return None if fault.error is None else (fault.error.error_code, fault.error.payload())
            if world.webhook.get("url"):
                return _CONFLICT_WEBHOOK.error_code, _CONFLICT_WEBHOOK.payload()
        # Telegram answers an older poll with 409 when a newer one arrives (two bot instances).
        for older in list(self._pollers):
            if not older.done():
                older.set_result(_TERMINATED)
        try:
            offset, limit, timeout = _poll_args(params)
        except (TypeError, ValueError):
            error = ApiError(400, "Bad Request: wrong parameter in request")
            return error.error_code, error.payload()
        deadline = time.monotonic() + timeout
        allowed = params.get("allowed_updates")
        while True:
            with world.lock:
                batch = world.updates.take(
                    offset, limit, allowed if isinstance(allowed, list) else None, time.monotonic()
                )
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                return 200, {"ok": True, "result": batch}
            outcome = await self._wait_for_update(remaining, reader)
            if self.world.outage is not None:
                return await self._during_outage("getUpdates", params, {})
            if outcome == _TERMINATED:
                return _CONFLICT_OTHER_POLL.error_code, _CONFLICT_OTHER_POLL.payload()
            if outcome == _GONE:
                return None

    async def _wait_for_update(self, remaining: float, reader: asyncio.StreamReader) -> str | None:
        """Wait for an update, a newer poll, the client leaving, or the timeout (None)."""
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # A client that gave up (e.g. PTB's updater stopping) closes the socket; noticing it
        # keeps `polls_waiting` true and spares it a 409 meant for a live second instance.
        gone = asyncio.ensure_future(reader.read(1))
        self._pollers.add(waiter)
        with self.world.lock:
            self.world.polls_waiting += 1
            self.world.changed.notify_all()
        try:
            await asyncio.wait([waiter, gone], timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            # Settle the read before the connection reads its next request from the same stream.
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await gone
            self._pollers.discard(waiter)
            with self.world.lock:
                self.world.polls_waiting -= 1
                self.world.changed.notify_all()
        left = not gone.cancelled()
        if waiter.done():
            return waiter.result()
        return _GONE if left else None


def _poll_args(params: dict[str, Any]) -> tuple[int | None, int, float]:
    offset = params.get("offset")
    limit = int(params.get("limit") or 100)
    timeout = float(params.get("timeout") or 0)
    return (None if offset in (None, "") else int(offset)), max(1, min(limit, 100)), max(0.0, timeout)
