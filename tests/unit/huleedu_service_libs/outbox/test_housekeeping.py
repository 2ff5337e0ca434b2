"""Housekeeper: retention cut-offs from the injected clock, and a loop that stops at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.outbox_store import InMemoryOutboxStore
from class_management_service.implementations.memory.store import InMemoryStore
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.outbox.housekeeping import Housekeeper
from huleedu_service_libs.outbox.message import OutboxMessage

TOPIC = "huleedu.class.created.v1"


async def test_published_rows_go_after_the_retention_period_and_others_stay() -> None:
    clock = FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    store = InMemoryStore()
    async with MockClassRepositoryImpl(store, clock) as uow:
        await uow.events.publish(
            [OutboxMessage("kafka", "class", k, TOPIC, TOPIC, k, {}) for k in ("a", "b", "c")]
        )
        await uow.commit()
    a, b, _c = sorted(store.tables.outbox.values(), key=lambda row: row.seq)
    store.tables.outbox[a.id] = a.updated(
        status="published", published_at=clock.now() - timedelta(hours=169)
    )
    store.tables.outbox[b.id] = b.updated(
        status="published", published_at=clock.now() - timedelta(hours=167)
    )
    housekeeper = Housekeeper(
        InMemoryOutboxStore(store, clock),
        clock,
        outbox_retention_hours=168,
        inbox_retention_hours=720,
        interval_seconds=3600,
    )

    result = await housekeeper.run_once()

    assert (result.published_deleted, result.processed_events_deleted) == (1, 0)
    assert a.id not in store.tables.outbox
    assert len(store.tables.outbox) == 2


async def test_the_loop_runs_at_once_and_stops_without_waiting_out_its_interval() -> None:
    clock = FixedClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    housekeeper = Housekeeper(
        InMemoryOutboxStore(InMemoryStore(), clock),
        clock,
        outbox_retention_hours=1,
        inbox_retention_hours=1,
        interval_seconds=3600,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(housekeeper.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 1)
