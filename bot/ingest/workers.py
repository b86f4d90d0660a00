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
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

_READY = "ready"
_STARTUP_BUDGET_S = 60.0  # a fresh interpreter importing feedparser on a busy machine
_PR_SET_PDEATHSIG = 1
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def _serve(conn: Connection, parent_pid: int, func: Callable[..., Any], setup: Callable[[], None] | None) -> None:
    """Worker main loop: one job in, one (ok, value or exception) out, until the pipe closes."""
    _die_with_parent(parent_pid)
    if setup is not None:
        setup()
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
    """One worker process and the parent's end of its socket."""

    def __init__(self, func: Callable[..., Any], setup: Callable[[], None] | None) -> None:
        parent_sock, child_sock = socket.socketpair()
        names = [_name_of(func), _name_of(setup) if setup else ""]
        # A plain interpreter, not multiprocessing's spawn: that one re-imports the parent's
        # __main__ (the whole CLI and Telegram stack) in every worker.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([_PACKAGE_ROOT, os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(child_sock.fileno()), str(os.getpid()), *names],
            pass_fds=(child_sock.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        child_sock.close()  # so the parent sees EOF when the worker dies
        self.conn = Connection(parent_sock.detach())
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
        loop.add_reader(fd, _resolve, readable)
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
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


class WorkerPool:
    """`size` worker processes running `func` (a module-level function), started on demand.

    `setup` (module-level too) runs once in each worker before its first job.
    """

    def __init__(self, func: Callable[..., Any], size: int, *, setup: Callable[[], None] | None = None) -> None:
        self._func = func
        self._setup = setup
        self._slots: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(size):
            self._slots.put_nowait(None)
        self._live: set[_Worker] = set()

    async def run(self, *args: Any, budget: float) -> Any:
        """`func(*args)` in a worker; JobTimeout after `budget` seconds, WorkerDied if it crashed."""
        worker = await self._slots.get()
        try:
            if worker is None:
                worker = _Worker(self._func, self._setup)
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
        return [w.process.pid for w in self._live]

    def close(self) -> None:
        """Kill every worker, busy or idle (idempotent)."""
        for worker in list(self._live):
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        self._live.discard(worker)
        worker.kill()


def _name_of(func: Callable[..., Any]) -> str:
    return f"{func.__module__}:{func.__qualname__}"


def _load(name: str) -> Any:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _main(argv: list[str]) -> None:
    """Worker entry point: `python -m bot.ingest.workers FD PARENT_PID module:func [module:setup]`."""
    fd, parent_pid, func, setup = int(argv[0]), int(argv[1]), argv[2], argv[3]
    _serve(Connection(fd), parent_pid, _load(func), _load(setup) if setup else None)


if __name__ == "__main__":
    _main(sys.argv[1:])


def _resolve(future: asyncio.Future[None]) -> None:
    """The worker's answer is readable (the reader may fire again before it is removed)."""
    if not future.done():
        future.set_result(None)
