"""Phase 1 matching end to end: NLP-shaped events through real Kafka into the running service.

Each test starts the app with its workers (``run_workers=True``) on the migrated PostgreSQL and
the real broker, in a consumer group of its own, creates the class and students through the
HTTP API, produces ``BatchAuthorMatchesSuggestedV1`` records with aiokafka and observes the
outcome over HTTP, in the database and on the dead-letter topic (matching.md, events.md §5-§7).

The suggestion and DLQ topics are shared by every test and run, so DLQ records are always
filtered by this test's consumer group and record keys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from aiokafka.structs import ConsumerRecord
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.application.matching import MatchingRules
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.metrics import ServiceMetrics
from class_management_service.protocols import ClassRepositoryProtocol
from common_core.timeutil import parse_iso
from huleedu_service_libs.clock import FixedClock
from tests.e2e.matching_fixtures import (
    CONFIRMED_TOPIC,
    DLQ_TOPIC,
    SUGGESTED_TOPIC,
    TEACHER,
    TEACHER_ID,
    Produced,
    RunningService,
    TcpProxy,
    TopicWatch,
    association_count,
    create_class,
    create_roster,
    ensure_topics,
    eventually,
    headers_of,
    inbox_rows,
    items_by_essay,
    nlp_essay,
    nlp_event,
    nlp_suggestion,
    outbox_rows,
    produce,
    review,
    review_when_stored,
    running_service,
    start_group_near_end,
    wire,
)
from tests.fixtures.infrastructure import unique_name

pytestmark = pytest.mark.integration

SUGGESTED_NOTIFICATION = "student_matches_suggested"
CONFIRMED_NOTIFICATION = "student_associations_confirmed"
DLQ_HEADERS = (
    "dlq_reason",
    "dlq_error",
    "dlq_original_topic",
    "dlq_original_partition",
    "dlq_original_offset",
    "dlq_consumer_group",
    "dlq_failed_at",
    "dlq_source_service",
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def matching_topics(kafka_bootstrap_servers: str) -> str:
    """The shared topics exist before any group subscribes or any offset is read."""
    await ensure_topics(kafka_bootstrap_servers, [SUGGESTED_TOPIC, DLQ_TOPIC, CONFIRMED_TOPIC])
    return kafka_bootstrap_servers


@pytest_asyncio.fixture(loop_scope="session")
async def group_id(matching_topics: str, request: pytest.FixtureRequest) -> str:
    """A consumer group of this test only, starting a few records before the log end: the
    service replays that tail of earlier tests' records (to the DLQ, as their classes do not
    exist here) before the test produces anything."""
    group = unique_name("cms-e2e-matching", request.node.name)
    await start_group_near_end(matching_topics, group, SUGGESTED_TOPIC)
    return group


@pytest_asyncio.fixture(loop_scope="session")
async def dlq(matching_topics: str) -> TopicWatch:
    """The DLQ from this test's start on."""
    return await TopicWatch.from_now(matching_topics, DLQ_TOPIC)


@pytest_asyncio.fixture(loop_scope="session")
async def service(
    migrated_database_url: str,
    clean_database: AsyncEngine,
    matching_topics: str,
    group_id: str,
    dlq: TopicWatch,
) -> AsyncIterator[RunningService]:
    """The service running in this test's group; the DLQ watch starts before its consumer."""
    async with running_service(migrated_database_url, matching_topics, group_id) as running:
        yield running


async def dead_letters(
    dlq: TopicWatch, group_id: str, keys: set[bytes | None]
) -> list[ConsumerRecord[bytes, bytes]]:
    """This test's DLQ records: its group's, for its keys (not the replayed records)."""
    return [
        record
        for record in await dlq.records()
        if headers_of(record).get("dlq_consumer_group") == group_id and record.key in keys
    ]


def key_of(batch_id: UUID) -> bytes:
    return str(batch_id).encode()


async def test_suggestion_event_is_stored_and_notified_once_even_when_delivered_twice(
    service: RunningService, clean_database: AsyncEngine, dlq: TopicWatch
) -> None:
    roster = await create_roster(service.client)
    batch_id, anna_essay, omar_essay, nameless_essay = uuid4(), uuid4(), uuid4(), uuid4()
    event_id, correlation_id = uuid4(), uuid4()
    value = wire(
        nlp_event(
            batch_id=batch_id,
            class_id=roster.class_id,
            event_id=event_id,
            correlation_id=correlation_id,
            essays=[
                # Best candidate listed second: the highest enrolled score wins, not the order.
                nlp_essay(
                    anna_essay,
                    [
                        nlp_suggestion(roster.lea, "Lea Berg", 0.41, ["First name in text"]),
                        nlp_suggestion(
                            roster.anna,
                            "Anna Lindqvist",
                            0.92,
                            ["Full name found in essay header", "E-mail matches roster"],
                            email="anna.lindqvist@example.com",
                        ),
                    ],
                    filename="anna_essay.docx",
                ),
                # A better-scored student outside the class is ignored.
                nlp_essay(
                    omar_essay,
                    [
                        nlp_suggestion(uuid4(), "Not Enrolled", 0.99, ["Full name in header"]),
                        nlp_suggestion(
                            roster.omar, "Omar Haddad", 0.55, ["First name found in essay text"]
                        ),
                    ],
                ),
                nlp_essay(nameless_essay, no_match_reason="No name found in essay"),
            ],
        )
    )

    # The identical bytes twice: a redelivery, as after a crash before the offset commit.
    first, second = await produce(
        service.bootstrap_servers, SUGGESTED_TOPIC, [(key_of(batch_id), value)] * 2
    )
    await service.finished(second)

    body = await review(service.client, batch_id)
    assert body is not None
    assert body["class_id"] == str(roster.class_id)
    assert body["summary"] == {
        "total": 3,
        "pending_validation": 3,
        "confirmed": 0,
        "rejected": 0,
        "timeout_confirmed": 0,
    }
    items = items_by_essay(body)
    anna, omar, nameless = (items[str(e)] for e in (anna_essay, omar_essay, nameless_essay))
    assert (anna["suggested_student_id"], anna["student_id"]) == (str(roster.anna),) * 2
    assert anna["confidence_score"] == 0.92
    assert anna["match_reasons"] == ["Full name found in essay header", "E-mail matches roster"]
    assert anna["student_person_name"]["first_name"] == "Anna"
    assert (omar["suggested_student_id"], omar["student_id"]) == (str(roster.omar),) * 2
    assert omar["confidence_score"] == 0.55
    assert (nameless["student_id"], nameless["suggested_student_id"]) == (None, None)
    assert nameless["no_match_reason"] == "No name found in essay"
    for item in items.values():
        assert item["validation_status"] == "pending_validation"
        assert (item["validation_method"], item["validated_by"]) == (None, None)

    # Exactly one of everything: rows, inbox entry (the first delivery's), notification.
    assert await association_count(clean_database) == 3
    [inbox] = await inbox_rows(clean_database)
    assert (inbox.event_id, inbox.correlation_id) == (event_id, correlation_id)
    assert (inbox.topic, inbox.kafka_partition, inbox.kafka_offset) == (
        SUGGESTED_TOPIC,
        first.partition,
        first.offset,
    )
    [notification] = await outbox_rows(clean_database, SUGGESTED_NOTIFICATION)
    assert (notification.destination, notification.event_key) == ("redis", TEACHER_ID)
    assert notification.topic == f"ws:{TEACHER_ID}"
    message = notification.event_data
    assert message["event"] == SUGGESTED_NOTIFICATION
    data = message["data"]
    assert (data["batch_id"], data["class_id"]) == (str(batch_id), str(roster.class_id))
    assert (data["essay_count"], data["matched_count"], data["unmatched_count"]) == (3, 2, 1)
    assert data["message"] == (
        "Student matches ready for review in class '9B English': 2 of 3 essays matched"
    )
    assert (data["action_required"], data["priority"]) == (True, "immediate")
    assert data["correlation_id"] == str(correlation_id)
    assert parse_iso(data["deadline"]) == parse_iso(anna["created_at"]) + timedelta(hours=24)

    assert service.consumed("processed") == 1
    assert service.consumed("duplicate") == 1
    assert await dead_letters(dlq, service.group_id, {key_of(batch_id)}) == []


async def test_poison_records_are_dead_lettered_verbatim_and_the_next_record_is_processed(
    service: RunningService, clean_database: AsyncEngine, dlq: TopicWatch
) -> None:
    roster = await create_roster(service.client)
    other_class = await create_class(service.client, "9C English")
    batch_id, next_batch_id = uuid4(), uuid4()
    key = key_of(batch_id)

    def event(
        batch: UUID = batch_id, class_id: UUID | str = roster.class_id, **changes: Any
    ) -> dict[str, Any]:
        essays = [nlp_essay(uuid4(), [nlp_suggestion(roster.anna, "Anna", 0.9, ["Name"])])]
        return {**nlp_event(batch_id=batch, class_id=class_id, essays=essays), **changes}

    without_class = event()
    del without_class["data"]["class_id"]
    valid, valid_next = event(), event(next_batch_id)
    traceparent = ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    poison_then_valid: list[tuple[str | None, bytes, tuple[tuple[str, bytes], ...]]] = [
        ("invalid_json", b'{"event_id": "051afc0b-7bac-4eb6', (traceparent,)),
        ("invalid_envelope", wire(event(event_id="not-a-uuid")), ()),
        ("unexpected_event_type", wire(event(event_type="huleedu.essay.spellcheck.v1")), ()),
        ("schema_invalid", wire(without_class), (traceparent,)),
        ("class_not_found", wire(event(class_id=uuid4())), ()),
        (None, wire(valid), ()),
        # The batch is now stored under roster.class_id; this claims it for another class.
        ("batch_class_mismatch", wire(event(class_id=other_class)), ()),
        (None, wire(valid_next), ()),
    ]

    retries_before = service.retries()
    sent = await produce(
        service.bootstrap_servers,
        SUGGESTED_TOPIC,
        [(key, value, headers) for _, value, headers in poison_then_valid],
    )
    assert len({record.partition for record in sent}) == 1  # one key, one partition
    await service.finished(sent[-1])

    expected: list[tuple[str, Produced]] = [
        (reason, record)
        for (reason, _, _), record in zip(poison_then_valid, sent, strict=True)
        if reason is not None
    ]
    letters = await eventually(
        lambda: _at_least(dlq, service.group_id, {key}, len(expected)),
        "the dead letters of this test",
    )
    assert len(letters) == len(expected)
    for letter, (reason, original) in zip(letters, expected, strict=True):
        assert (letter.key, letter.value) == (original.key, original.value)
        names = [name for name, _ in letter.headers]
        # The original headers first, unchanged, then the dlq_* headers.
        assert letter.headers[: len(original.headers)] == original.headers
        assert names[len(original.headers) :] == list(DLQ_HEADERS)
        headers = headers_of(letter)
        assert headers["dlq_reason"] == reason
        assert headers["dlq_original_topic"] == SUGGESTED_TOPIC
        assert headers["dlq_original_partition"] == str(original.partition)
        assert headers["dlq_original_offset"] == str(original.offset)
        assert headers["dlq_consumer_group"] == service.group_id
        assert headers["dlq_source_service"] == "class_management_service"
        assert headers["dlq_failed_at"].endswith("Z")
        assert 0 < len(headers["dlq_error"]) <= 1000
        assert "Traceback" not in headers["dlq_error"]

    # Each valid record after a poison one was processed; the mismatch changed nothing.
    stored = await review_when_stored(service.client, batch_id, 1)
    assert stored["class_id"] == str(roster.class_id)
    assert stored["summary"]["total"] == 1
    assert (await review_when_stored(service.client, next_batch_id, 1))["summary"]["total"] == 1
    assert {row.event_id for row in await inbox_rows(clean_database)} == {
        UUID(valid["event_id"]),
        UUID(valid_next["event_id"]),
    }
    assert len(await outbox_rows(clean_database, SUGGESTED_NOTIFICATION)) == 2
    assert service.consumed("processed") == 2
    assert service.consumed("dead_lettered") >= len(expected)
    assert service.retries() == retries_before  # poison is dead-lettered at once, not retried


async def _at_least(
    dlq: TopicWatch, group_id: str, keys: set[bytes | None], count: int
) -> list[ConsumerRecord[bytes, bytes]] | None:
    letters = await dead_letters(dlq, group_id, keys)
    return letters if len(letters) >= count else None


async def test_record_arriving_while_postgres_is_unreachable_is_processed_once_it_returns(
    migrated_database_url: str,
    clean_database: AsyncEngine,
    matching_topics: str,
    group_id: str,
    dlq: TopicWatch,
) -> None:
    target = make_url(migrated_database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.open()
    try:
        async with running_service(
            proxy.url_for(migrated_database_url), matching_topics, group_id
        ) as service:
            roster = await create_roster(service.client)
            warm_batch, late_batch, late_event = uuid4(), uuid4(), uuid4()

            def value(batch_id: UUID, event_id: UUID | None = None) -> bytes:
                essays = [
                    nlp_essay(uuid4(), [nlp_suggestion(roster.omar, "Omar", 0.8, ["Name"])]),
                    nlp_essay(uuid4(), no_match_reason="No name found in essay"),
                ]
                return wire(
                    nlp_event(
                        batch_id=batch_id,
                        class_id=roster.class_id,
                        event_id=event_id,
                        essays=essays,
                    )
                )

            # The consumer is up and its pool holds connections through the proxy.
            await produce(
                matching_topics, SUGGESTED_TOPIC, [(key_of(warm_batch), value(warm_batch))]
            )
            await review_when_stored(service.client, warm_batch, 2)

            await proxy.close()  # refuses new connections and drops the pooled ones
            retries_before = service.retries()
            [late] = await produce(
                matching_topics,
                SUGGESTED_TOPIC,
                [(key_of(late_batch), value(late_batch, late_event))],
            )

            # More retries than CONSUMER_MAX_ATTEMPTS allows an unexpected error: an outage is
            # transient, retried for as long as it lasts, never dead-lettered.
            outlasting = service.settings.consumer_max_attempts + 1

            async def retrying() -> bool:
                # The partition waits on the record: nothing at or after it is committed.
                assert await service.committed(late.partition) <= late.offset
                return service.retries() >= retries_before + outlasting

            await eventually(retrying, "the consumer to keep retrying the record")
            assert await association_count(clean_database) == 2

            await proxy.open()
            await service.finished(late)

            stored = await review_when_stored(service.client, late_batch, 2)
            assert stored["summary"]["pending_validation"] == 2
            late_inbox = [
                row for row in await inbox_rows(clean_database) if row.event_id == late_event
            ]
            assert [(row.kafka_partition, row.kafka_offset) for row in late_inbox] == [
                (late.partition, late.offset)
            ]
            assert len(await outbox_rows(clean_database, SUGGESTED_NOTIFICATION)) == 2
            assert service.consumed("processed") == 2
            assert await dead_letters(dlq, group_id, {key_of(late_batch)}) == []
    finally:
        await proxy.aclose()


async def test_confirm_twice_then_a_timeout_cycle_leaves_the_teachers_decisions_alone(
    service: RunningService, clean_database: AsyncEngine
) -> None:
    roster = await create_roster(service.client)
    published = await TopicWatch.from_now(service.bootstrap_servers, CONFIRMED_TOPIC)
    batch_id = uuid4()
    anna_essay, omar_essay, nameless_essay, undecided_essay = (uuid4() for _ in range(4))
    await produce(
        service.bootstrap_servers,
        SUGGESTED_TOPIC,
        [
            (
                key_of(batch_id),
                wire(
                    nlp_event(
                        batch_id=batch_id,
                        class_id=roster.class_id,
                        essays=[
                            nlp_essay(
                                anna_essay,
                                [nlp_suggestion(roster.anna, "Anna", 0.92, ["Full name"])],
                            ),
                            nlp_essay(
                                omar_essay,
                                [nlp_suggestion(roster.omar, "Omar", 0.55, ["First name"])],
                            ),
                            nlp_essay(nameless_essay, no_match_reason="No name found in essay"),
                            nlp_essay(
                                undecided_essay,
                                [nlp_suggestion(roster.lea, "Lea Berg", 0.81, ["Full name"])],
                            ),
                        ],
                    )
                ),
            )
        ],
    )
    await review_when_stored(service.client, batch_id, 4)

    path = f"/v1/batches/{batch_id}/student-associations/confirm"
    correlation_id = str(uuid4())
    decisions = {
        "associations": [
            {"essay_id": str(anna_essay), "confirmed": True},
            {"essay_id": str(omar_essay), "student_id": str(roster.lea), "confirmed": True},
            {"essay_id": str(nameless_essay), "confirmed": False},
        ]
    }
    headers = {**TEACHER, "X-Correlation-ID": correlation_id}
    first = await service.client.post(path, json=decisions, headers=headers)
    assert first.status_code == 200, await first.get_json()
    assert await first.get_json() == {
        "status": "confirmed",
        "batch_id": str(batch_id),
        "associations_confirmed": 2,
        "associations_rejected": 1,
        "associations_unchanged": 0,
        "pending_remaining": 1,
    }
    again = await service.client.post(path, json=decisions, headers=TEACHER)
    assert again.status_code == 200, await again.get_json()
    assert await again.get_json() == {
        "status": "confirmed",
        "batch_id": str(batch_id),
        "associations_confirmed": 0,
        "associations_rejected": 0,
        "associations_unchanged": 3,
        "pending_remaining": 1,
    }

    # One event for the first call only, carrying the teacher's decisions.
    [teacher_event] = await outbox_rows(clean_database, CONFIRMED_TOPIC)
    assert teacher_event.event_key == str(batch_id)
    envelope = teacher_event.event_data
    assert envelope["correlation_id"] == correlation_id
    data = envelope["data"]
    assert data["timeout_triggered"] is False
    assert data["validation_summary"] == {"total_associations": 3, "confirmed": 2, "rejected": 1}
    expected = sorted(
        [(str(anna_essay), str(roster.anna), 0.92), (str(omar_essay), str(roster.lea), 1.0)]
    )
    assert [
        (item["essay_id"], item["student_id"], item["confidence_score"])
        for item in data["associations"]
    ] == expected
    assert {(item["validation_method"], item["validated_by"]) for item in data["associations"]} == {
        ("human", TEACHER_ID)
    }
    assert len(await outbox_rows(clean_database, CONFIRMED_NOTIFICATION)) == 1

    reviewed = await review(service.client, batch_id)
    assert reviewed is not None
    decided = items_by_essay(reviewed)
    assert _decision(decided[str(anna_essay)]) == ("confirmed", str(roster.anna), "human")
    assert _decision(decided[str(omar_essay)]) == ("confirmed", str(roster.lea), "human")
    assert decided[str(omar_essay)]["suggested_student_id"] == str(roster.omar)
    assert _decision(decided[str(nameless_essay)]) == ("rejected", None, "human")
    assert {decided[str(e)]["validated_by"] for e in (anna_essay, omar_essay, nameless_essay)} == {
        TEACHER_ID
    }
    assert _decision(decided[str(undecided_essay)]) == ("pending_validation", str(roster.lea), None)

    # A monitor cycle a day and an hour later decides only the row nobody decided.
    async with service.container() as scope:
        monitor = TimeoutMonitor(
            await scope.get(ClassRepositoryProtocol),
            FixedClock(datetime.now(UTC) + timedelta(hours=25)),
            await scope.get(OutboxMessages),
            await scope.get(MatchingRules),
            interval_seconds=3600,
            metrics=await scope.get(ServiceMetrics),
        )
        report = await monitor.run_cycle()
    assert (report.batches_decided, report.rows_decided, report.batches_failed) == (1, 1, 0)

    after = await review(service.client, batch_id)
    assert after is not None
    final = items_by_essay(after)
    for essay_id in (anna_essay, omar_essay, nameless_essay):
        assert final[str(essay_id)] == decided[str(essay_id)]
    timed_out = final[str(undecided_essay)]
    assert _decision(timed_out) == ("timeout_confirmed", str(roster.lea), "timeout")
    assert timed_out["validated_by"] == "SYSTEM_TIMEOUT"
    assert after["summary"] == {
        "total": 4,
        "pending_validation": 0,
        "confirmed": 2,
        "rejected": 1,
        "timeout_confirmed": 1,
    }
    first_event, timeout_event = await outbox_rows(clean_database, CONFIRMED_TOPIC)
    assert first_event.id == teacher_event.id
    timeout_data = timeout_event.event_data["data"]
    assert timeout_data["timeout_triggered"] is True
    assert timeout_data["validation_summary"] == {
        "total_associations": 1,
        "confirmed": 1,
        "rejected": 0,
    }
    assert [(item["essay_id"], item["student_id"]) for item in timeout_data["associations"]] == [
        (str(undecided_essay), str(roster.lea))
    ]

    # The Kafka relay publishes exactly these two events for the batch.
    async def both_published() -> set[str] | None:
        ids = {
            json.loads(record.value)["event_id"]
            for record in await published.records()
            if record.key == key_of(batch_id)
        }
        return ids if len(ids) >= 2 else None

    assert await eventually(both_published, "the confirmation events on Kafka") == {
        first_event.event_data["event_id"],
        timeout_event.event_data["event_id"],
    }


def _decision(item: dict[str, Any]) -> tuple[str, str | None, str | None]:
    return item["validation_status"], item["student_id"], item["validation_method"]
