"""Helpers of the relay tests: outbox rows written as the writer does, records read back."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import JSON, RowMapping, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.timeutil import to_iso_z
from common_core.topics import SERVICE_NAME, teacher_channel
from huleedu_service_libs.outbox.message import OutboxMessage
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig
from tests.fixtures.service_control import ROOT as ROOT
from tests.fixtures.service_control import outage as outage

_INSERT = text(
    """
    INSERT INTO event_outbox
        (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data)
    VALUES
        (:id, :aggregate_type, :aggregate_id, :event_type, :topic, :destination, :event_key,
         :event_data)
    RETURNING seq
    """
).bindparams(bindparam("event_data", type_=JSON))


def kafka_message(topic: str, key: str, n: int = 0) -> OutboxMessage:
    """A complete envelope as the service stores it, with non-ASCII text."""
    now = to_iso_z(datetime.now(UTC))
    correlation_id = str(uuid4())
    return OutboxMessage(
        destination="kafka",
        aggregate_type="class",
        aggregate_id=key,
        event_type=topic,
        topic=topic,
        event_key=key,
        event_data={
            "event_id": str(uuid4()),
            "event_type": topic,
            "event_timestamp": now,
            "source_service": SERVICE_NAME,
            "schema_version": 1,
            "correlation_id": correlation_id,
            "data_schema_uri": None,
            "data": {"class_id": key, "n": n, "name": "9B Åsa–Örjan", "timestamp": now},
            "metadata": None,
        },
    )


def redis_message(teacher_id: str, n: int = 0) -> OutboxMessage:
    now = to_iso_z(datetime.now(UTC))
    return OutboxMessage(
        destination="redis",
        aggregate_type="teacher",
        aggregate_id=teacher_id,
        event_type="class_created",
        topic=teacher_channel(teacher_id),
        event_key=teacher_id,
        event_data={
            "event": "class_created",
            "data": {"n": n, "class_name": "9B åäö", "timestamp": now, "correlation_id": "c"},
        },
    )


async def insert(engine: AsyncEngine, messages: Iterable[OutboxMessage]) -> list[int]:
    """Insert in one transaction (one NOTIFY per destination at commit); the rows' ``seq``."""
    seqs = []
    async with engine.begin() as connection:
        for message in messages:
            result = await connection.execute(
                _INSERT,
                {
                    "id": uuid4(),
                    "aggregate_type": message.aggregate_type,
                    "aggregate_id": message.aggregate_id,
                    "event_type": message.event_type,
                    "topic": message.topic,
                    "destination": message.destination,
                    "event_key": message.event_key,
                    "event_data": message.event_data,
                },
            )
            seqs.append(result.scalar_one())
    return seqs


async def outbox_rows(engine: AsyncEngine) -> list[RowMapping]:
    async with engine.connect() as connection:
        result = await connection.execute(text("SELECT * FROM event_outbox ORDER BY seq"))
        return list(result.mappings())


def all_published(engine: AsyncEngine, total: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await count_rows(engine, "status = 'published'") == total

    return check


def some_rows(engine: AsyncEngine, where: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await count_rows(engine, where) > 0

    return check


async def count_rows(engine: AsyncEngine, where: str) -> int:
    async with engine.connect() as connection:
        result = await connection.execute(text(f"SELECT count(*) FROM event_outbox WHERE {where}"))
        return int(result.scalar_one())


async def _holds(check: Callable[[], bool | Awaitable[bool]]) -> bool:
    outcome = check()
    return await outcome if inspect.isawaitable(outcome) else outcome


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float,
    what: str,
    interval: float = 0.05,
) -> float:
    """Poll ``check`` (plain or async) until true; the seconds it took. Fails with ``what``
    on timeout."""
    started = time.monotonic()
    while not await _holds(check):
        if time.monotonic() - started > within:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


def fast_config(**overrides: Any) -> RelayConfig:
    values: dict[str, Any] = {
        "batch_size": 100,
        "poll_interval_seconds": 1.0,
        "max_attempts": 1000,
        "backoff_initial_seconds": 0.1,
        "backoff_max_seconds": 1.0,
        "stats_interval_seconds": 0.2,
    }
    return RelayConfig(**(values | overrides))


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run relays as tasks; on exit ask them to stop and require that they do, promptly."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        yield tasks
    finally:
        stop.set()
        live = [task for task in tasks if not task.done()]
        if live:
            _, pending = await asyncio.wait(live, timeout=20)
            for task in pending:
                task.cancel()
            await asyncio.gather(*live, return_exceptions=True)
            assert not pending, "relay did not stop within 20 s of the stop event"


@dataclass(frozen=True)
class Received:
    partition: int
    offset: int
    key: str
    value: dict[str, Any]
    headers: dict[str, str]


async def read_topic(
    bootstrap_servers: str, topic: str, *, partitions: int = 1, within: float = 30.0
) -> list[Received]:
    """Every record currently in ``topic``, duplicates included, in offset order per partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(assigned)
        received: list[Received] = []
        async with asyncio.timeout(within):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batches = await consumer.getmany(*assigned, timeout_ms=200)
                for tp, records in batches.items():
                    received.extend(
                        Received(
                            partition=tp.partition,
                            offset=record.offset,
                            key=record.key.decode("utf-8"),
                            value=json.loads(record.value.decode("utf-8")),
                            headers={name: value.decode("utf-8") for name, value in record.headers},
                        )
                        for record in records
                    )
        return received
    finally:
        await consumer.stop()


def first_seen_seqs_per_key(
    received: Sequence[Received], seq_of_event: dict[str, int]
) -> dict[str, list[int]]:
    """Per key, the ``seq`` of each distinct event in arrival order (duplicates skipped)."""
    seen: set[str] = set()
    order: dict[str, list[int]] = defaultdict(list)
    for record in sorted(received, key=lambda r: (r.partition, r.offset)):
        event_id = record.value["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            order[record.key].append(seq_of_event[event_id])
    return dict(order)
