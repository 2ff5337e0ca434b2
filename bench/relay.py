"""``relay``: the library's ``OutboxRelay`` in-process, bench database → real Kafka.

Two measurements on a bench-only topic (deleted afterwards), other pending rows set aside:

* backlog: ``rows`` pending Kafka rows (a real ``StudentCreatedV1`` envelope, one key each) are
  inserted at once; events/s = rows / time until none is pending, checked against Kafka's
  end offset;
* steady: one row committed every 1/``rate`` s; commit→Kafka latency per row is
  ``published_at - created_at``: ``created_at`` is the single-statement insert transaction's
  start (≈ its commit), ``published_at`` is set by the relay after Kafka acknowledged the row.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.procfs import CpuProbe
from bench.stats import latency_summary
from class_management_service.application.context import Actor
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.config import Settings
from class_management_service.domain.models import Student
from class_management_service.implementations.postgres.engine import create_engine_for_url
from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.listener import OutboxListener
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore
from huleedu_service_libs.outbox.redis_publisher import RedisPublisher
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig

_RUNS = itertools.count()
_SET_ASIDE = """
UPDATE event_outbox SET status = 'published', published_at = clock_timestamp()
WHERE id IN (SELECT id FROM event_outbox WHERE status = 'pending' FOR UPDATE SKIP LOCKED)
"""
_SEED = """
INSERT INTO event_outbox
    (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data,
     status)
SELECT gen_random_uuid(), 'student', k, 'huleedu.class.student.created.v1', $1, 'kafka', k,
       $2::json, 'pending'
FROM (SELECT gen_random_uuid()::text AS k FROM generate_series(1, $3)) AS keys
"""
_ONE = """
INSERT INTO event_outbox
    (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data,
     status)
VALUES (gen_random_uuid(), 'student', $2, 'huleedu.class.student.created.v1', $1, 'kafka', $2,
        $3::json, 'pending')
"""
_PENDING = "SELECT count(*) FROM event_outbox WHERE status = 'pending' AND topic = $1"
_ROWS = "SELECT count(*) FROM event_outbox"
_FAILURES = "SELECT count(*) FROM event_outbox WHERE topic = $1 AND retry_count > 0"
# Housekeeping with a short retention: the backlog is measured on a table of just itself.
_PURGE_PUBLISHED = "DELETE FROM event_outbox WHERE status = 'published'"
_PURGE_TOPIC = "DELETE FROM event_outbox WHERE topic = $1"
_LATENCIES = """
SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms
FROM event_outbox WHERE topic = $1 AND event_key LIKE 'steady-%' AND status = 'published'
"""


def _envelope() -> str:
    """What create_student writes for Kafka: a real StudentCreatedV1 envelope."""
    now = datetime.now(UTC)
    student = Student(
        id=uuid4(),
        first_name="Bench",
        last_name="Student",
        legal_full_name="Bench Student",
        email="bench.student@example.com",
        owner_id="bench-relay-teacher",
        created_at=now,
        updated_at=now,
        class_ids=[uuid4()],
    )
    messages = OutboxMessages(NotificationPolicy())
    actor = Actor(teacher_id="bench-relay-teacher", correlation_id=uuid4())
    (row,) = messages.student_created(student, actor, now, [], notify=False)
    return json.dumps(row.event_data)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _kafka_records(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        # The bench created the topic with exactly one partition.
        offsets = await consumer.end_offsets([TopicPartition(topic, 0)])
        return int(sum(offsets.values()))
    finally:
        await consumer.stop()


async def _wait_drained(connection: Any, topic: str, timeout_s: float) -> tuple[bool, float]:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if await connection.fetchval(_PENDING, topic) == 0:
            return True, time.perf_counter()
        await asyncio.sleep(0.05)
    return False, time.perf_counter()


_SEED_HISTORY = """
INSERT INTO event_outbox
    (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data,
     status, published_at)
SELECT gen_random_uuid(), 'student', k, 'huleedu.class.student.created.v1', $1, 'kafka', k,
       $2::json, 'published', clock_timestamp()
FROM (SELECT gen_random_uuid()::text AS k FROM generate_series(1, $3)) AS keys
"""
# `rows` pending rows over `keys` keys (row n has key n % keys).
_SEED_KEYS = """
INSERT INTO event_outbox
    (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data,
     status)
SELECT gen_random_uuid(), 'student', 'k' || (n % $4), 'huleedu.class.student.created.v1', $1,
       'kafka', 'shape-' || (n % $4), $2::json, 'pending'
FROM generate_series(1, $3) AS n
"""
_SEED_ONE_TEACHER = """
INSERT INTO event_outbox
    (id, aggregate_type, aggregate_id, event_type, topic, destination, event_key, event_data,
     status)
SELECT gen_random_uuid(), 'teacher', $1::text, 'student_added_to_class', 'ws:' || $1::text,
       'redis', $1::text, $2::json, 'pending'
FROM generate_series(1, $3)
"""
_PENDING_REDIS = "SELECT count(*) FROM event_outbox WHERE status = 'pending' AND event_key = $1"


async def _claim_ms(engine: Any, batch_size: int) -> float:
    """One claim through the store's own code (nothing marked, so nothing changes); median of 5."""
    store = PostgresOutboxStore(engine)
    timings: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        async with store.claim("kafka", batch_size) as claim:
            assert claim.records, "the shape under test has claimable rows"
        timings.append((time.perf_counter() - started) * 1000)
    return round(sorted(timings)[2], 2)


async def claim_shapes(
    connection: Any, engine: Any, topic: str, envelope: str, *, batch_size: int, quick: bool
) -> dict[str, Any]:
    """A claim's cost against published history (0, 10k, 1M rows; 100k when quick) with 10,000
    pending rows of 10,000 keys, and against the backlog's shape (10,000 pending rows over 1,
    100 and 10,000 keys) on an empty history. Every row is removed again afterwards."""
    history: dict[str, float] = {}
    seeded = 0
    await connection.execute(_SEED_KEYS, topic, envelope, 10_000, 10_000)
    for rows in (0, 10_000, 100_000 if quick else 1_000_000):
        await connection.execute(_SEED_HISTORY, topic, envelope, rows - seeded)
        seeded = rows
        await connection.execute("VACUUM ANALYZE event_outbox")
        history[str(rows)] = await _claim_ms(engine, batch_size)
    await connection.execute(_PURGE_TOPIC, topic)
    shapes: dict[str, float] = {}
    for keys in (1, 100, 10_000):
        await connection.execute(_SEED_KEYS, topic, envelope, 10_000, keys)
        await connection.execute("VACUUM ANALYZE event_outbox")
        shapes[str(keys)] = await _claim_ms(engine, batch_size)
        await connection.execute(_PURGE_TOPIC, topic)
    await connection.execute("VACUUM ANALYZE event_outbox")
    return {
        "batch_size": batch_size,
        "claim_ms_by_published_history_rows": history,
        "claim_ms_by_pending_keys": shapes,
        "pending_rows": 10_000,
    }


async def one_key_drain(
    connection: Any, engine: Any, redis_url: str, *, rows: int, batch_size: int
) -> dict[str, Any]:
    """``rows`` notifications of one teacher (one key) drained by the Redis relay."""
    teacher = f"bench-one-key-{next(_RUNS)}"
    message = json.dumps({"event": "student_added_to_class", "data": {"teacher_id": teacher}})
    publisher = RedisPublisher.from_url(redis_url)
    relay = OutboxRelay(
        store=PostgresOutboxStore(engine),
        publisher=publisher,
        config=RelayConfig(batch_size=batch_size, poll_interval_seconds=0.05),
    )
    await connection.execute(_SEED_ONE_TEACHER, teacher, message, rows)
    await connection.execute("ANALYZE event_outbox")
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(relay.run(stop), name="bench-one-key-relay")
    try:
        left = rows
        while left and time.perf_counter() - began < 60:
            await asyncio.sleep(0.02)
            left = int(await connection.fetchval(_PENDING_REDIS, teacher))
        seconds = time.perf_counter() - began
    finally:
        stop.set()
        await asyncio.wait([task], timeout=15)
        await publisher.close()
    return {
        "rows": rows,
        "drained": left == 0,
        "seconds": round(seconds, 3),
        "rows_per_s": round((rows - left) / seconds, 1),
        "batch_size": batch_size,
    }


async def run_relay_case(
    dsn: str,
    bootstrap: str,
    token: str,
    probe: CpuProbe,
    *,
    redis_url: str,
    quick: bool,
    backlog_rows: int,
    drain_timeout_s: float,
    steady_rate: float,
    steady_seconds: float,
) -> dict[str, Any]:
    settings = Settings()
    topic = f"bench.cms.relay.{token}.{next(_RUNS)}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    engine = create_engine_for_url(
        dsn, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    publisher = KafkaPublisher(bootstrap)
    relay = OutboxRelay(
        store=PostgresOutboxStore(engine),
        publisher=publisher,
        config=RelayConfig(
            batch_size=settings.outbox_batch_size,
            poll_interval_seconds=settings.outbox_poll_interval_seconds,
            max_attempts=settings.outbox_max_attempts,
            backoff_initial_seconds=settings.outbox_backoff_initial_seconds,
            backoff_max_seconds=settings.outbox_backoff_max_seconds,
        ),
        wakeups=OutboxListener(dsn, "kafka"),
    )
    connection = await asyncpg.connect(dsn)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    envelope = _envelope()
    try:
        await connection.execute(_SET_ASIDE)
        rows_before = int(await connection.fetchval(_ROWS))
        await connection.execute(_PURGE_PUBLISHED)
        shapes = await claim_shapes(
            connection,
            engine,
            topic,
            envelope,
            batch_size=settings.outbox_batch_size,
            quick=quick,
        )
        shapes["rows_in_outbox_before"] = rows_before
        one_key = await one_key_drain(
            connection, engine, redis_url, rows=10_000, batch_size=settings.outbox_batch_size
        )
        await connection.execute("VACUUM ANALYZE event_outbox")
        await connection.execute(_SEED, topic, envelope, backlog_rows)
        await connection.execute("ANALYZE event_outbox")
        start, cpu_start, began = probe.snapshot(), _cpu_seconds(), time.perf_counter()
        task = asyncio.create_task(relay.run(stop), name="bench-relay")
        drained, finished = await _wait_drained(connection, topic, drain_timeout_s)
        cpu, end = _cpu_seconds() - cpu_start, probe.snapshot()
        pending = await connection.fetchval(_PENDING, topic)
        published = backlog_rows - int(pending)
        seconds = finished - began
        backlog = {
            "rows": backlog_rows,
            "drained": drained,
            "published": published,
            "seconds": round(seconds, 3),
            "events_per_s": round(published / seconds, 1),
            "kafka_records": await _kafka_records(bootstrap, topic),
            "publish_failures": int(await connection.fetchval(_FAILURES, topic)),
            "batch_size": settings.outbox_batch_size,
            "cpu": probe.share(start, end, cpu),
        }
        if not drained:
            # What is left would only delay the steady phase; it is counted above.
            await connection.execute(_SET_ASIDE)
        sent = 0
        began = time.perf_counter()
        while sent < steady_rate * steady_seconds:
            await connection.execute(_ONE, topic, f"steady-{sent}", envelope)
            sent += 1
            delay = began + sent / steady_rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        settled, _ = await _wait_drained(connection, topic, 30.0)
        latencies = [float(r["ms"]) / 1000 for r in await connection.fetch(_LATENCIES, topic)]
        steady = {
            "rate_per_s": steady_rate,
            "seconds": round(time.perf_counter() - began, 3),
            "sent": sent,
            "published": len(latencies),
            "all_published": settled,
            "commit_to_kafka_ms": latency_summary(latencies),
        }
    finally:
        stop.set()
        if task is not None:
            await asyncio.wait([task], timeout=15)
        await publisher.close()
        await connection.close()
        await engine.dispose()
        await admin.delete_topics([topic])
        await admin.close()
    return {
        "status": "ok",
        "claim_shapes": shapes,
        "one_key_backlog": one_key,
        "backlog": backlog,
        "steady": steady,
        # A failed publish means the broker went away (other people's outage tests share it).
        "kafka_disrupted": bool(backlog["publish_failures"]) or not steady["all_published"],
    }
