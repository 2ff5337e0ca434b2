"""Publisher wrappers that misbehave on cue: fail some rows, stall, or wait at a gate."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence

from huleedu_service_libs.outbox.ports import Publisher, PublishOutcome
from huleedu_service_libs.outbox.records import OutboxRecord


class Counting:
    """Delegates and counts acknowledged rows."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.published = 0

    @property
    def destination(self) -> str:
        return self.inner.destination

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes = await self.inner.publish_batch(records)
        self.published += sum(outcome is None for outcome in outcomes)
        return outcomes

    async def close(self) -> None:
        await self.inner.close()


class FailingFor(Counting):
    """Fails rows matching ``poisoned``; with ``times``, only for the first ``times`` tries."""

    def __init__(
        self, inner: Publisher, poisoned: Callable[[OutboxRecord], bool], times: int | None = None
    ) -> None:
        super().__init__(inner)
        self._poisoned = poisoned
        self._times = times
        self.failures = 0

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes: list[PublishOutcome] = [None] * len(records)
        healthy: list[int] = []
        for index, record in enumerate(records):
            if self._poisoned(record) and (self._times is None or self.failures < self._times):
                self.failures += 1
                outcomes[index] = RuntimeError(f"poisoned row {record.seq}")
            else:
                healthy.append(index)
        sent = await super().publish_batch([records[index] for index in healthy])
        for index, outcome in zip(healthy, sent, strict=True):
            outcomes[index] = outcome
        return outcomes


class StallAfter(Counting):
    """Publishes ``count`` rows, then hangs (a relay stuck mid-claim, about to be killed)."""

    def __init__(self, inner: Publisher, count: int) -> None:
        super().__init__(inner)
        self._count = count
        self.stalled = asyncio.Event()

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        allowed = max(self._count - self.published, 0)
        outcomes = await super().publish_batch(records[:allowed])
        if len(records) > allowed:
            self.stalled.set()
            await asyncio.Event().wait()
        return outcomes


class KillAfter(Counting):
    """SIGKILLs its own process right after the ``count``-th acknowledgement, before the claim
    could commit: the crash window in which the relay may publish a row twice."""

    def __init__(self, inner: Publisher, count: int) -> None:
        super().__init__(inner)
        self._count = count

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes = await super().publish_batch(records[: max(self._count - self.published, 0)])
        if self.published >= self._count:
            os.kill(os.getpid(), signal.SIGKILL)
        return outcomes + [RuntimeError("not sent")] * (len(records) - len(outcomes))


class Gate(Counting):
    """Publishes only while ``open`` is set."""

    def __init__(self, inner: Publisher) -> None:
        super().__init__(inner)
        self.open = asyncio.Event()
        self.open.set()

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        await self.open.wait()
        return await super().publish_batch(records)
