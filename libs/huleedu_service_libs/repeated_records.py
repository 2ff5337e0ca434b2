"""One line per cause and interval: a logging filter that folds repeated library records.

During an outage a client library logs the same warning each time it retries (aiokafka's
"Unable connect to node", "Unable to update metadata", a fetcher's "NodeNotReadyError"). The
first record of a kind passes; repeats within the window are counted and dropped; the first one
after the window passes again, carrying how many were folded since (``repeated``), so an hour's
outage costs a line per cause per window instead of filling a disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RepeatedRecordFilter(logging.Filter):
    """Folds records of the same logger, level and message template (arguments ignored)."""

    def __init__(
        self,
        window_seconds: float = 60.0,
        *,
        min_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._window = window_seconds
        self._min_level = min_level
        self._clock = clock
        self._lock = threading.Lock()
        # key -> (when the current window started, records folded in it)
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self._min_level:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            started, folded = self._seen.get(key, (None, 0))
            if started is not None and now - started < self._window:
                self._seen[key] = (started, folded + 1)
                return False
            self._seen[key] = (now, 0)
        if folded:
            record.repeated = f"{folded} similar records folded in the previous {self._window:g} s"
        return True
