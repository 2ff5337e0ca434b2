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
from huleedu_service_libs.outbox.postgres_store import CLAIM_SQL, PostgresOutboxStore
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig

_RUNS = itertools.count()
_SET_ASIDE = """
UPDATE event_outbox SET status = 'published', published_at = clock_timestamp()
WHERE status = 'pending'
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
_CLAIM = CLAIM_SQL.replace(":destination", "$1").replace(":limit", "$2")
# Housekeeping with a short retention: the backlog is measured on a table of just itself.
_PURGE_PUBLISHED = "DELETE FROM event_outbox WHERE status = 'published'"
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


async def _claim_ms_on_current_table(connection: Any, topic: str, envelope: str) -> float:
    """One claim of 100 rows (the relay's own SQL) with 5,000 pending rows on the table as the
    run left it, published history included; median of three, rolled back."""
    timings: list[float] = []
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(_SEED, topic, envelope, 5_000)
        await connection.execute("ANALYZE event_outbox")
        for _ in range(3):
            started = time.perf_counter()
            await connection.fetch(_CLAIM, "kafka", 100)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        await transaction.rollback()
    return round(sorted(timings)[1], 2)


async def run_relay_case(
    dsn: str,
    bootstrap: str,
    token: str,
    probe: CpuProbe,
    *,
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
        history = {
            "rows_in_outbox_before": int(await connection.fetchval(_ROWS)),
            "claim_ms": await _claim_ms_on_current_table(connection, topic, envelope),
        }
        await connection.execute(_PURGE_PUBLISHED)
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
        "claim_with_published_history": history,
        "backlog": backlog,
        "steady": steady,
        # A failed publish means the broker went away (other people's outage tests share it).
        "kafka_disrupted": bool(backlog["publish_failures"]) or not steady["all_published"],
    }
