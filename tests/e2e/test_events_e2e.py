"""Published events and teacher notifications end to end (events.md, http-api.md §3 and §12,
data-model.md §7): writes through the HTTP API of the service running with its workers, records
read back from the real Kafka by a consumer in a fresh group, messages from the real Redis.

Topics and channels are shared with other tests and runs, so every test has a teacher of its own
and finds its Kafka records by key. The outage tests stop the shared Kafka or Redis with
``scripts/services.sh`` and always start it again.

Not repeated here: that a failure injected after the outbox insert leaves neither the change nor
the rows is covered for every write endpoint by ``test_a_failure_after_the_outbox_insert_leaves_
nothing`` in ``tests/integration/http/test_outbox_rows.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID, uuid4

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from common_core.topics import (
    CLASS_CREATED_TOPIC,
    CLASS_UPDATED_TOPIC,
    SERVICE_NAME,
    STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC,
    STUDENT_CREATED_TOPIC,
    STUDENT_UPDATED_TOPIC,
    TEACHER_NOTIFICATION_REQUESTED_TOPIC,
    teacher_channel,
)
from huleedu_service_libs.kafka.handling import HandlingResult
from tests.e2e.events_support import (
    ChannelSubscriber,
    CollectorFactory,
    KafkaCollector,
    Received,
    RunningService,
    ServiceFactory,
    eventually,
    execute,
    outage,
    outbox_rows,
)
from tests.fixtures.suggestions import envelope as suggestion_envelope
from tests.fixtures.suggestions import essay, record, suggestion
from tests.integration.http.support import is_lower_uuid, is_timestamp_z

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.e2e.events_fixtures"]

ENVELOPE_KEYS = {
    "event_id",
    "event_type",
    "event_timestamp",
    "source_service",
    "schema_version",
    "correlation_id",
    "data_schema_uri",
    "data",
    "metadata",
}
HEADER_NAMES = ["correlation_id", "event_id", "event_type", "source_service"]
OUTAGE_SECONDS = 30.0
OUTAGE_CLASSES = 20
RENAMES_PER_CLASS = 9  # 20 creates + 180 updates = 200 writes, one event each


def new_correlation_id() -> str:
    return str(uuid4())


def caller(teacher_id: str, correlation_id: str | None = None) -> dict[str, str]:
    headers = {"X-User-ID": teacher_id}
    if correlation_id is not None:
        headers["X-Correlation-ID"] = correlation_id
    return headers


async def body_of(response: Any, status: int, correlation_id: str | None = None) -> Any:
    """The JSON body after checking the status and, when given, the echoed correlation id."""
    body = await response.get_json()
    assert response.status_code == status, body
    if correlation_id is not None:
        assert response.headers["X-Correlation-ID"] == correlation_id.lower()
    return body


def envelope_of(
    record: Received,
    *,
    topic: str,
    key: str,
    correlation_id: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The record's envelope after checking topic, key, the four headers and events.md §2."""
    assert (record.topic, record.key) == (topic, key)
    envelope = record.value
    assert set(envelope) == ENVELOPE_KEYS, sorted(envelope)
    assert sorted(name for name, _ in record.headers) == HEADER_NAMES
    assert dict(record.headers) == {name: envelope[name] for name in HEADER_NAMES}
    assert is_lower_uuid(envelope["event_id"])
    assert envelope["event_type"] == topic
    assert is_timestamp_z(envelope["event_timestamp"]), envelope["event_timestamp"]
    assert envelope["source_service"] == SERVICE_NAME
    assert envelope["schema_version"] == 1
    assert envelope["correlation_id"] == correlation_id
    assert envelope["data_schema_uri"] is None
    assert envelope["metadata"] == metadata
    assert isinstance(envelope["data"], dict)
    return envelope


def notification(
    event: str, payload: dict[str, Any], *, priority: str, correlation_id: str, timestamp: str
) -> dict[str, Any]:
    """The events.md §7.2 message of a ``class_management`` notification (no batch, deadline)."""
    return {
        "event": event,
        "data": {
            **payload,
            "category": "class_management",
            "priority": priority,
            "action_required": False,
            "deadline": None,
            "batch_id": None,
            "class_id": payload["class_id"],
            "correlation_id": correlation_id,
            "timestamp": timestamp,
        },
    }


async def create_class(client: Client, teacher_id: str, name: str, cid: str | None = None) -> str:
    response = await client.post(
        "/v1/classes/",
        json={"name": name, "course_codes": ["ENG5"]},
        headers=caller(teacher_id, cid),
    )
    return str((await body_of(response, 201, cid))["id"])


async def create_student(
    client: Client,
    teacher_id: str,
    first: str,
    last: str,
    *,
    email: str | None = None,
    class_ids: list[str] | None = None,
    cid: str | None = None,
) -> str:
    response = await client.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": first, "last_name": last},
            "email": email,
            "class_ids": class_ids,
        },
        headers=caller(teacher_id, cid),
    )
    return str((await body_of(response, 201, cid))["id"])


# --- every event type, with its notification ----------------------------------------------


async def test_class_create_and_update_reach_kafka_and_the_teacher_channel(
    events_service: RunningService, kafka_events: KafkaCollector, teacher_id: str, redis_url: str
) -> None:
    client = events_service.client
    async with ChannelSubscriber(redis_url, teacher_channel(teacher_id)) as inbox:
        create_cid = new_correlation_id()
        class_id = await create_class(client, teacher_id, "9B English", create_cid)
        update_cid = new_correlation_id()
        response = await client.put(
            f"/v1/classes/{class_id}",
            json={"name": "9B English (spring)"},
            # Upper case on the wire; the effective id is its lower-case form (http-api.md §3).
            headers=caller(teacher_id, update_cid.upper()),
        )
        await body_of(response, 200, update_cid)

        [created] = await kafka_events.wait_for(CLASS_CREATED_TOPIC, class_id)
        [updated] = await kafka_events.wait_for(CLASS_UPDATED_TOPIC, class_id)
        messages = await inbox.wait_for(2)

    created_envelope = envelope_of(
        created, topic=CLASS_CREATED_TOPIC, key=class_id, correlation_id=create_cid
    )
    assert created_envelope["data"] == {
        "event": "class.created",
        "class_id": class_id,
        "class_designation": "9B English",
        "course_codes": ["ENG5"],
        "user_id": teacher_id,
        "correlation_id": create_cid,
        "timestamp": created_envelope["event_timestamp"],
    }
    updated_envelope = envelope_of(
        updated, topic=CLASS_UPDATED_TOPIC, key=class_id, correlation_id=update_cid
    )
    assert updated_envelope["data"] == {
        "event": "class.updated",
        "class_id": class_id,
        "class_designation": "9B English (spring)",
        "course_codes": ["ENG5"],
        "user_id": teacher_id,
        "correlation_id": update_cid,
        "timestamp": updated_envelope["event_timestamp"],
    }
    assert created_envelope["event_id"] != updated_envelope["event_id"]

    # Exactly these two messages, in write order, stamped like the events of their transaction.
    assert (
        inbox.messages
        == messages
        == [
            notification(
                "class_created",
                {
                    "class_id": class_id,
                    "class_designation": "9B English",
                    "course_codes": ["ENG5"],
                    "message": "Class '9B English' created successfully",
                },
                priority="standard",
                correlation_id=create_cid,
                timestamp=created_envelope["event_timestamp"],
            ),
            notification(
                "class_updated",
                {
                    "class_id": class_id,
                    "class_designation": "9B English (spring)",
                    "course_codes": ["ENG5"],
                    "message": "Class '9B English (spring)' updated successfully",
                },
                priority="standard",
                correlation_id=update_cid,
                timestamp=updated_envelope["event_timestamp"],
            ),
        ]
    )


async def test_student_writes_and_bulk_import_reach_kafka_and_the_teacher_channel(
    events_service: RunningService, kafka_events: KafkaCollector, teacher_id: str, redis_url: str
) -> None:
    client, engine = events_service.client, events_service.engine
    async with ChannelSubscriber(redis_url, teacher_channel(teacher_id)) as inbox:
        english = await create_class(client, teacher_id, "9B English")
        swedish = await create_class(client, teacher_id, "9C Svenska")

        lea_cid = new_correlation_id()
        lea = await create_student(
            client, teacher_id, "Lea", "Berg", email="lea.berg@example.com", cid=lea_cid
        )
        anna_cid = new_correlation_id()
        anna = await create_student(
            client,
            teacher_id,
            "Anna",
            "Lindqvist",
            email="Anna.Lindqvist@Example.com",
            class_ids=[english],
            cid=anna_cid,
        )
        update_cid = new_correlation_id()
        response = await client.put(
            f"/v1/classes/students/{anna}",
            json={"email": "anna.lindqvist@example.se", "add_class_ids": [swedish]},
            headers=caller(teacher_id, update_cid),
        )
        await body_of(response, 200, update_cid)

        # Lea is enrolled (names kept), Omar created without e-mail, Anna already enrolled.
        bulk_cid = new_correlation_id()
        response = await client.post(
            f"/v1/classes/{swedish}/students/bulk",
            json=[
                {"first_name": "Leah", "last_name": "Bergström", "email": "LEA.BERG@example.com"},
                {"first_name": "Omar", "last_name": "Haddad"},
                {"first_name": "Anna", "last_name": "L", "email": "anna.lindqvist@example.se"},
            ],
            headers=caller(teacher_id, bulk_cid),
        )
        imported = await body_of(response, 200, bulk_cid)
        assert imported["summary"] == {
            "total_rows": 3,
            "created": 1,
            "enrolled": 1,
            "already_enrolled": 1,
        }
        assert [row["outcome"] for row in imported["results"]] == [
            "enrolled",
            "created",
            "already_enrolled",
        ]
        assert imported["results"][0]["student_id"] == lea
        omar = imported["results"][1]["student_id"]

        # A later event of Anna's key: once it is on the topic, anything the import had
        # (wrongly) emitted for Anna would be there too.
        leave_cid = new_correlation_id()
        response = await client.put(
            f"/v1/classes/students/{anna}",
            json={"remove_class_ids": [english]},
            headers=caller(teacher_id, leave_cid),
        )
        await body_of(response, 200, leave_cid)

        [lea_created] = await kafka_events.wait_for(STUDENT_CREATED_TOPIC, lea)
        [anna_created] = await kafka_events.wait_for(STUDENT_CREATED_TOPIC, anna)
        [omar_created] = await kafka_events.wait_for(STUDENT_CREATED_TOPIC, omar)
        [lea_enrolled] = await kafka_events.wait_for(STUDENT_UPDATED_TOPIC, lea)
        anna_updated, anna_left = await kafka_events.wait_for(STUDENT_UPDATED_TOPIC, anna, 2)
        # Two class_created, then student_added_to_class for each class Anna joined.
        messages = await inbox.wait_for(4)

    def created_payload(envelope: dict[str, Any], **values: Any) -> dict[str, Any]:
        return {
            "event": "student.created",
            "created_by_user_id": teacher_id,
            "correlation_id": envelope["correlation_id"],
            "timestamp": envelope["event_timestamp"],
            **values,
        }

    def updated_payload(envelope: dict[str, Any], **values: Any) -> dict[str, Any]:
        return {
            "event": "student.updated",
            "updated_by_user_id": teacher_id,
            "correlation_id": envelope["correlation_id"],
            "timestamp": envelope["event_timestamp"],
            **values,
        }

    created = envelope_of(lea_created, topic=STUDENT_CREATED_TOPIC, key=lea, correlation_id=lea_cid)
    assert created["data"] == created_payload(
        created,
        student_id=lea,
        first_name="Lea",
        last_name="Berg",
        student_email="lea.berg@example.com",
        class_ids=[],
    )
    anna_created_envelope = envelope_of(
        anna_created, topic=STUDENT_CREATED_TOPIC, key=anna, correlation_id=anna_cid
    )
    assert anna_created_envelope["data"] == created_payload(
        anna_created_envelope,
        student_id=anna,
        first_name="Anna",
        last_name="Lindqvist",
        student_email="anna.lindqvist@example.com",
        class_ids=[english],
    )
    anna_updated_envelope = envelope_of(
        anna_updated, topic=STUDENT_UPDATED_TOPIC, key=anna, correlation_id=update_cid
    )
    assert anna_updated_envelope["data"] == updated_payload(
        anna_updated_envelope,
        student_id=anna,
        first_name="Anna",
        last_name="Lindqvist",
        student_email="anna.lindqvist@example.se",
        add_class_ids=[swedish],
        remove_class_ids=None,
    )
    # The bulk import: StudentUpdatedV1 for the enrolled existing student (current names) ...
    updated = envelope_of(
        lea_enrolled, topic=STUDENT_UPDATED_TOPIC, key=lea, correlation_id=bulk_cid
    )
    assert updated["data"] == updated_payload(
        updated,
        student_id=lea,
        first_name="Lea",
        last_name="Berg",
        student_email="lea.berg@example.com",
        add_class_ids=[swedish],
        remove_class_ids=None,
    )
    # ... StudentCreatedV1 for the new one (required-nullable e-mail present as null) ...
    created = envelope_of(
        omar_created, topic=STUDENT_CREATED_TOPIC, key=omar, correlation_id=bulk_cid
    )
    assert created["data"] == created_payload(
        created,
        student_id=omar,
        first_name="Omar",
        last_name="Haddad",
        student_email=None,
        class_ids=[swedish],
    )
    # ... and nothing for the already enrolled one: Anna's next event is the later write.
    left = envelope_of(anna_left, topic=STUDENT_UPDATED_TOPIC, key=anna, correlation_id=leave_cid)
    assert left["data"] == updated_payload(
        left,
        student_id=anna,
        first_name="Anna",
        last_name="Lindqvist",
        student_email="anna.lindqvist@example.se",
        add_class_ids=None,
        remove_class_ids=[english],
    )
    assert len(kafka_events.distinct(STUDENT_UPDATED_TOPIC, anna)) == 2
    assert len(kafka_events.distinct(STUDENT_CREATED_TOPIC, anna)) == 1

    # Notifications: only for classes joined through the single-student endpoints.
    redis_rows = await outbox_rows(
        engine, "destination = 'redis' AND event_key = :teacher", teacher=teacher_id
    )
    assert [row["event_type"] for row in redis_rows] == [
        "class_created",
        "class_created",
        "student_added_to_class",
        "student_added_to_class",
    ]
    assert inbox.messages == messages
    assert messages[2:] == [
        notification(
            "student_added_to_class",
            {
                "student_id": anna,
                "student_name": "Anna Lindqvist",
                "class_id": english,
                "class_designation": "9B English",
                "message": "Student 'Anna Lindqvist' added to class '9B English'",
            },
            priority="low",
            correlation_id=anna_cid,
            timestamp=anna_created_envelope["event_timestamp"],
        ),
        notification(
            "student_added_to_class",
            {
                "student_id": anna,
                "student_name": "Anna Lindqvist",
                "class_id": swedish,
                "class_designation": "9C Svenska",
                "message": "Student 'Anna Lindqvist' added to class '9C Svenska'",
            },
            priority="low",
            correlation_id=update_cid,
            timestamp=anna_updated_envelope["event_timestamp"],
        ),
    ]


async def test_teacher_confirmation_reaches_kafka_with_the_batch_metadata(
    events_service: RunningService, kafka_events: KafkaCollector, teacher_id: str, redis_url: str
) -> None:
    client = events_service.client
    class_id = await create_class(client, teacher_id, "9B English")
    anna = await create_student(client, teacher_id, "Anna", "Lindqvist", class_ids=[class_id])
    omar = await create_student(client, teacher_id, "Omar", "Haddad", class_ids=[class_id])
    lea = await create_student(client, teacher_id, "Lea", "Berg", class_ids=[class_id])

    # The association rows, stored by the service's own suggestion handler (matching.md §2).
    batch, anna_essay_id, omar_essay_id, nameless_essay_id = (uuid4() for _ in range(4))
    suggested = suggestion_envelope(
        batch_id=batch,
        class_id=UUID(class_id),
        essays=[
            essay(anna_essay_id, [suggestion(anna, 0.92)]),
            essay(omar_essay_id, [suggestion(omar, 0.55)]),
            essay(nameless_essay_id, no_match_reason="No name found in essay"),
        ],
    )
    batch_id, anna_essay, omar_essay, nameless_essay = (
        str(value) for value in (batch, anna_essay_id, omar_essay_id, nameless_essay_id)
    )
    async with events_service.container() as scope:
        handler = await scope.get(SuggestionRecordHandler)
        assert await handler(record(suggested)) is HandlingResult.PROCESSED

    async with ChannelSubscriber(redis_url, teacher_channel(teacher_id)) as inbox:
        confirm_cid = new_correlation_id()
        response = await client.post(
            f"/v1/batches/{batch_id}/student-associations/confirm",
            json={
                "associations": [
                    {"essay_id": anna_essay, "confirmed": True},
                    {"essay_id": omar_essay, "student_id": lea, "confirmed": True},
                    {"essay_id": nameless_essay, "confirmed": False},
                ]
            },
            headers=caller(teacher_id, confirm_cid),
        )
        assert await body_of(response, 200, confirm_cid) == {
            "status": "confirmed",
            "batch_id": batch_id,
            "associations_confirmed": 2,
            "associations_rejected": 1,
            "associations_unchanged": 0,
            "pending_remaining": 0,
        }
        [confirmed] = await kafka_events.wait_for(STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC, batch_id)
        # The creates above notified this channel too, and their messages may still be on
        # their way when the subscription starts.
        [message] = await inbox.wait_for(
            1, where=lambda m: m["event"] == "student_associations_confirmed"
        )

    response = await client.get(
        f"/v1/batches/{batch_id}/student-associations", headers=caller(teacher_id)
    )
    review = await body_of(response, 200)
    validated_at = {item["essay_id"]: item["validated_at"] for item in review["associations"]}

    envelope = envelope_of(
        confirmed,
        topic=STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC,
        key=batch_id,
        correlation_id=confirm_cid,
        metadata={"batch_id": batch_id, "class_id": class_id, "partition_key": batch_id},
    )
    decided = {
        # The stored suggestion confirmed: its score; another student chosen: 1.0.
        anna_essay: (anna, 0.92),
        omar_essay: (lea, 1.0),
    }
    associations = [
        {
            "essay_id": essay_id,
            "student_id": student_id,
            "confidence_score": score,
            "validation_method": "human",
            "validated_by": teacher_id,
            "validated_at": validated_at[essay_id],
        }
        for essay_id, (student_id, score) in sorted(decided.items())
    ]
    assert envelope["data"] == {
        "event_name": "student.associations.confirmed",
        "entity_id": None,
        "entity_type": None,
        "parent_id": None,
        "timestamp": envelope["event_timestamp"],
        "batch_id": batch_id,
        "class_id": class_id,
        "course_code": "ENG5",
        "associations": associations,
        "timeout_triggered": False,
        "validation_summary": {"total_associations": 3, "confirmed": 2, "rejected": 1},
    }
    assert all(is_timestamp_z(item["validated_at"]) for item in associations)

    assert message == {
        "event": "student_associations_confirmed",
        "data": {
            "batch_id": batch_id,
            "class_id": class_id,
            "confirmed_count": 2,
            "rejected_count": 1,
            "associations": [
                {key: item[key] for key in ("essay_id", "student_id", "validation_method")}
                | {"confidence_score": item["confidence_score"]}
                for item in associations
            ],
            "validation_summary": {"total_associations": 3, "confirmed": 2, "rejected": 1},
            "timeout_triggered": False,
            "message": "2 student associations confirmed for class '9B English'",
            "category": "student_workflow",
            "priority": "high",
            "action_required": False,
            "deadline": None,
            "correlation_id": confirm_cid,
            "timestamp": envelope["event_timestamp"],
        },
    }


async def test_kafka_notifications_arrive_alongside_the_redis_ones_when_enabled(
    start_service: ServiceFactory, kafka_events: KafkaCollector, teacher_id: str, redis_url: str
) -> None:
    async with (
        start_service(notifications_kafka_enabled=True) as service,
        ChannelSubscriber(redis_url, teacher_channel(teacher_id)) as inbox,
    ):
        class_cid = new_correlation_id()
        class_id = await create_class(service.client, teacher_id, "9B English", class_cid)
        student_cid = new_correlation_id()
        anna = await create_student(
            service.client, teacher_id, "Anna", "Lindqvist", class_ids=[class_id], cid=student_cid
        )
        requested = await kafka_events.wait_for(TEACHER_NOTIFICATION_REQUESTED_TOPIC, teacher_id, 2)
        messages = await inbox.wait_for(2)

    payloads: list[dict[str, Any]] = [
        {
            "class_id": class_id,
            "class_designation": "9B English",
            "course_codes": ["ENG5"],
            "message": "Class '9B English' created successfully",
        },
        {
            "student_id": anna,
            "student_name": "Anna Lindqvist",
            "class_id": class_id,
            "class_designation": "9B English",
            "message": "Student 'Anna Lindqvist' added to class '9B English'",
        },
    ]
    kinds = [
        ("class_created", "standard", class_cid),
        ("student_added_to_class", "low", student_cid),
    ]
    for event_record, message, payload, (kind, priority, cid) in zip(
        requested, messages, payloads, kinds, strict=True
    ):
        envelope = envelope_of(
            event_record,
            topic=TEACHER_NOTIFICATION_REQUESTED_TOPIC,
            key=teacher_id,
            correlation_id=cid,
        )
        timestamp = envelope["event_timestamp"]
        assert envelope["data"] == {
            "teacher_id": teacher_id,
            "notification_type": kind,
            "category": "class_management",
            "priority": priority,
            "payload": payload,
            "action_required": False,
            "deadline_timestamp": None,
            "correlation_id": cid,
            "batch_id": None,
            "class_id": class_id,
            "timestamp": timestamp,
        }
        # The same notification on Redis: same content, timestamp and correlation id.
        assert message == notification(
            kind, payload, priority=priority, correlation_id=cid, timestamp=timestamp
        )


# --- outages ------------------------------------------------------------------------------


async def _count(engine: AsyncEngine, where: str, **params: Any) -> int:
    return len(await outbox_rows(engine, where, **params))


async def test_a_30_second_kafka_outage_loses_no_event_and_keeps_the_order_per_class(
    events_service: RunningService,
    kafka_reader: CollectorFactory,
    teacher_id: str,
) -> None:
    client, engine = events_service.client, events_service.engine

    # A first event makes the relay's producer live, so the outage hits an open connection.
    await create_class(client, teacher_id, "Warm-up")
    await eventually(
        lambda: _count(engine, "destination = 'kafka' AND status = 'published'"),
        "the warm-up event to be published",
    )
    warm_up = await outbox_rows(engine, "destination = 'kafka'")

    async def write_one_class(n: int) -> tuple[str, list[str]]:
        """Create a class and rename it, one request after the other; the correlation ids."""
        cids = [new_correlation_id() for _ in range(1 + RENAMES_PER_CLASS)]
        class_id = await create_class(client, teacher_id, f"Class {n:02d}", cids[0])
        for revision, cid in enumerate(cids[1:], start=1):
            response = await client.put(
                f"/v1/classes/{class_id}",
                json={"name": f"Class {n:02d} rev {revision}"},
                headers=caller(teacher_id, cid),
            )
            await body_of(response, 200, cid)
        return class_id, cids

    ours = "destination = 'kafka' AND seq > :warm_up"
    async with outage("kafka"):
        down_at = time.monotonic()
        # 200 writes, the classes concurrently: every request succeeds with Kafka down.
        written = dict(await asyncio.gather(*(write_one_class(n) for n in range(OUTAGE_CLASSES))))
        writes_took = time.monotonic() - down_at
        # Kafka stays down for 30 s; meanwhile none of the rows can have been published.
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            published = await _count(
                engine, f"{ours} AND status <> 'pending'", warm_up=warm_up[-1]["seq"]
            )
            assert published == 0, "an event was published while Kafka was down"
            await asyncio.sleep(0.5)
        rows = await outbox_rows(engine, ours, warm_up=warm_up[-1]["seq"])
        assert len(rows) == OUTAGE_CLASSES * (1 + RENAMES_PER_CLASS)
        assert {row["status"] for row in rows} == {"pending"}

    up_at = time.monotonic()

    async def all_published() -> bool:
        done = f"{ours} AND status = 'published'"
        return await _count(engine, done, warm_up=warm_up[-1]["seq"]) == len(rows)

    await eventually(
        all_published, "every row written during the outage to be published", within=120
    )
    recovered_in = time.monotonic() - up_at
    assert await _count(engine, "status = 'failed'") == 0
    print(f"200 writes took {writes_took:.1f} s; published {recovered_in:.1f} s after `up kafka`")

    seq_of = {row["event_data"]["event_id"]: row["seq"] for row in rows}
    async with kafka_reader() as kafka_events:
        received: set[str] = set()
        for class_id, cids in written.items():
            [created] = await kafka_events.wait_for(CLASS_CREATED_TOPIC, class_id, within=60)
            updates = await kafka_events.wait_for(
                CLASS_UPDATED_TOPIC, class_id, RENAMES_PER_CLASS, within=60
            )
            assert created.value["correlation_id"] == cids[0]
            # Per key, the updates arrive in the order they were written (first copies).
            assert [r.value["correlation_id"] for r in updates] == cids[1:]
            assert [r.value["data"]["class_designation"] for r in updates] == [
                f"{created.value['data']['class_designation']} rev {n}"
                for n in range(1, RENAMES_PER_CLASS + 1)
            ]
            seqs = [seq_of[r.event_id] for r in updates]
            assert seqs == sorted(seqs)
            received |= {created.event_id, *(r.event_id for r in updates)}
            # Redeliveries (at least once) would repeat an event_id; nothing else is there.
            for topic in (CLASS_CREATED_TOPIC, CLASS_UPDATED_TOPIC):
                assert {r.event_id for r in kafka_events.records(topic, class_id)} <= set(seq_of)
        # None lost: every row written during the outage is on Kafka.
        assert received == set(seq_of)


async def test_a_redis_outage_fails_no_request_and_its_notifications_follow_the_restart(
    events_service: RunningService, teacher_id: str, redis_url: str
) -> None:
    client, engine = events_service.client, events_service.engine
    channel = teacher_channel(teacher_id)
    teacher_rows = "destination = 'redis' AND event_key = :teacher"

    # The relay's Redis connection is live before the outage.
    async with ChannelSubscriber(redis_url, channel) as inbox:
        class_id = await create_class(client, teacher_id, "9B English")
        await inbox.wait_for(1)

    cids = [new_correlation_id() for _ in range(3)]
    async with outage("redis"):
        await create_class(client, teacher_id, "During the outage", cids[0])
        response = await client.put(
            f"/v1/classes/{class_id}",
            json={"name": "9B English (renamed)"},
            headers=caller(teacher_id, cids[1]),
        )
        await body_of(response, 200, cids[1])
        await create_student(
            client, teacher_id, "Anna", "Lindqvist", class_ids=[class_id], cid=cids[2]
        )
        pending = f"{teacher_rows} AND status = 'pending'"
        # The relay tries, fails and schedules the oldest row again (the others wait behind it).
        await eventually(
            lambda: _count(engine, f"{pending} AND retry_count >= 2", teacher=teacher_id),
            "failed Redis publish attempts to be recorded",
        )
        assert await _count(engine, pending, teacher=teacher_id) == 3
        [head] = await outbox_rows(engine, f"{pending} AND retry_count > 0", teacher=teacher_id)
        assert head["last_error"]
        assert head["event_data"]["data"]["correlation_id"] == cids[0]

        # Kafka is unaffected: the same writes' events are published meanwhile.
        async def kafka_rows_published() -> bool:
            return await _count(engine, "destination = 'kafka' AND status = 'pending'") == 0

        await eventually(
            kafka_rows_published,
            "the Kafka rows of the same writes to be published during the Redis outage",
        )
        # Pub/sub reaches only current subscribers, so hold the rows until one is back (the
        # relay's own retry could otherwise win the race against the new subscription).
        held = await execute(
            engine,
            f"UPDATE event_outbox SET next_attempt_at = now() + interval '1 hour' WHERE {pending}",
            teacher=teacher_id,
        )
        assert held == 3

    async with ChannelSubscriber(redis_url, channel) as inbox:
        assert await _count(engine, pending, teacher=teacher_id) == 3
        await execute(
            engine,
            f"UPDATE event_outbox SET next_attempt_at = now() WHERE {pending}",
            teacher=teacher_id,
        )
        messages = await inbox.wait_for(3)
        rows = await eventually(
            lambda: _rows_if_all_published(engine, teacher_rows, teacher_id),
            "the held rows to be published",
        )

    written_during_outage = rows[1:]
    assert [row["event_data"]["data"]["correlation_id"] for row in written_during_outage] == cids
    # What arrived is exactly what was written, in write order.
    assert messages == [row["event_data"] for row in written_during_outage]
    assert [m["event"] for m in messages] == [
        "class_created",
        "class_updated",
        "student_added_to_class",
    ]
    assert rows[1]["retry_count"] >= 2


async def _rows_if_all_published(
    engine: AsyncEngine, where: str, teacher_id: str
) -> list[Any] | None:
    rows = await outbox_rows(engine, where, teacher=teacher_id)
    return rows if rows and all(row["status"] == "published" for row in rows) else None
