"""Support for the events end-to-end tests: the running service, Kafka and Redis observers.

The fixtures built from these pieces live in ``tests/e2e/conftest.py``. Nothing here knows the
contract's field lists; ``test_events_e2e.py`` holds those.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition
from dishka import AsyncContainer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.config import Settings
from class_management_service.di import make_container
from class_management_service.implementations.postgres.engine import create_engine
from tests.fixtures.http import make_test_settings
from tests.fixtures.infrastructure import create_kafka_topics
from tests.fixtures.service_control import ROOT as ROOT
from tests.fixtures.service_control import outage as outage

T = TypeVar("T")

WAIT_SECONDS = 30.0


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    within: float = WAIT_SECONDS,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until it returns something truthy and return it; fail after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


# --- Kafka -------------------------------------------------------------------------------


async def ensure_topics(bootstrap_servers: str, names: Iterable[str]) -> None:
    """Create the shared topics that do not exist yet (another run may race us to it).

    A group consumer subscribed to a topic that does not exist yet would only see it after
    its next metadata refresh, minutes later."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    for name in sorted(set(names) - existing):
        with contextlib.suppress(TopicAlreadyExistsError):
            await create_kafka_topics(bootstrap_servers, [name])


async def start_group_at_end(bootstrap_servers: str, group_id: str, topic: str) -> None:
    """Commit the log end of ``topic`` for the new ``group_id``.

    The service's consumer then starts there instead of replaying the shared suggestion topic
    (``auto_offset_reset`` earliest only applies without a committed offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"topic {topic}: {described}"
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Received:
    """One Kafka record as read back: key and headers decoded, value parsed as JSON."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: tuple[tuple[str, str], ...]
    value: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.value["event_id"])


def _parsed(value: bytes | None) -> dict[str, Any]:
    """The record's JSON object; anything else wrapped, so checks fail on it, not the reader."""
    try:
        parsed = json.loads(value) if value is not None else None
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"unparsed_value": value}


class KafkaCollector:
    """A consumer in a fresh group that reads ``topics`` from the earliest offset.

    The topics are shared by every test and run, so callers look records up by topic and key.
    Only records produced since ``since`` (epoch seconds, Kafka CreateTime) are kept: older ones
    cannot be this test's and would only cost memory.
    """

    def __init__(self, bootstrap_servers: str, topics: Sequence[str], *, since: float) -> None:
        self.group_id = f"cms-e2e-events-{uuid.uuid4().hex[:12]}"
        self._bootstrap_servers = bootstrap_servers
        self._topics = tuple(topics)
        self._since_ms = int(since * 1000)
        self._records: dict[tuple[str, str | None], list[Received]] = defaultdict(list)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> KafkaCollector:
        await ensure_topics(self._bootstrap_servers, self._topics)
        self._consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap_servers,
            group_id=self.group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._collect(self._consumer), name=self.group_id)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def _collect(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            for records in batches.values():
                for record in records:
                    if record.timestamp < self._since_ms:
                        continue
                    key = record.key.decode("utf-8") if record.key is not None else None
                    self._records[(record.topic, key)].append(
                        Received(
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                            key=key,
                            headers=tuple(
                                (name, value.decode("utf-8")) for name, value in record.headers
                            ),
                            value=_parsed(record.value),
                        )
                    )

    def records(self, topic: str, key: str) -> list[Received]:
        """Every record of ``key`` on ``topic`` read so far, duplicates included, in log order."""
        self._raise_if_dead()
        return sorted(self._records[(topic, key)], key=lambda r: (r.partition, r.offset))

    def distinct(self, topic: str, key: str) -> list[Received]:
        """``records`` without redeliveries: the first copy of each ``event_id``."""
        seen: set[str] = set()
        first: list[Received] = []
        for record in self.records(topic, key):
            if record.event_id not in seen:
                seen.add(record.event_id)
                first.append(record)
        return first

    async def wait_for(
        self,
        topic: str,
        key: str,
        count: int = 1,
        *,
        where: Callable[[Received], bool] = lambda _: True,
        within: float = WAIT_SECONDS,
    ) -> list[Received]:
        """The first ``count`` distinct events of ``key`` on ``topic`` that satisfy ``where``."""

        async def probe() -> list[Received] | None:
            matching = [r for r in self.distinct(topic, key) if where(r)]
            return matching if len(matching) >= count else None

        found = await eventually(
            probe, f"{count} record(s) on {topic} with key {key}", within=within
        )
        return found[:count]

    def _raise_if_dead(self) -> None:
        if self._task is not None and self._task.done() and not self._task.cancelled():
            error = self._task.exception()
            if error is not None:
                raise AssertionError(f"the Kafka collector died: {error!r}") from error


# --- Redis -------------------------------------------------------------------------------


@dataclass
class ChannelSubscriber:
    """A pub/sub subscriber on one channel; ``messages`` holds what arrived, parsed, in order.

    Entering returns only once Redis confirmed the subscription, so a message published after
    that point reaches it."""

    redis_url: str
    channel: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    _client: Redis | None = None
    _pubsub: PubSub | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ChannelSubscriber:
        self._client = Redis.from_url(self.redis_url, socket_connect_timeout=5)
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self.channel)
        async with asyncio.timeout(10):
            while True:
                confirmation = await self._pubsub.get_message(timeout=1.0)
                if confirmation is not None and confirmation["type"] == "subscribe":
                    break
        self._task = asyncio.create_task(self._listen(self._pubsub), name=self.channel)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "message":
                self.messages.append(json.loads(message["data"]))

    async def wait_for(
        self,
        count: int,
        *,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        within: float = WAIT_SECONDS,
    ) -> list[dict[str, Any]]:
        """The first ``count`` messages that satisfy ``where``, in arrival order."""

        async def probe() -> list[dict[str, Any]] | None:
            if self._task is not None and self._task.done() and not self._task.cancelled():
                raise AssertionError(f"the subscriber died: {self._task.exception()!r}")
            matching = [m for m in self.messages if where(m)]
            return matching if len(matching) >= count else None

        found = await eventually(probe, f"{count} message(s) on {self.channel}", within=within)
        return found[:count]


# --- Outbox rows ---------------------------------------------------------------------------


async def outbox_rows(
    engine: AsyncEngine, where: str = "true", **params: Any
) -> list[dict[str, Any]]:
    """Outbox rows matching a SQL condition, in ``seq`` order, ``event_data`` parsed."""
    query = text(f"SELECT * FROM event_outbox WHERE {where} ORDER BY seq")
    async with engine.connect() as connection:
        rows = [dict(row) for row in (await connection.execute(query, params)).mappings()]
    for row in rows:
        if isinstance(row["event_data"], str | bytes):
            row["event_data"] = json.loads(row["event_data"])
    return rows


async def execute(engine: AsyncEngine, statement: str, **params: Any) -> int:
    """Run one statement in its own transaction; the number of rows it touched."""
    async with engine.begin() as connection:
        result = await connection.execute(text(statement), params)
        return int(result.rowcount)


CollectorFactory = Callable[[], KafkaCollector]


# --- Servers managed by scripts/services.sh -------------------------------------------------


# --- The service with its workers ----------------------------------------------------------


@dataclass
class RunningService:
    client: Client
    container: AsyncContainer
    registry: CollectorRegistry
    settings: Settings
    engine: AsyncEngine


# Short relay waits so events arrive within a second; a high attempt limit so that a row
# retried every second during a 30 s outage is not parked (it would be, after 20 attempts).
FAST_RELAY = {
    "outbox_poll_interval_seconds": 0.5,
    "outbox_backoff_initial_seconds": 0.2,
    "outbox_backoff_max_seconds": 1.0,
    "outbox_max_attempts": 1000,
}


@contextlib.asynccontextmanager
async def running_service(
    *,
    database_url: str,
    bootstrap_servers: str,
    redis_url: str,
    group_id: str,
    **overrides: Any,
) -> AsyncIterator[RunningService]:
    """The app with its workers (``run_workers=True``), as the process runs it: its own engine,
    both relays, the suggestion consumer in ``group_id`` and housekeeping; no timeout monitor."""
    values: dict[str, Any] = {
        "database_url": SecretStr(database_url),
        "kafka_bootstrap_servers": bootstrap_servers,
        "redis_url": SecretStr(redis_url),
        "kafka_consumer_group_id": group_id,
        "consumer_retry_initial_seconds": 0.1,
        "consumer_retry_max_seconds": 0.5,
        "association_monitor_enabled": False,
        "db_pool_size": 10,
        "db_max_overflow": 10,
        **FAST_RELAY,
    }
    settings = make_test_settings(**(values | overrides))
    engine = create_engine(settings)
    registry = CollectorRegistry()
    container = make_container(settings, engine, registry=registry)
    app = create_app(container, engine, registry, run_workers=True)
    try:
        async with app.test_app() as test_app:
            yield RunningService(
                client=test_app.test_client(),
                container=container,
                registry=registry,
                settings=settings,
                engine=engine,
            )
    finally:
        await engine.dispose()


ServiceFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningService]]
