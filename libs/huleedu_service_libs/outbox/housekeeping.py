"""Periodic deletion of old published outbox rows and inbox rows (``data-model.md`` §10)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from huleedu_service_libs.outbox.ports import OutboxStore
from huleedu_service_libs.outbox.waiting import wait_any

logger = structlog.get_logger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class HousekeepingResult:
    published_deleted: int
    processed_events_deleted: int


class Housekeeper:
    """Runs at start and then every ``interval_seconds``; ``pending`` and ``failed`` outbox rows
    are never deleted."""

    def __init__(
        self,
        store: OutboxStore,
        clock: Clock,
        *,
        outbox_retention_hours: float,
        inbox_retention_hours: float,
        interval_seconds: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._outbox_retention = timedelta(hours=outbox_retention_hours)
        self._inbox_retention = timedelta(hours=inbox_retention_hours)
        self._interval = interval_seconds

    async def run_once(self) -> HousekeepingResult:
        now = self._clock.now()
        result = HousekeepingResult(
            published_deleted=await self._store.delete_published_before(
                now - self._outbox_retention
            ),
            processed_events_deleted=await self._store.delete_processed_events_before(
                now - self._inbox_retention
            ),
        )
        logger.info(
            "housekeeping_done",
            published_deleted=result.published_deleted,
            processed_events_deleted=result.processed_events_deleted,
        )
        return result

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                # The next round retries; old rows only cost space meanwhile.
                logger.exception("housekeeping_failed")
            await wait_any(stop, seconds=self._interval)
