"""OutboxRelay on the in-memory store with fake publishers: ordering, failures, waits, stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.outbox_store import InMemoryOutboxStore
from class_management_service.implementations.memory.store import InMemoryStore, OutboxRow
from huleedu_service_libs.clock import SystemClock
from huleedu_service_libs.outbox.message import OutboxMessage
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxClaim, PublishOutcome
from huleedu_service_libs.outbox.records import OutboxRecord, OutboxStats
from huleedu_service_libs.outbox.relay import OutboxRelay, Outcome, RelayConfig

SERVICE = "class_management_service"
TOPIC = "huleedu.class.created.v1"


class FakePublisher:
    destination = "kafka"

    def __init__(self, fails: Callable[[OutboxRecord], bool] = lambda _: False) -> None:
        self.fails = fails
        self.sent: list[str] = []
        self.attempts: list[float] = []
        self._attempted = asyncio.Event()

    async def attempted(self, count: int, within: float) -> None:
        """Return once ``count`` publishes were attempted."""
        async with asyncio.timeout(within):
            while len(self.attempts) < count:
                self._attempted.clear()
                await self._attempted.wait()

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes: list[PublishOutcome] = []
        for record in records:
            self.attempts.append(time.monotonic())
            self._attempted.set()
            if self.fails(record):
                outcomes.append(ConnectionError(f"cannot send {record.event_data['name']}"))
            else:
                self.sent.append(record.event_data["name"])
                outcomes.append(None)
        return outcomes

    async def close(self) -> None:
        pass


class Wakeups:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()


class BrokenStore:
    """Every claim fails, as when the database is unreachable."""

    def __init__(self) -> None:
        self.claims: list[float] = []

    def claim(self, destination: str, limit: int) -> AbstractAsyncContextManager[OutboxClaim]:
        self.claims.append(time.monotonic())
        raise OSError("database unreachable")

    async def stats(self) -> OutboxStats:
        raise OSError("database unreachable")

    async def requeue_failed(self, destination: str | None = None) -> int:
        raise OSError("database unreachable")

    async def delete_published_before(self, cutoff: datetime) -> int:
        raise OSError("database unreachable")

    async def delete_processed_events_before(self, cutoff: datetime) -> int:
        raise OSError("database unreachable")


def status(relay: OutboxRelay) -> str:
    # A plain str, so the type checker does not pin the property to its first asserted value.
    return relay.status


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def no_jitter(_low: float, _high: float) -> float:
    return 1.0


def relay_on(
    store: InMemoryStore,
    publisher: FakePublisher,
    registry: CollectorRegistry | None = None,
    **config: float,
) -> OutboxRelay:
    settings: dict[str, float] = {
        "poll_interval_seconds": 30.0,
        "backoff_initial_seconds": 0.05,
        "backoff_max_seconds": 1.0,
    }
    return OutboxRelay(
        store=InMemoryOutboxStore(store, SystemClock()),
        publisher=publisher,
        config=RelayConfig(**(settings | config)),  # type: ignore[arg-type]
        metrics=OutboxMetrics(registry or CollectorRegistry(), SERVICE),
        jitter=no_jitter,
    )


async def write(store: InMemoryStore, *names: str) -> None:
    """Rows named ``<key><n>``, e.g. ``a1``; the key is the first letter."""
    async with MockClassRepositoryImpl(store, SystemClock()) as uow:
        await uow.events.publish(
            [
                OutboxMessage("kafka", "class", name[0], TOPIC, TOPIC, name[0], {"name": name})
                for name in names
            ]
        )
        await uow.commit()


def row(store: InMemoryStore, name: str) -> OutboxRow:
    return next(r for r in store.tables.outbox.values() if r.event_data["name"] == name)


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def published(registry: CollectorRegistry) -> float | None:
    labels = {"service": SERVICE, "destination": "kafka", "event_type": TOPIC}
    return registry.get_sample_value("outbox_events_published_total", labels)


async def test_one_claim_takes_each_keys_run_and_publishes_every_key_in_seq_order(
    store: InMemoryStore, registry: CollectorRegistry
) -> None:
    await write(store, "a1", "b1", "a2", "a3", "b2")
    publisher = FakePublisher()
    relay = relay_on(store, publisher, registry)

    outcomes = [(await relay.run_once()).outcome for _ in range(2)]

    assert outcomes == [Outcome.PUBLISHED, Outcome.IDLE]
    assert publisher.sent == ["a1", "b1", "a2", "a3", "b2"]
    assert {r.status for r in store.tables.outbox.values()} == {"published"}
    assert published(registry) == 5


async def test_a_one_key_backlog_leaves_a_batch_at_a_time(store: InMemoryStore) -> None:
    await write(store, *[f"a{n}" for n in range(1, 26)])
    publisher = FakePublisher()
    relay = relay_on(store, publisher, batch_size=10)

    results = [await relay.run_once() for _ in range(3)]

    assert [result.published for result in results] == [10, 10, 5]
    assert publisher.sent == [f"a{n}" for n in range(1, 26)]


async def test_the_room_of_a_claim_is_shared_between_its_keys(store: InMemoryStore) -> None:
    await write(store, *[f"a{n}" for n in range(1, 9)], *[f"b{n}" for n in range(1, 9)], "c1")
    relay = relay_on(store, FakePublisher(), batch_size=9)

    result = await relay.run_once()

    # Three heads, then an equal share (2) of the six rows of room for each key.
    claimed = sorted(r.event_data["name"] for r in store.tables.outbox.values() if r.published_at)
    assert (result.published, claimed) == (7, ["a1", "a2", "a3", "b1", "b2", "b3", "c1"])


async def test_a_failed_row_holds_back_the_rest_of_its_key_while_other_keys_go_out(
    store: InMemoryStore, registry: CollectorRegistry
) -> None:
    await write(store, "a1", "b1", "c1", "b2", "b3")
    publisher = FakePublisher(lambda r: r.event_data["name"] == "b2")
    relay = relay_on(store, publisher, registry)

    result = await relay.run_once()

    assert (result.outcome, result.published) == (Outcome.FAILED, 3)
    assert [row(store, name).status for name in ("a1", "b1", "c1")] == ["published"] * 3
    failed = row(store, "b2")
    assert (failed.status, failed.retry_count) == ("pending", 1)
    assert failed.last_error == "ConnectionError: cannot send b2"
    # b3 was sent after b2 in the same claim, but it must not count as published before b2:
    # it stays untouched (no attempt counted) and goes again after b2.
    held = row(store, "b3")
    assert (held.status, held.retry_count, held.last_error) == ("pending", 0, None)
    labels = {"service": SERVICE, "destination": "kafka", "event_type": TOPIC}
    assert registry.get_sample_value("outbox_events_failed_total", labels) == 1
    assert registry.get_sample_value("outbox_events_parked_total", labels) is None
    assert published(registry) == 3


async def test_a_row_waiting_for_its_retry_does_not_hold_up_other_keys(
    store: InMemoryStore,
) -> None:
    await write(store, "a1", "a2", "b1")
    publisher = FakePublisher(lambda r: r.event_data["name"] == "a1")
    relay = relay_on(store, publisher, backoff_initial_seconds=30.0, backoff_max_seconds=30.0)
    assert (await relay.run_once()).outcome is Outcome.FAILED
    await write(store, "c1")

    result = await relay.run_once()

    assert (result.outcome, result.published) == (Outcome.PUBLISHED, 1)
    assert [row(store, name).status for name in ("b1", "c1")] == ["published"] * 2
    assert (row(store, "a1").status, row(store, "a2").status) == ("pending", "pending")
    # a2 went out behind a1 in the first claim, but only c1 was sent in the second.
    assert publisher.sent[-1:] == ["c1"]


async def test_the_last_allowed_failure_parks_the_row_and_its_key_moves_on(
    store: InMemoryStore, registry: CollectorRegistry
) -> None:
    await write(store, "a1", "a2")
    publisher = FakePublisher(lambda r: r.event_data["name"] == "a1")
    relay = relay_on(store, publisher, registry, max_attempts=1)

    assert (await relay.run_once()).outcome is Outcome.FAILED
    assert (await relay.run_once()).outcome is Outcome.PUBLISHED

    assert (row(store, "a1").status, row(store, "a2").status) == ("failed", "published")
    assert row(store, "a2").retry_count == 0
    labels = {"service": SERVICE, "destination": "kafka", "event_type": TOPIC}
    assert registry.get_sample_value("outbox_events_parked_total", labels) == 1


async def test_a_storage_error_is_reported_as_a_failed_cycle_not_raised(
    store: InMemoryStore,
) -> None:
    relay = OutboxRelay(store=BrokenStore(), publisher=FakePublisher(), config=RelayConfig())
    assert (await relay.run_once()).outcome is Outcome.FAILED


async def test_the_loop_survives_errors_backing_off_instead_of_spinning(
    store: InMemoryStore,
) -> None:
    broken = BrokenStore()
    relay = OutboxRelay(
        store=broken,
        publisher=FakePublisher(),
        config=RelayConfig(backoff_initial_seconds=0.05, backoff_max_seconds=0.2),
        jitter=no_jitter,
    )
    async with running(relay):
        await asyncio.sleep(1.0)
        assert status(relay) == "running"

    # Waits of 0.05, 0.1, 0.2, 0.2, ... seconds: about 6 claims in a second, never hundreds.
    assert 3 <= len(broken.claims) <= 9
    assert status(relay) == "stopped"


async def test_consecutive_failed_claims_wait_longer_each_time(store: InMemoryStore) -> None:
    await write(store, "a1")
    publisher = FakePublisher(lambda _: True)
    relay = relay_on(store, publisher, backoff_initial_seconds=0.05, backoff_max_seconds=10)

    async with running(relay):
        await publisher.attempted(4, within=5)

    gaps = [b - a for a, b in zip(publisher.attempts, publisher.attempts[1:], strict=False)]
    assert gaps[0] >= 0.05
    assert gaps[1] >= 0.1
    assert gaps[2] >= 0.2


async def test_an_idle_relay_wakes_when_a_scheduled_retry_becomes_due(
    store: InMemoryStore,
) -> None:
    await write(store, "a1")
    outbox = store.tables.outbox
    first = row(store, "a1")
    outbox[first.id] = first.updated(next_attempt_at=SystemClock().now() + timedelta(seconds=0.3))
    publisher = FakePublisher()
    relay = relay_on(store, publisher)  # poll interval 30 s

    async with running(relay):
        await publisher.attempted(1, within=3)
    assert publisher.sent == ["a1"]


async def test_a_wakeup_cuts_the_idle_wait_short(store: InMemoryStore) -> None:
    publisher = FakePublisher()
    wakeups = Wakeups()
    relay = OutboxRelay(
        store=InMemoryOutboxStore(store, SystemClock()),
        publisher=publisher,
        config=RelayConfig(poll_interval_seconds=30.0),
        wakeups=wakeups,
    )
    async with running(relay):
        await asyncio.sleep(0.1)
        await write(store, "a1")
        wakeups.event.set()
        await publisher.attempted(1, within=2)
    assert publisher.sent == ["a1"]


async def test_stop_ends_an_idle_relay_at_once(store: InMemoryStore) -> None:
    relay = relay_on(store, FakePublisher())
    assert status(relay) == "stopped"
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(0.1)
    assert status(relay) == "running"

    stop.set()
    await asyncio.wait_for(task, 0.5)

    assert status(relay) == "stopped"
