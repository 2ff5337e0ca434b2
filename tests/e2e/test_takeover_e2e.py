"""After `migrate` took over the previous database, the service runs on it as if it had always
been its own: the previous pending events reach Kafka once, the timeout monitor decides only
what is overdue, new writes work, and the consumer group resumes at its committed offsets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.implementations.postgres.migrations import migrate_database
from class_management_service.implementations.postgres.takeover import TakeoverOptions
from class_management_service.metrics import ServiceMetrics
from class_management_service.protocols import ClassRepositoryProtocol
from huleedu_service_libs.clock import SystemClock
from tests.e2e.matching_fixtures import (
    SUGGESTED_TOPIC,
    eventually,
    nlp_essay,
    nlp_event,
    nlp_suggestion,
    produce,
    running_service,
    start_group_near_end,
    wire,
)
from tests.e2e.outage_support import appended, watch_topics
from tests.fixtures.database import asyncpg_dsn
from tests.fixtures.infrastructure import unique_name
from tests.fixtures.previous_service import (
    PreviousDatabase,
    previous_database,
)

pytestmark = pytest.mark.integration

PUBLISHED_TOPICS = (
    "huleedu.class.created.v1",
    "huleedu.class.updated.v1",
    "huleedu.class.student.created.v1",
    "huleedu.class.student.associations.confirmed.v1",
)


async def _rows(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


@pytest_asyncio.fixture(loop_scope="session")
async def converted(database_url: str) -> AsyncIterator[tuple[str, PreviousDatabase]]:
    """The previous database, filled, then taken over by `migrate`."""
    async with previous_database(database_url, prefix="cms_prev_e2e") as (url, made):
        await migrate_database(url, TakeoverOptions())
        yield url, made


async def test_the_service_runs_on_the_taken_over_database(
    converted: tuple[str, PreviousDatabase], kafka_bootstrap_servers: str
) -> None:
    url, made = converted
    watches = await watch_topics(kafka_bootstrap_servers, PUBLISHED_TOPICS)
    stored = {
        row[0]: (row[1], row[2], json.loads(row[3]))
        for row in await _rows(
            url,
            "SELECT seq, topic, event_key, event_data::text FROM event_outbox"
            " WHERE status = 'pending'",
        )
    }
    group = unique_name("cms-takeover", "runs")
    await start_group_near_end(kafka_bootstrap_servers, group, SUGGESTED_TOPIC, 0)
    async with running_service(url, kafka_bootstrap_servers, group) as service:

        async def published() -> bool:
            rows = await _rows(url, "SELECT count(*) FROM event_outbox WHERE status = 'pending'")
            return rows[0][0] == 0

        await eventually(published, "the previous pending rows published")
        records = await appended(watches)
        ours = {
            envelope["event_id"]: (topic, key, envelope) for topic, key, envelope in stored.values()
        }
        arrived = [r for r in records if json.loads(r.value)["event_id"] in ours]
        # Once each, on its topic, keyed by its aggregate, carrying the stored envelope.
        assert sorted(json.loads(r.value)["event_id"] for r in arrived) == sorted(ours)
        for record in arrived:
            topic, key, envelope = ours[json.loads(record.value)["event_id"]]
            assert (record.topic, record.key.decode()) == (topic, key)
            assert json.loads(record.value) == envelope
        # One class's two renames, on one partition, in the order they were written.
        renames = sorted(
            (r for r in arrived if r.topic == "huleedu.class.updated.v1"), key=lambda r: r.offset
        )
        assert [json.loads(r.value)["data"]["class_designation"][-5:] for r in renames] == [
            "rev 1",
            "rev 2",
        ]
        # The row the previous relay had given up on stays parked.
        parked = await _rows(url, "SELECT count(*) FROM event_outbox WHERE status = 'failed'")
        assert parked[0][0] == 1

        # Each teacher sees their classes; new writes work.
        listed = await service.client.get("/v1/classes", headers={"X-User-ID": "teacher-astrid"})
        mine = {c["id"] for c in (await listed.get_json())["classes"]}
        assert mine == {cid for cid, c in made.classes.items() if c["owner"] == "teacher-astrid"}
        created = await service.client.post(
            "/v1/classes",
            json={"name": "After the cutover", "course_codes": ["SV2"]},
            headers={"X-User-ID": "teacher-astrid"},
        )
        assert created.status_code == 201

        # The monitor decides the overdue pending row once and leaves the others.
        async def monitor_cycle() -> tuple[int, int]:
            async with service.container() as scope:
                monitor = TimeoutMonitor(
                    await scope.get(ClassRepositoryProtocol),
                    SystemClock(),
                    await scope.get(OutboxMessages),
                    await scope.get(MatchingRules),
                    interval_seconds=3600,
                    metrics=await scope.get(ServiceMetrics),
                )
                report = await monitor.run_cycle()
            return report.batches_decided, report.rows_decided

        assert await monitor_cycle() == (1, 1)
        assert await monitor_cycle() == (0, 0)
    statuses = dict(
        await _rows(url, "SELECT essay_id::text, validation_status FROM essay_student_associations")
    )
    assert statuses[made.ids["overdue"]] == "timeout_confirmed"
    assert statuses[made.ids["recent"]] == "pending_validation"
    assert statuses[made.ids["teacher_confirmed"]] == "confirmed"
    assert statuses[made.ids["timeout_kept"]] == "timeout_confirmed"


async def test_the_consumer_group_resumes_at_the_previous_services_offsets(
    converted: tuple[str, PreviousDatabase], kafka_bootstrap_servers: str
) -> None:
    url, made = converted
    class_id, anna = made.ids["astrid_class"], made.ids["anna"]
    group = unique_name("cms-takeover", "group")
    await start_group_near_end(kafka_bootstrap_servers, group, SUGGESTED_TOPIC, 0)

    def suggestion(essay: str) -> bytes:
        batch = uuid4()
        event = nlp_event(
            batch_id=batch,
            class_id=class_id,
            essays=[nlp_essay(essay, [nlp_suggestion(anna, "Anna Lindqvist", 0.9, ["name"])])],
        )
        return wire(event)

    before, after = uuid4(), uuid4()
    [handled] = await produce(
        kafka_bootstrap_servers, SUGGESTED_TOPIC, [(None, suggestion(before))]
    )
    # The previous service's consumer, in the same group, handled and committed it.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(SUGGESTED_TOPIC, handled.partition)
        consumer.assign([partition])
        await consumer.commit({partition: handled.offset + 1})
    finally:
        await consumer.stop()
    # Produced while no service ran (between stopping the old one and starting this one).
    await produce(kafka_bootstrap_servers, SUGGESTED_TOPIC, [(None, suggestion(after))])

    async with running_service(url, kafka_bootstrap_servers, group):
        pass  # yields once the group has caught up with the topic's end

    stored = {
        row[0] for row in await _rows(url, "SELECT essay_id::text FROM essay_student_associations")
    }
    assert str(after) in stored
    assert str(before) not in stored
