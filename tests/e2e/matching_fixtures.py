"""Helpers for the matching end-to-end tests: the running service, Kafka, a PostgreSQL proxy.

Kept out of ``conftest.py`` so the matching tests own their support code. Nothing here is a
pytest fixture; ``test_matching_e2e.py`` builds its fixtures from these pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord, TopicPartition
from dishka import AsyncContainer
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client
from sqlalchemy import Row, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.config import Settings
from class_management_service.di import make_container
from class_management_service.implementations.postgres.engine import create_engine
from class_management_service.models_db import (
    essay_student_associations,
    event_outbox,
    processed_events,
)
from common_core.topics import (
    BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC,
    BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
    STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC,
)
from tests.fixtures.http import make_test_settings
from tests.fixtures.infrastructure import create_kafka_topics

T = TypeVar("T")

SUGGESTED_TOPIC = BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC
DLQ_TOPIC = BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC
CONFIRMED_TOPIC = STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC
# The contract's example teacher (events.md, http-api.md).
TEACHER_ID = "d5918e0d-7655-4456-a123-f0049d22768c"
TEACHER = {"X-User-ID": TEACHER_ID}
WAIT_SECONDS = 20.0
# A fresh group starts this many records before the log end of the shared suggestion topic, so
# every test replays a bounded tail of earlier tests' records. Their classes do not exist in
# this test's truncated database, so each replayed record must end as class_not_found (or as
# the poison it was) on the DLQ under this test's group, without disturbing the test.
REPLAY_TAIL = 10


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, within: float = WAIT_SECONDS
) -> T:
    """Poll ``probe`` until it returns something truthy and return it; fail after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


# --- Kafka -------------------------------------------------------------------------------


async def ensure_topics(bootstrap_servers: str, names: Sequence[str]) -> None:
    """Create the shared topics that do not exist yet (another test may race us to it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    missing = [name for name in names if name not in existing]
    if missing:
        with contextlib.suppress(TopicAlreadyExistsError):
            await create_kafka_topics(bootstrap_servers, missing)


async def _partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, f"topic {topic}: {described}"
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def end_offsets(bootstrap_servers: str, topic: str) -> dict[int, int]:
    """Partition → log end offset of ``topic`` now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(await _partitions(bootstrap_servers, topic))
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def start_group_near_end(
    bootstrap_servers: str, group_id: str, topic: str, tail: int = REPLAY_TAIL
) -> None:
    """Commit, for the new ``group_id``, offsets ``tail`` records before each log end.

    The service's consumer then starts there instead of replaying the topic's whole history
    (``auto_offset_reset`` earliest only applies to partitions without a committed offset)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap_servers, topic)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        await consumer.commit({tp: max(starts[tp], ends[tp] - tail) for tp in partitions})
    finally:
        await consumer.stop()


async def committed_offsets(bootstrap_servers: str, group_id: str, topic: str) -> dict[int, int]:
    """Partition → committed offset of ``group_id`` on ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


@dataclass(frozen=True)
class Produced:
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int


async def produce(
    bootstrap_servers: str,
    topic: str,
    records: Sequence[tuple[bytes | None, bytes] | tuple[bytes | None, bytes, Sequence[Any]]],
) -> list[Produced]:
    """Send ``(key, value[, headers])`` records in order, each acknowledged before the next."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = []
        for key, value, *rest in records:
            headers = tuple(rest[0]) if rest else ()
            meta = await producer.send_and_wait(topic, value=value, key=key, headers=list(headers))
            sent.append(Produced(key, value, headers, meta.partition, meta.offset))
        return sent
    finally:
        await producer.stop()


@dataclass
class TopicWatch:
    """Reads what was appended to a topic after ``start`` (no group, nothing committed)."""

    bootstrap_servers: str
    topic: str
    start: dict[int, int]

    @classmethod
    async def from_now(cls, bootstrap_servers: str, topic: str) -> TopicWatch:
        return cls(bootstrap_servers, topic, await end_offsets(bootstrap_servers, topic))

    async def records(self) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record from ``start`` up to the log end as of this call."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(self.topic, p) for p in sorted(self.start)]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, self.start[tp.partition])
            ends = await consumer.end_offsets(partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            async with asyncio.timeout(WAIT_SECONDS):
                for tp in partitions:
                    while await consumer.position(tp) < ends[tp]:
                        batch = await consumer.getmany(tp, timeout_ms=200)
                        records.extend(batch.get(tp, []))
            return records
        finally:
            await consumer.stop()


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


# --- NLP-shaped suggestion events (events.md §5) -------------------------------------------


def nlp_suggestion(
    student_id: UUID | str,
    name: str,
    confidence: float,
    reasons: Sequence[str],
    email: str | None = None,
) -> dict[str, Any]:
    return {
        "student_id": str(student_id),
        "student_name": name,
        "student_email": email,
        "confidence_score": confidence,
        "match_reasons": list(reasons),
        "extraction_metadata": {"strategy": "header"},
    }


def nlp_essay(
    essay_id: UUID,
    suggestions: Sequence[dict[str, Any]] = (),
    no_match_reason: str | None = None,
    filename: str = "essay.docx",
) -> dict[str, Any]:
    return {
        "essay_id": str(essay_id),
        "text_storage_id": f"txt-{uuid4().hex[:6]}",
        "filename": filename,
        "suggestions": list(suggestions),
        "no_match_reason": no_match_reason,
        "extraction_metadata": {},
    }


def nlp_event(
    *,
    batch_id: UUID,
    class_id: UUID | str,
    essays: Sequence[dict[str, Any]],
    event_id: UUID | None = None,
    correlation_id: UUID | None = None,
) -> dict[str, Any]:
    """The envelope the NLP service publishes, shaped like events.md §5's example."""
    matched = sum(1 for item in essays if item["suggestions"])
    return {
        "event_id": str(event_id or uuid4()),
        "event_type": SUGGESTED_TOPIC,
        "event_timestamp": "2026-11-26T10:02:10.998877Z",
        "source_service": "nlp_service",
        "schema_version": 1,
        "correlation_id": str(correlation_id or uuid4()),
        "data_schema_uri": None,
        "data": {
            "event_name": "batch.author.matches.suggested",
            "entity_id": str(batch_id),
            "entity_type": "batch",
            "parent_id": None,
            "timestamp": "2026-11-26T10:02:10.998877Z",
            "batch_id": str(batch_id),
            "class_id": str(class_id),
            "course_code": "ENG5",
            "match_results": list(essays),
            "processing_summary": {
                "total_essays": len(essays),
                "matched": matched,
                "no_match": len(essays) - matched,
                "errors": 0,
            },
            "processing_metadata": {},
        },
        "metadata": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    }


def wire(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


# --- The class and its students, created through the HTTP API -----------------------------


@dataclass(frozen=True)
class Roster:
    class_id: UUID
    anna: UUID
    omar: UUID
    lea: UUID


async def create_class(client: Client, name: str = "9B English") -> UUID:
    response = await client.post(
        "/v1/classes/", json={"name": name, "course_codes": ["ENG5"]}, headers=TEACHER
    )
    assert response.status_code == 201, await response.get_json()
    return UUID((await response.get_json())["id"])


async def create_student(client: Client, first: str, last: str, class_id: UUID) -> UUID:
    response = await client.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": first, "last_name": last},
            "email": f"{first}.{last}.{uuid4().hex[:6]}@example.com".lower(),
            "class_ids": [str(class_id)],
        },
        headers=TEACHER,
    )
    assert response.status_code == 201, await response.get_json()
    return UUID((await response.get_json())["id"])


async def create_roster(client: Client) -> Roster:
    class_id = await create_class(client)
    anna = await create_student(client, "Anna", "Lindqvist", class_id)
    omar = await create_student(client, "Omar", "Haddad", class_id)
    lea = await create_student(client, "Lea", "Berg", class_id)
    return Roster(class_id, anna, omar, lea)


async def review(client: Client, batch_id: UUID) -> dict[str, Any] | None:
    """The batch's review body, or None while it has no rows (404)."""
    response = await client.get(f"/v1/batches/{batch_id}/student-associations", headers=TEACHER)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, await response.get_json()
    body: dict[str, Any] = await response.get_json()
    return body


async def review_when_stored(client: Client, batch_id: UUID, rows: int) -> dict[str, Any]:
    """Wait until the consumer stored ``rows`` associations of the batch."""

    async def probe() -> dict[str, Any] | None:
        body = await review(client, batch_id)
        return body if body is not None and body["summary"]["total"] >= rows else None

    return await eventually(probe, f"{rows} associations of batch {batch_id}")


def items_by_essay(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["essay_id"]: item for item in body["associations"]}


# --- Direct database reads ---------------------------------------------------------------


async def outbox_rows(engine: AsyncEngine, event_type: str) -> list[Row[Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(event_outbox)
            .where(event_outbox.c.event_type == event_type)
            .order_by(event_outbox.c.seq)
        )
        return list(result)


async def inbox_rows(engine: AsyncEngine) -> list[Row[Any]]:
    async with engine.connect() as conn:
        return list(await conn.execute(select(processed_events)))


async def association_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len(list(await conn.execute(select(essay_student_associations.c.essay_id))))


# --- A TCP proxy in front of PostgreSQL ----------------------------------------------------


class TcpProxy:
    """``127.0.0.1:<port>`` → target, which the test can take down and bring back.

    ``close`` stops listening (new connections are refused) and aborts every connection in
    flight, as a crashed database host would; ``open`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._port = 0
        self._generation = 0
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        return self._port

    def url_for(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        proxied = make_url(database_url).set(host="127.0.0.1", port=self._port)
        return proxied.render_as_string(hide_password=False)

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._generation += 1
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        if server is not None:
            await server.wait_closed()

    async def aclose(self) -> None:
        await self.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer, self._generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, generation: int
    ) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, upstream_writer)
        if generation != self._generation:  # closed while connecting upstream
            for end in pair:
                end.transport.abort()
            return
        self._links.update(pair)
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            for end in pair:
                end.transport.abort()
                self._links.discard(end)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.transport.abort()


# --- The service, with its workers, as it runs in production -------------------------------


@dataclass
class RunningService:
    client: Client
    container: AsyncContainer
    registry: CollectorRegistry
    settings: Settings
    engine: AsyncEngine
    group_id: str
    bootstrap_servers: str

    def consumed(self, result: str) -> float:
        labels = {"topic": SUGGESTED_TOPIC, "result": result}
        return self.registry.get_sample_value("cms_consumer_messages_total", labels) or 0.0

    def retries(self) -> float:
        labels = {"topic": SUGGESTED_TOPIC}
        return self.registry.get_sample_value("cms_consumer_retries_total", labels) or 0.0

    async def committed(self, partition: int) -> int:
        """The group's committed offset on a partition of the suggestion topic (-1: none)."""
        offsets = await committed_offsets(self.bootstrap_servers, self.group_id, SUGGESTED_TOPIC)
        return offsets.get(partition, -1)

    async def caught_up(self, ends: dict[int, int]) -> None:
        """Wait until the group finished every record below ``ends`` (the replayed tail)."""

        async def probe() -> bool:
            offsets = await committed_offsets(
                self.bootstrap_servers, self.group_id, SUGGESTED_TOPIC
            )
            return all(offsets.get(p, -1) >= end for p, end in ends.items() if end > 0)

        await eventually(probe, f"group {self.group_id} to finish the replayed records")

    async def finished(self, record: Produced) -> None:
        """Wait until the group committed past ``record`` (processed, duplicate or DLQ'd)."""

        async def probe() -> bool:
            return await self.committed(record.partition) > record.offset

        await eventually(probe, f"group {self.group_id} to commit past offset {record.offset}")


@contextlib.asynccontextmanager
async def running_service(
    database_url: str, bootstrap_servers: str, group_id: str, **overrides: Any
) -> AsyncIterator[RunningService]:
    """The app with every worker that the settings enable: its own engine and pool (as the
    process would have), the suggestion consumer in ``group_id``, and the Kafka relay.

    Yields once the consumer has finished what the topic held before the app started (the
    replayed tail), so the test's own records are the only ones it sees afterwards."""
    settings = make_test_settings(
        database_url=SecretStr(database_url),
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_consumer_group_id=group_id,
        consumer_retry_initial_seconds=0.1,
        consumer_retry_max_seconds=0.5,
        association_monitor_enabled=False,
        db_pool_size=4,
        db_max_overflow=4,
        **overrides,
    )
    engine = create_engine(settings)
    registry = CollectorRegistry()
    container = make_container(settings, engine, registry=registry)
    app = create_app(container, engine, registry, run_workers=True)
    ends = await end_offsets(bootstrap_servers, SUGGESTED_TOPIC)
    try:
        async with app.test_app() as test_app:
            running = RunningService(
                client=test_app.test_client(),
                container=container,
                registry=registry,
                settings=settings,
                engine=engine,
                group_id=group_id,
                bootstrap_servers=bootstrap_servers,
            )
            await running.caught_up(ends)
            yield running
    finally:
        await engine.dispose()
