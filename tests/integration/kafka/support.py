"""Producing, reading and inspecting real Kafka topics and groups around a ResilientConsumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry

from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.kafka.consumer import ResilientConsumer
from huleedu_service_libs.kafka.handling import ConsumedRecord, HandlingResult, RecordHandler
from huleedu_service_libs.kafka.metrics import PrometheusConsumerMetrics

TIMEOUT_S = 20.0
FAILED_AT = datetime(2026, 11, 26, 10, 2, 12, 31000, tzinfo=UTC)


class TransientError(Exception):
    """Stands for a database outage: the consumer must retry it forever."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientError)


@dataclass(frozen=True)
class Outgoing:
    value: bytes
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()
    partition: int = 0


async def produce(bootstrap_servers: str, topic: str, records: Sequence[Outgoing]) -> list[int]:
    """Send ``records`` in order and return their offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        offsets = []
        for record in records:
            metadata = await producer.send_and_wait(
                topic,
                value=record.value,
                key=record.key,
                headers=list(record.headers),
                partition=record.partition,
            )
            offsets.append(metadata.offset)
        return offsets
    finally:
        await producer.stop()


async def read_topic(bootstrap_servers: str, topic: str, count: int) -> list[Any]:
    """The first ``count`` records of every partition of ``topic`` (no group, nothing committed)."""
    # Without a group the consumer is assigned every partition of the topic.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[Any] = []
        async with asyncio.timeout(TIMEOUT_S):
            while len(records) < count:
                batches = await consumer.getmany(timeout_ms=200)
                for batch in batches.values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap_servers: str, group_id: str) -> dict[int, int]:
    """Partition → committed offset of ``group_id`` (partitions without a commit are absent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def wait_until(condition: Callable[[], bool], what: str, within: float = TIMEOUT_S) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Recorder:
    """A handler that records every call, then delegates to ``behaviour`` (default: processed)."""

    behaviour: Callable[[ConsumedRecord], Any] | None = None
    calls: list[ConsumedRecord] = field(default_factory=list)
    finished: list[ConsumedRecord] = field(default_factory=list)

    async def __call__(self, record: ConsumedRecord) -> HandlingResult:
        self.calls.append(record)
        result = HandlingResult.PROCESSED
        if self.behaviour is not None:
            outcome = self.behaviour(record)
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            if outcome is not None:
                result = outcome
        self.finished.append(record)
        return result

    def values(self) -> list[bytes | None]:
        return [record.value for record in self.finished]


@dataclass
class ConsumerUnderTest:
    """A ResilientConsumer running in a task, with its metrics registry and stop event."""

    consumer: ResilientConsumer
    registry: CollectorRegistry
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def start(self) -> ConsumerUnderTest:
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self

    async def stopped(self, within: float = 10.0) -> float:
        """Set the stop event and wait for ``run`` to return; the seconds it took."""
        assert self.task is not None
        began = time.monotonic()
        self.stop.set()
        async with asyncio.timeout(within):
            await self.task
        return time.monotonic() - began

    def count(self, result: str, topic: str) -> float:
        labels = {"topic": topic, "result": result}
        return self.registry.get_sample_value("cms_consumer_messages_total", labels) or 0.0

    def retries(self, topic: str) -> float:
        labels = {"topic": topic}
        return self.registry.get_sample_value("cms_consumer_retries_total", labels) or 0.0


def consumer_under_test(
    bootstrap_servers: str,
    topic: str,
    group_id: str,
    handler: RecordHandler,
    *,
    dlq_topic: str = "unused-dlq",
    **overrides: Any,
) -> ConsumerUnderTest:
    """Fast settings for tests: 0.05 s first retry, short sessions, quick polls."""
    registry = CollectorRegistry()
    metrics = PrometheusConsumerMetrics(registry)
    options: dict[str, Any] = {
        "retry_initial": 0.05,
        "retry_max": 0.2,
        "max_attempts": 3,
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 500,
        "poll_seconds": 0.05,
        "io_timeout_seconds": 5.0,
    }
    options.update(overrides)
    consumer = ResilientConsumer(
        bootstrap_servers=bootstrap_servers,
        topic=topic,
        group_id=group_id,
        handler=handler,
        is_transient=is_transient,
        dlq_topic=dlq_topic,
        metrics=metrics,
        lag_observer=metrics,
        clock=FixedClock(FAILED_AT),
        **options,
    )
    return ConsumerUnderTest(consumer, registry)


class GatedProxy:
    """A TCP proxy to the broker's bootstrap address that, until opened, accepts connections
    only to close them: a broker that is down, without stopping the shared one."""

    def __init__(self, bootstrap_servers: str) -> None:
        host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
        self._target = (host, int(port))
        self.open = False
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            self.refused += 1
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(_pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.close()
