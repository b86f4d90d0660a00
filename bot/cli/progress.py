"""Progress for long work: a bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

log = logging.getLogger("mediabot.progress")


class ProgressReporter:
    """Call with (done, total, outcome); draws a bar on a TTY, logs every ~2 s otherwise."""

    def __init__(self, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self._last = 0.0

    def __call__(self, done: int, total: int, outcome: Any = None) -> None:
        now = time.monotonic()
        if self.tty:
            width = 30
            filled = int(width * done / max(total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} feeds")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
        elif done == total or now - self._last >= self.interval:
            self._last = now
            log.info("polled %d/%d feeds", done, total)
