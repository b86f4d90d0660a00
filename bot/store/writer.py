"""The single database writer: every write runs on one dedicated thread and connection.

SQLite allows one writer at a time; keeping writes on their own thread keeps the event
loop (and so the bot) responsive while a large batch is indexed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Writer:
    """Runs every write on one dedicated thread and connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: func(self.conn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
