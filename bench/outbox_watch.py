"""The outbox while a write case runs: pending rows over time, what is left, how fast it drains.

A write figure whose events arrive minutes later is not a write figure: each write case is
watched from a thread of its own (the HTTP cases block the event loop while wrk runs), sampling
the pending rows per destination, and after the load stops the watch times the drain.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import asyncpg  # type: ignore[import-untyped]

SAMPLE_INTERVAL_S = 0.25
_PENDING = """
SELECT count(*) FILTER (WHERE destination = 'kafka') AS kafka,
       count(*) FILTER (WHERE destination = 'redis') AS redis
FROM event_outbox WHERE status = 'pending'
"""


class OutboxWatch:
    """``with OutboxWatch(url) as watch: <load>``, then ``watch.drain()`` once the load ended."""

    def __init__(self, url: str, *, claim_rows: int) -> None:
        self._url = url
        self._claim_rows = claim_rows
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="outbox-watch", daemon=True)
        self._started = 0.0
        self.timeline: list[tuple[float, int, int]] = []

    def __enter__(self) -> OutboxWatch:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        asyncio.run(self._sample_until_stopped())

    async def _sample_until_stopped(self) -> None:
        connection = await asyncpg.connect(self._url)
        try:
            while not self._stop.is_set():
                row = await connection.fetchrow(_PENDING)
                self.timeline.append(
                    (round(time.perf_counter() - self._started, 2), row["kafka"], row["redis"])
                )
                self._stop.wait(SAMPLE_INTERVAL_S)
        finally:
            await connection.close()

    async def drain(self, *, timeout_s: float = 30.0, goal_s: float = 2.0) -> dict[str, Any]:
        """Time from the end of the load until nothing is pending (the issue: within 2 s, and at
        most two claims' worth left when the case ends)."""
        ended = time.perf_counter()
        connection = await asyncpg.connect(self._url)
        try:
            first = await connection.fetchrow(_PENDING)
            left = int(first["kafka"]) + int(first["redis"])
            drained_after: float | None = 0.0 if left == 0 else None
            while drained_after is None and time.perf_counter() - ended < timeout_s:
                await asyncio.sleep(0.02)
                row = await connection.fetchrow(_PENDING)
                if row["kafka"] + row["redis"] == 0:
                    drained_after = time.perf_counter() - ended
        finally:
            await connection.close()
        peak = max((kafka + redis for _, kafka, redis in self.timeline), default=0)
        return {
            "pending_at_end": left,
            "pending_at_end_by_destination": {"kafka": first["kafka"], "redis": first["redis"]},
            "peak_pending": peak,
            "drain_s": None if drained_after is None else round(drained_after, 3),
            "two_claims_rows": 2 * self._claim_rows,
            "met": drained_after is not None
            and drained_after <= goal_s
            and left <= 2 * self._claim_rows,
            "timeline": self.timeline,
        }
