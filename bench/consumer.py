"""``consumer``: ``ResilientConsumer`` + the service's suggestion handler, in-process.

A backlog of ``BatchAuthorMatchesSuggestedV1`` events (events.md §5), 30 essays each, for a class
of 30 students, is produced to a bench-only topic; the consumer then stores them as pending
essay associations in the bench database. essays/s is measured between the first and the last
stored event (``created_at`` of their rows), so the consumer group's join delay is excluded
(and reported separately).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import time
from typing import Any
from uuid import UUID, uuid4

import asyncpg  # type: ignore[import-untyped]
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bench.procfs import CpuProbe
from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import NotificationPolicy, OutboxMessages
from class_management_service.application.suggestions import StoreSuggestions
from class_management_service.config import Settings
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.engine import create_engine_for_url
from common_core.topics import BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC
from huleedu_service_libs.clock import SystemClock
from huleedu_service_libs.kafka.consumer import ResilientConsumer
from huleedu_service_libs.kafka.metrics import PrometheusConsumerMetrics

ESSAYS_PER_EVENT = 30
_RUNS = itertools.count()
_STORED = "SELECT count(*) FROM essay_student_associations WHERE batch_id = ANY($1::uuid[])"
_SPAN = """
SELECT count(DISTINCT batch_id) AS batches,
       extract(epoch FROM max(created_at) - min(created_at)) AS span_s,
       min(created_at) AS first_at
FROM essay_student_associations WHERE batch_id = ANY($1::uuid[])
"""


def _is_transient(exc: BaseException) -> bool:
    """Connection-level database trouble is retried; the bench expects none at all."""
    return isinstance(exc, OperationalError | InterfaceError | OSError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _event(class_id: UUID, students: list[str], number: int, batch: UUID) -> bytes:
    """An NLP-shaped suggestion event: each essay names its author and one weaker candidate."""
    batch_id = str(batch)
    essays: list[dict[str, Any]] = []
    for index in range(ESSAYS_PER_EVENT):
        author = students[(number + index) % len(students)]
        other = students[(number + index + 1) % len(students)]
        essays.append(
            {
                "essay_id": str(uuid4()),
                "text_storage_id": f"txt-{number}-{index}",
                "filename": f"essay-{index}.docx",
                "suggestions": [
                    {
                        "student_id": author,
                        "student_name": "Student",
                        "student_email": None,
                        "confidence_score": 0.92,
                        "match_reasons": ["Name in header", "E-mail in text"],
                        "extraction_metadata": {},
                    },
                    {
                        "student_id": other,
                        "student_name": "Other",
                        "student_email": None,
                        "confidence_score": 0.41,
                        "match_reasons": ["Similar name"],
                        "extraction_metadata": {},
                    },
                ],
                "no_match_reason": None,
                "extraction_metadata": {},
            }
        )
    stamp = "2026-11-26T10:02:10.998877Z"
    envelope = {
        "event_id": str(uuid4()),
        "event_type": BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
        "event_timestamp": stamp,
        "source_service": "nlp_service",
        "schema_version": 1,
        "correlation_id": str(uuid4()),
        "data_schema_uri": None,
        "data": {
            "event_name": "batch.author.matches.suggested",
            "entity_id": batch_id,
            "entity_type": "batch",
            "parent_id": None,
            "timestamp": stamp,
            "batch_id": batch_id,
            "class_id": str(class_id),
            "course_code": "ENG5",
            "match_results": essays,
            "processing_summary": {"total_essays": ESSAYS_PER_EVENT},
            "processing_metadata": {},
        },
        "metadata": {},
    }
    return json.dumps(envelope).encode()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_consumer_case(
    dsn: str,
    bootstrap: str,
    class_id: UUID,
    students: list[str],
    token: str,
    probe: CpuProbe,
    *,
    events: int,
    timeout_s: float,
) -> dict[str, Any]:
    settings = Settings()
    run = next(_RUNS)
    topic = f"bench.cms.suggestions.{token}.{run}"
    dlq_topic = f"{topic}.dlq"
    batches = [uuid4() for _ in range(events)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1) for name in (topic, dlq_topic)]
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sends = [
            await producer.send(
                topic, _event(class_id, students, n, batch), key=str(batch).encode()
            )
            for n, batch in enumerate(batches)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    engine = create_engine_for_url(
        dsn, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    store = StoreSuggestions(
        PostgreSQLClassRepositoryImpl(engine),
        SystemClock(),
        OutboxMessages(
            NotificationPolicy(
                redis=settings.notifications_redis_enabled,
                kafka=settings.notifications_kafka_enabled,
            )
        ),
        MatchingRules(
            timeout_hours=settings.association_timeout_hours,
            confidence_threshold=settings.association_confidence_threshold,
        ),
    )
    consumer = ResilientConsumer(
        bootstrap_servers=bootstrap,
        topic=topic,
        group_id=f"bench-cms-{token}-{run}",
        handler=SuggestionRecordHandler(store),
        is_transient=_is_transient,
        dlq_topic=dlq_topic,
        retry_initial=settings.consumer_retry_initial_seconds,
        retry_max=settings.consumer_retry_max_seconds,
        max_attempts=settings.consumer_max_attempts,
        metrics=PrometheusConsumerMetrics(CollectorRegistry()),
        clock=SystemClock(),
    )
    connection = await asyncpg.connect(dsn)
    stop = asyncio.Event()
    expected = events * ESSAYS_PER_EVENT
    try:
        start, cpu_start, began = probe.snapshot(), _cpu_seconds(), time.time()
        task = asyncio.create_task(consumer.run(stop), name="bench-consumer")
        stored = 0
        while time.time() - began < timeout_s:
            stored = int(await connection.fetchval(_STORED, batches))
            if stored >= expected:
                break
            await asyncio.sleep(0.05)
        cpu, end = _cpu_seconds() - cpu_start, probe.snapshot()
        finished = time.time()
        stop.set()
        await asyncio.wait([task], timeout=15)
        span = await connection.fetchrow(_SPAN, batches)
    finally:
        await connection.close()
        await engine.dispose()
        await admin.delete_topics([topic, dlq_topic])
        await admin.close()
    stored_batches = int(span["batches"])
    span_s = float(span["span_s"] or 0.0)
    startup_s = span["first_at"].timestamp() - began if span["first_at"] is not None else None
    # The first event's rows mark the start; the span covers the other batches - 1 events.
    essays_per_s = (stored_batches - 1) * ESSAYS_PER_EVENT / span_s if span_s > 0 else 0.0
    return {
        "status": "ok",
        "events": events,
        "essays_per_event": ESSAYS_PER_EVENT,
        "essays_expected": expected,
        "essays_stored": stored,
        "complete": stored >= expected,
        "events_stored": stored_batches,
        "processing_span_s": round(span_s, 3),
        "essays_per_s": round(essays_per_s, 1),
        "events_per_s": round(essays_per_s / ESSAYS_PER_EVENT, 1),
        "group_join_and_first_event_s": round(startup_s, 3) if startup_s is not None else None,
        "wall_s": round(finished - began, 3),
        "cpu": probe.share(start, end, cpu),
    }
