"""InMemoryOutboxStore: the relay's claim rules and bookkeeping on the USE_MOCK_REPOSITORY store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.associations import INBOX
from class_management_service.implementations.memory.outbox_store import InMemoryOutboxStore
from class_management_service.implementations.memory.store import InMemoryStore, OutboxRow
from class_management_service.protocols import ProcessedEvent
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.outbox.message import Destination, OutboxMessage


def message(key: str, destination: Destination = "kafka", n: int = 0) -> OutboxMessage:
    return OutboxMessage(
        destination=destination,
        aggregate_type="class",
        aggregate_id=key,
        event_type="huleedu.class.created.v1",
        topic="huleedu.class.created.v1",
        event_key=key,
        event_data={"event_id": f"{key}-{n}", "n": n},
    )


Writer = Callable[..., Awaitable[list[int]]]


@pytest.fixture
def outbox(store: InMemoryStore, clock: FixedClock) -> InMemoryOutboxStore:
    return InMemoryOutboxStore(store, clock)


def rows(store: InMemoryStore) -> list[OutboxRow]:
    return sorted(store.tables.outbox.values(), key=lambda row: row.seq)


@pytest.fixture
def write(uow: MockClassRepositoryImpl, store: InMemoryStore) -> Writer:
    """Rows through the service's own writer, as the use cases write them; their seqs."""

    async def write(*messages: OutboxMessage) -> list[int]:
        async with uow:
            await uow.events.publish(list(messages))
            await uow.commit()
        return [row.seq for row in rows(store)][-len(messages) :]

    return write


def update(store: InMemoryStore, seq: int, **changes: object) -> None:
    row = next(row for row in store.tables.outbox.values() if row.seq == seq)
    store.tables.outbox[row.id] = row.updated(**changes)


async def claimed(outbox: InMemoryOutboxStore, destination: str = "kafka") -> list[int]:
    async with outbox.claim(destination, 100) as claim:
        return [record.seq for record in claim.records]


async def test_claim_takes_each_due_keys_pending_rows_in_seq_order(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore, clock: FixedClock
) -> None:
    a1, b1, a2, c1, d1, e1, _redis = await write(
        message("a"),
        message("b"),
        message("a", n=1),
        message("c"),
        message("d"),
        message("e"),
        message("t", "redis"),
    )
    update(store, c1, next_attempt_at=clock.now() + timedelta(hours=1))
    update(store, d1, status="published", published_at=clock.now())

    assert await claimed(outbox) == [a1, b1, a2, e1]


async def test_claim_respects_the_limit_and_carries_the_row(
    outbox: InMemoryOutboxStore, write: Writer
) -> None:
    seqs = await write(*(message(f"k{n}") for n in range(5)))
    async with outbox.claim("kafka", 2) as claim:
        assert [record.seq for record in claim.records] == seqs[:2]
        first = claim.records[0]
    assert (first.event_key, first.topic, first.retry_count) == ("k0", message("k0").topic, 0)
    assert first.event_data == {"event_id": "k0-0", "n": 0}


async def test_a_second_claim_skips_claimed_rows_and_their_keys(
    outbox: InMemoryOutboxStore, write: Writer
) -> None:
    a1, b1, _a2, c1 = await write(message("a"), message("b"), message("a", n=1), message("c"))
    async with outbox.claim("kafka", 1) as first:
        assert [record.seq for record in first.records] == [a1]
        assert await claimed(outbox) == [b1, c1]


async def test_published_rows_are_recorded_when_the_claim_ends_normally(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore, clock: FixedClock
) -> None:
    await write(message("a"))
    async with outbox.claim("kafka", 10) as claim:
        await claim.mark_published(claim.records[0])
        assert rows(store)[0].status == "pending"

    [row] = rows(store)
    assert (row.status, row.published_at) == ("published", clock.now())


async def test_a_claim_left_by_an_exception_records_nothing_and_frees_its_rows(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore
) -> None:
    [seq] = await write(message("a"))

    async def crash() -> None:
        async with outbox.claim("kafka", 10) as claim:
            await claim.mark_published(claim.records[0])
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        await crash()
    assert rows(store)[0].status == "pending"
    assert await claimed(outbox) == [seq]


async def test_a_failure_counts_an_attempt_and_schedules_the_retry(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore, clock: FixedClock
) -> None:
    await write(message("a"), message("a", n=1))
    async with outbox.claim("kafka", 10) as claim:
        await claim.mark_failed(
            claim.records[0], error="e" * 1200, retry_delay_seconds=30, park=False
        )

    first, second = rows(store)
    assert (first.status, first.retry_count, first.failed_at) == ("pending", 1, None)
    assert first.last_error == "e" * 1000
    assert first.next_attempt_at == clock.now() + timedelta(seconds=30)
    async with outbox.claim("kafka", 10) as claim:
        assert (list(claim.records), claim.next_due_seconds) == ([], 30)
    clock.advance(timedelta(seconds=30))
    assert await claimed(outbox) == [first.seq, second.seq]


async def test_a_parked_row_is_failed_and_no_longer_blocks_its_key(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore, clock: FixedClock
) -> None:
    _, later = await write(message("a"), message("a", n=1))
    async with outbox.claim("kafka", 10) as claim:
        await claim.mark_failed(claim.records[0], error="boom", retry_delay_seconds=1, park=True)

    parked = rows(store)[0]
    assert (parked.status, parked.failed_at, parked.retry_count) == ("failed", clock.now(), 1)
    assert await claimed(outbox) == [later]


async def test_stats_requeue_and_an_empty_outbox(
    outbox: InMemoryOutboxStore, write: Writer, store: InMemoryStore, clock: FixedClock
) -> None:
    async with outbox.claim("kafka", 10) as claim:
        assert (list(claim.records), claim.next_due_seconds) == ([], None)
    a, b, _t = await write(message("a"), message("b"), message("t", "redis"))
    update(store, b, status="failed", failed_at=clock.now(), retry_count=20)
    clock.advance(timedelta(seconds=42))

    stats = await outbox.stats()
    assert stats.destinations["kafka"].pending == 1
    assert stats.destinations["kafka"].failed == 1
    assert stats.destinations["kafka"].oldest_pending_age_seconds == 42
    assert (stats.pending, stats.failed) == (2, 1)

    assert await outbox.requeue_failed("redis") == 0
    assert await outbox.requeue_failed() == 1
    requeued = rows(store)[1]
    assert (requeued.status, requeued.retry_count, requeued.failed_at) == ("pending", 0, None)
    assert requeued.next_attempt_at == clock.now()
    assert await claimed(outbox) == [a, b]


def inbox_row(processed_at: datetime) -> ProcessedEvent:
    return ProcessedEvent(uuid4(), "t", "t", 0, 0, None, processed_at)


async def test_housekeeping_deletes_only_old_published_and_processed_rows(
    outbox: InMemoryOutboxStore,
    write: Writer,
    uow: MockClassRepositoryImpl,
    store: InMemoryStore,
    clock: FixedClock,
) -> None:
    old, recent, pending = await write(message("a"), message("b"), message("c"))
    update(store, old, status="published", published_at=clock.now() - timedelta(days=8))
    update(store, recent, status="published", published_at=clock.now())
    old_event, new_event = inbox_row(clock.now() - timedelta(hours=721)), inbox_row(clock.now())
    async with uow:
        await uow.inbox.add(old_event)
        await uow.inbox.add(new_event)
        await uow.commit()

    assert await outbox.delete_published_before(clock.now() - timedelta(days=7)) == 1
    assert await outbox.delete_processed_events_before(clock.now() - timedelta(hours=720)) == 1
    assert [row.seq for row in rows(store)] == [recent, pending]
    assert list(store.tables.extra[INBOX]) == [new_event.event_id]


async def test_claims_do_not_hold_the_store_while_publishing(
    outbox: InMemoryOutboxStore, write: Writer
) -> None:
    await write(message("a"))
    async with outbox.claim("kafka", 10):
        # A use case can still commit while the relay is publishing.
        await asyncio.wait_for(write(message("b")), 1)
