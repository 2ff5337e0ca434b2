"""Publisher wrappers that misbehave on cue: fail some rows, stall, or wait at a gate."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

from huleedu_service_libs.outbox.ports import Publisher
from huleedu_service_libs.outbox.records import OutboxRecord


class Counting:
    """Delegates and counts acknowledged publishes."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.published = 0

    @property
    def destination(self) -> str:
        return self.inner.destination

    async def publish(self, record: OutboxRecord) -> None:
        await self.inner.publish(record)
        self.published += 1

    async def close(self) -> None:
        await self.inner.close()


class FailingFor(Counting):
    """Raises for rows matching ``poisoned``; with ``times``, only for the first ``times`` tries."""

    def __init__(
        self, inner: Publisher, poisoned: Callable[[OutboxRecord], bool], times: int | None = None
    ) -> None:
        super().__init__(inner)
        self._poisoned = poisoned
        self._times = times
        self.failures = 0

    async def publish(self, record: OutboxRecord) -> None:
        if self._poisoned(record) and (self._times is None or self.failures < self._times):
            self.failures += 1
            raise RuntimeError(f"poisoned row {record.seq}")
        await super().publish(record)


class StallAfter(Counting):
    """Publishes ``count`` rows, then hangs (a relay stuck mid-claim, about to be killed)."""

    def __init__(self, inner: Publisher, count: int) -> None:
        super().__init__(inner)
        self._count = count
        self.stalled = asyncio.Event()

    async def publish(self, record: OutboxRecord) -> None:
        if self.published >= self._count:
            self.stalled.set()
            await asyncio.Event().wait()
        await super().publish(record)


class KillAfter(Counting):
    """SIGKILLs its own process right after the ``count``-th acknowledgement, before the claim
    could commit: the crash window in which the relay may publish a row twice."""

    def __init__(self, inner: Publisher, count: int) -> None:
        super().__init__(inner)
        self._count = count

    async def publish(self, record: OutboxRecord) -> None:
        await super().publish(record)
        if self.published >= self._count:
            os.kill(os.getpid(), signal.SIGKILL)


class Gate(Counting):
    """Publishes only while ``open`` is set."""

    def __init__(self, inner: Publisher) -> None:
        super().__init__(inner)
        self.open = asyncio.Event()
        self.open.set()

    async def publish(self, record: OutboxRecord) -> None:
        await self.open.wait()
        await super().publish(record)
