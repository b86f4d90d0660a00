"""Worker processes for CPU-bound jobs, each job under a time budget, killable at any moment.

`concurrent.futures.ProcessPoolExecutor` cannot stop a running task: one feed that takes
minutes to parse held a worker (and shutdown) for minutes. Here each worker is one process
with one pipe; a job that overruns its budget, or whose caller is cancelled, gets its worker
killed and a fresh one started in its place, while the other workers carry on.

    JobTimeout    the job ran longer than its budget (its worker was killed)
    WorkerDied    the worker vanished mid-job (killed from outside, out of memory)

Workers never outlive the parent: on Linux the kernel kills them when it dies
(PR_SET_PDEATHSIG); elsewhere a watchdog thread notices the change of parent. An idle
worker also exits when its pipe to the parent closes.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

_READY = "ready"
_STARTUP_BUDGET_S = 60.0  # a fresh interpreter importing feedparser on a busy machine
_PR_SET_PDEATHSIG = 1


class JobTimeout(Exception):
    """The job ran longer than its budget; its worker was killed."""


class WorkerDied(Exception):
    """The worker process ended before answering."""


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    else:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def _serve(conn: Connection, parent_pid: int, func: Callable[..., Any]) -> None:
    """Worker main loop: one job in, one (ok, value or exception) out, until the pipe closes."""
    _die_with_parent(parent_pid)
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(_READY)
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, func(*args))
        except Exception as exc:  # handed to the caller, who decides what it means
            reply = (False, exc)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return
        except Exception as exc:  # an exception that does not pickle: send its name
            conn.send((False, RuntimeError(type(exc).__name__)))


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, func: Callable[..., Any]) -> None:
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child_conn, os.getpid(), func), daemon=True)
        self.process.start()
        child_conn.close()  # so the parent sees EOF when the worker dies
        self.ready = False

    async def call(self, args: tuple[Any, ...], budget: float) -> Any:
        if not self.ready:
            if await self._recv(_STARTUP_BUDGET_S) != _READY:
                raise WorkerDied("worker did not start")
            self.ready = True
        try:
            self.conn.send(args)
        except OSError as exc:
            raise WorkerDied("worker gone") from exc
        ok, value = await self._recv(budget)
        if not ok:
            raise value
        return value

    async def _recv(self, budget: float) -> Any:
        loop = asyncio.get_running_loop()
        readable = loop.create_future()
        fd = self.conn.fileno()
        loop.add_reader(fd, lambda: readable.done() or readable.set_result(None))
        try:
            await asyncio.wait_for(readable, budget)
        except TimeoutError:
            raise JobTimeout(f"took longer than {budget:g}s") from None
        finally:
            loop.remove_reader(fd)
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerDied("worker ended mid-job") from exc

    def kill(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class WorkerPool:
    """`size` worker processes running `func` (a module-level function), started on demand."""

    def __init__(self, func: Callable[..., Any], size: int) -> None:
        self._func = func
        # spawn, not fork: the parent runs threads and an event loop whose locks a fork would
        # copy; not forkserver: its workers are the server's children, out of reach of PDEATHSIG.
        self._context = multiprocessing.get_context("spawn")
        self._slots: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(None)
        self._live: set[_Worker] = set()

    async def run(self, *args: Any, budget: float) -> Any:
        """`func(*args)` in a worker; JobTimeout after `budget` seconds, WorkerDied if it crashed."""
        worker = await self._slots.get()
        try:
            if worker is None:
                worker = _Worker(self._context, self._func)
                self._live.add(worker)
            return await worker.call(args, budget)
        except (JobTimeout, WorkerDied, asyncio.CancelledError):
            # Mid-job there is no way to take the job back: replace the worker.
            if worker is not None:
                self._discard(worker)
            worker = None
            raise
        finally:
            self._slots.put_nowait(worker)

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.process.pid for w in self._live if w.process.pid is not None]

    def close(self) -> None:
        """Kill every worker, busy or idle (idempotent)."""
        for worker in list(self._live):
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        self._live.discard(worker)
        worker.kill()
