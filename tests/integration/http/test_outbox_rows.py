"""Outbox rows written by every write (http-api.md §12, events.md §2, §4.1-§4.4, §7), and the
all-or-nothing rule: a failure after the outbox insert leaves neither the change nor the rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.di import make_container
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from tests.fixtures.http import make_test_settings
from tests.integration.http.support import (
    TEACHER,
    TEACHER_ID,
    create_class,
    create_student,
    details_of,
    is_lower_uuid,
    is_timestamp_z,
    outbox_rows,
    table_snapshot,
    with_correlation,
)

pytestmark = pytest.mark.integration

CORRELATION_ID = "1dadebc3-de19-442c-bd92-c7a1c7eae297"
CALLER = with_correlation(TEACHER, CORRELATION_ID.upper())
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
CLASS_EVENT_KEYS = {
    "event",
    "class_id",
    "class_designation",
    "course_codes",
    "user_id",
    "correlation_id",
    "timestamp",
}
STUDENT_CREATED_KEYS = {
    "event",
    "student_id",
    "first_name",
    "last_name",
    "student_email",
    "class_ids",
    "created_by_user_id",
    "correlation_id",
    "timestamp",
}
STUDENT_UPDATED_KEYS = {
    "event",
    "student_id",
    "first_name",
    "last_name",
    "student_email",
    "add_class_ids",
    "remove_class_ids",
    "updated_by_user_id",
    "correlation_id",
    "timestamp",
}
NOTIFICATION_COMMON_KEYS = {
    "category",
    "priority",
    "action_required",
    "deadline",
    "batch_id",
    "class_id",
    "correlation_id",
    "timestamp",
}
CLASS_CREATED = "huleedu.class.created.v1"
CLASS_UPDATED = "huleedu.class.updated.v1"
STUDENT_CREATED = "huleedu.class.student.created.v1"
STUDENT_UPDATED = "huleedu.class.student.updated.v1"
NOTIFICATION_REQUESTED = "huleedu.notification.teacher.requested.v1"


def _event_data(row: dict[str, Any]) -> Any:
    data = row["event_data"]
    return json.loads(data) if isinstance(data, str) else data


def kafka_envelope(
    row: dict[str, Any], *, topic: str, key: str, aggregate_type: str
) -> dict[str, Any]:
    """The row's envelope after checking the row's routing columns and the envelope rules."""
    assert row["destination"] == "kafka"
    assert (row["topic"], row["event_type"]) == (topic, topic)
    assert (row["event_key"], row["aggregate_id"], row["aggregate_type"]) == (
        key,
        key,
        aggregate_type,
    )
    assert (row["status"], row["retry_count"], row["published_at"], row["failed_at"]) == (
        "pending",
        0,
        None,
        None,
    )
    envelope = _event_data(row)
    assert set(envelope) == ENVELOPE_KEYS
    assert is_lower_uuid(envelope["event_id"])
    assert envelope["event_type"] == topic
    assert is_timestamp_z(envelope["event_timestamp"])
    assert envelope["source_service"] == "class_management_service"
    assert envelope["schema_version"] == 1
    assert envelope["correlation_id"] == CORRELATION_ID
    assert envelope["data_schema_uri"] is None
    assert envelope["metadata"] is None
    data = envelope["data"]
    assert data["correlation_id"] == CORRELATION_ID
    assert data["timestamp"] == envelope["event_timestamp"]
    return envelope


def redis_message(row: dict[str, Any], notification_type: str) -> dict[str, Any]:
    """The row's ``data`` after checking channel, key and the §7.2 message shape."""
    assert row["destination"] == "redis"
    assert row["topic"] == f"ws:{TEACHER_ID}"
    assert row["event_type"] == notification_type
    assert (row["event_key"], row["aggregate_id"], row["aggregate_type"]) == (
        TEACHER_ID,
        TEACHER_ID,
        "teacher",
    )
    assert row["status"] == "pending"
    message = _event_data(row)
    assert set(message) == {"event", "data"}
    assert message["event"] == notification_type
    data = message["data"]
    assert data["correlation_id"] == CORRELATION_ID
    assert is_timestamp_z(data["timestamp"])
    assert data["deadline"] is None
    assert data["batch_id"] is None
    assert data["action_required"] is False
    return data


async def new_rows(engine: AsyncEngine, before: int) -> list[dict[str, Any]]:
    return (await outbox_rows(engine))[before:]


# --- classes ------------------------------------------------------------------------------


async def test_class_create_writes_class_created_and_its_notification(
    api: Client, engine: AsyncEngine
) -> None:
    response = await api.post(
        "/v1/classes/", json={"name": "9B English", "course_codes": ["ENG5"]}, headers=CALLER
    )
    assert response.headers["X-Correlation-ID"] == CORRELATION_ID
    class_id = (await response.get_json())["id"]

    kafka, redis = await outbox_rows(engine)
    envelope = kafka_envelope(kafka, topic=CLASS_CREATED, key=class_id, aggregate_type="class")
    assert envelope["data"] == {
        "event": "class.created",
        "class_id": class_id,
        "class_designation": "9B English",
        "course_codes": ["ENG5"],
        "user_id": TEACHER_ID,
        "correlation_id": CORRELATION_ID,
        "timestamp": envelope["event_timestamp"],
    }
    data = redis_message(redis, "class_created")
    assert set(data) == {"class_designation", "course_codes", "message"} | NOTIFICATION_COMMON_KEYS
    assert data == {
        "class_id": class_id,
        "class_designation": "9B English",
        "course_codes": ["ENG5"],
        "message": "Class '9B English' created successfully",
        "category": "class_management",
        "priority": "standard",
        "action_required": False,
        "deadline": None,
        "batch_id": None,
        "correlation_id": CORRELATION_ID,
        "timestamp": envelope["event_timestamp"],
    }
    assert kafka["seq"] < redis["seq"]


async def test_class_update_with_a_change_writes_class_updated(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    before = len(await outbox_rows(engine))
    await api.put(
        f"/v1/classes/{school_class['id']}",
        json={"name": "9B English (spring)", "course_codes": ["SV2"]},
        headers=CALLER,
    )
    kafka, redis = await new_rows(engine, before)
    envelope = kafka_envelope(
        kafka, topic=CLASS_UPDATED, key=school_class["id"], aggregate_type="class"
    )
    assert set(envelope["data"]) == CLASS_EVENT_KEYS
    assert envelope["data"]["event"] == "class.updated"
    assert envelope["data"]["class_designation"] == "9B English (spring)"
    assert envelope["data"]["course_codes"] == ["SV2"]
    assert envelope["data"]["user_id"] == TEACHER_ID
    data = redis_message(redis, "class_updated")
    assert data["message"] == "Class '9B English (spring)' updated successfully"
    assert (data["class_id"], data["course_codes"], data["priority"]) == (
        school_class["id"],
        ["SV2"],
        "standard",
    )


async def test_deletes_write_no_rows(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    student = await create_student(api, class_ids=[school_class["id"]])
    before = await outbox_rows(engine)
    assert (
        await api.delete(f"/v1/classes/{school_class['id']}", headers=CALLER)
    ).status_code == 200
    assert (
        await api.delete(f"/v1/classes/students/{student['id']}", headers=CALLER)
    ).status_code == 200
    assert await outbox_rows(engine) == before


# --- students -----------------------------------------------------------------------------


async def test_student_create_writes_student_created_and_one_notification_per_class(
    api: Client, engine: AsyncEngine
) -> None:
    first = await create_class(api, name="Alpha")
    second = await create_class(api, name="Beta")
    before = len(await outbox_rows(engine))
    response = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "Anna", "last_name": "Lindqvist"},
            "email": "Anna.Lindqvist@Example.com",
            "class_ids": [second["id"], first["id"]],
        },
        headers=CALLER,
    )
    student_id = (await response.get_json())["id"]

    kafka, *notifications = await new_rows(engine, before)
    envelope = kafka_envelope(
        kafka, topic=STUDENT_CREATED, key=student_id, aggregate_type="student"
    )
    assert envelope["data"] == {
        "event": "student.created",
        "student_id": student_id,
        "first_name": "Anna",
        "last_name": "Lindqvist",
        "student_email": "anna.lindqvist@example.com",
        "class_ids": sorted([first["id"], second["id"]]),
        "created_by_user_id": TEACHER_ID,
        "correlation_id": CORRELATION_ID,
        "timestamp": envelope["event_timestamp"],
    }
    assert len(notifications) == 2
    by_class = {}
    for row in notifications:
        data = redis_message(row, "student_added_to_class")
        assert (
            set(data)
            == {
                "student_id",
                "student_name",
                "class_designation",
                "message",
            }
            | NOTIFICATION_COMMON_KEYS
        )
        assert (data["student_id"], data["student_name"]) == (student_id, "Anna Lindqvist")
        assert (data["category"], data["priority"]) == ("class_management", "low")
        by_class[data["class_id"]] = data
    assert by_class[first["id"]]["message"] == "Student 'Anna Lindqvist' added to class 'Alpha'"
    assert by_class[second["id"]]["class_designation"] == "Beta"


async def test_student_create_without_classes_writes_only_the_event(
    api: Client, engine: AsyncEngine
) -> None:
    response = await api.post(
        "/v1/classes/students",
        json={"person_name": {"first_name": "Omar", "last_name": "Haddad"}},
        headers=CALLER,
    )
    student_id = (await response.get_json())["id"]
    [kafka] = await outbox_rows(engine)
    envelope = kafka_envelope(
        kafka, topic=STUDENT_CREATED, key=student_id, aggregate_type="student"
    )
    assert set(envelope["data"]) == STUDENT_CREATED_KEYS
    assert envelope["data"]["student_email"] is None
    assert envelope["data"]["class_ids"] == []


async def test_student_update_writes_student_updated_and_notifications_for_new_classes(
    api: Client, engine: AsyncEngine
) -> None:
    kept = await create_class(api, name="Kept")
    left = await create_class(api, name="Left")
    joined = await create_class(api, name="Joined")
    student = await create_student(
        api, email="anna@example.com", class_ids=[kept["id"], left["id"]]
    )
    before = len(await outbox_rows(engine))
    await api.put(
        f"/v1/classes/students/{student['id']}",
        json={
            "add_class_ids": [joined["id"], kept["id"]],
            "remove_class_ids": [left["id"]],
        },
        headers=CALLER,
    )
    kafka, redis = await new_rows(engine, before)
    envelope = kafka_envelope(
        kafka, topic=STUDENT_UPDATED, key=student["id"], aggregate_type="student"
    )
    assert envelope["data"] == {
        "event": "student.updated",
        "student_id": student["id"],
        "first_name": "Anna",
        "last_name": "Lindqvist",
        "student_email": "anna@example.com",
        "add_class_ids": [joined["id"]],
        "remove_class_ids": [left["id"]],
        "updated_by_user_id": TEACHER_ID,
        "correlation_id": CORRELATION_ID,
        "timestamp": envelope["event_timestamp"],
    }
    data = redis_message(redis, "student_added_to_class")
    assert (data["class_id"], data["class_designation"]) == (joined["id"], "Joined")


async def test_student_name_change_writes_only_the_event_with_null_class_lists(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    student = await create_student(api, class_ids=[school_class["id"]])
    before = len(await outbox_rows(engine))
    await api.put(
        f"/v1/classes/students/{student['id']}",
        json={"person_name": {"first_name": "Annie", "last_name": "Berg"}},
        headers=CALLER,
    )
    [kafka] = await new_rows(engine, before)
    envelope = kafka_envelope(
        kafka, topic=STUDENT_UPDATED, key=student["id"], aggregate_type="student"
    )
    assert set(envelope["data"]) == STUDENT_UPDATED_KEYS
    assert (envelope["data"]["first_name"], envelope["data"]["last_name"]) == ("Annie", "Berg")
    assert envelope["data"]["add_class_ids"] is None
    assert envelope["data"]["remove_class_ids"] is None
    assert envelope["data"]["student_email"] is None


async def test_bulk_import_writes_one_event_per_created_or_enrolled_row_and_no_notifications(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    enrolled = await create_student(api, "En", "Rolled", email="en@example.com")
    already = await create_student(
        api, "Al", "Ready", email="al@example.com", class_ids=[school_class["id"]]
    )
    before = len(await outbox_rows(engine))
    response = await api.post(
        f"/v1/classes/{school_class['id']}/students/bulk",
        data=(
            b"first_name,last_name,email\n"
            b"New,Kid,NEW@example.com\n"
            b"X,Y,en@example.com\n"
            b"Z,W,al@example.com\n"
        ),
        headers={**CALLER, "Content-Type": "text/csv"},
    )
    results = (await response.get_json())["results"]
    created_id = results[0]["student_id"]

    rows = await new_rows(engine, before)
    assert [row["destination"] for row in rows] == ["kafka", "kafka"]
    by_topic = {row["topic"]: row for row in rows}
    created = kafka_envelope(
        by_topic[STUDENT_CREATED], topic=STUDENT_CREATED, key=created_id, aggregate_type="student"
    )
    assert created["data"]["class_ids"] == [school_class["id"]]
    assert created["data"]["student_email"] == "new@example.com"
    updated = kafka_envelope(
        by_topic[STUDENT_UPDATED],
        topic=STUDENT_UPDATED,
        key=enrolled["id"],
        aggregate_type="student",
    )
    assert updated["data"]["add_class_ids"] == [school_class["id"]]
    assert updated["data"]["remove_class_ids"] is None
    # The existing student's names are reported as stored, not as imported.
    assert (updated["data"]["first_name"], updated["data"]["last_name"]) == ("En", "Rolled")
    assert already["id"] not in {row["event_key"] for row in rows}
    assert created["event_id"] != updated["event_id"]


async def test_failed_and_unchanged_writes_leave_no_rows(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    student = await create_student(api, email="anna@example.com")
    before = await outbox_rows(engine)
    attempts = [
        api.post("/v1/classes/", json={"name": "", "course_codes": ["ENG5"]}, headers=CALLER),
        api.put(f"/v1/classes/{school_class['id']}", json={}, headers=CALLER),
        api.post(
            "/v1/classes/students",
            json={
                "person_name": {"first_name": "A", "last_name": "B"},
                "email": "anna@example.com",
            },
            headers=CALLER,
        ),
        api.put(
            f"/v1/classes/students/{student['id']}",
            json={"email": "ANNA@example.com"},
            headers=CALLER,
        ),
        api.post(
            f"/v1/classes/{school_class['id']}/students/bulk",
            json=[{"first_name": "A", "last_name": "B", "email": "bad"}],
            headers=CALLER,
        ),
    ]
    for attempt in attempts:
        await attempt
    assert await outbox_rows(engine) == before


# --- Kafka notifications (NOTIFICATIONS_KAFKA_ENABLED) --------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def kafka_notifications_api(
    migrated_database_url: str, clean_database: AsyncEngine
) -> AsyncIterator[Client]:
    settings = make_test_settings(
        database_url=SecretStr(migrated_database_url),
        notifications_kafka_enabled=True,
        notifications_redis_enabled=False,
    )
    registry = CollectorRegistry()
    app = create_app(
        make_container(settings, clean_database, registry=registry), clean_database, registry
    )
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def test_kafka_notifications_replace_redis_rows_when_configured(
    kafka_notifications_api: Client, engine: AsyncEngine
) -> None:
    response = await kafka_notifications_api.post(
        "/v1/classes/", json={"name": "9B English", "course_codes": ["ENG5"]}, headers=CALLER
    )
    class_id = (await response.get_json())["id"]
    event, notification = await outbox_rows(engine)
    kafka_envelope(event, topic=CLASS_CREATED, key=class_id, aggregate_type="class")
    envelope = kafka_envelope(
        notification, topic=NOTIFICATION_REQUESTED, key=TEACHER_ID, aggregate_type="teacher"
    )
    assert envelope["data"] == {
        "teacher_id": TEACHER_ID,
        "notification_type": "class_created",
        "category": "class_management",
        "priority": "standard",
        "payload": {
            "class_id": class_id,
            "class_designation": "9B English",
            "course_codes": ["ENG5"],
            "message": "Class '9B English' created successfully",
        },
        "action_required": False,
        "deadline_timestamp": None,
        "correlation_id": CORRELATION_ID,
        "batch_id": None,
        "class_id": class_id,
        "timestamp": envelope["event_timestamp"],
    }


# --- failure after the outbox insert ------------------------------------------------------


async def test_a_failure_after_the_outbox_insert_leaves_nothing(
    api: Client, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    school_class = await create_class(api)
    other = await create_class(api, name="Other")
    student = await create_student(api, email="anna@example.com", class_ids=[school_class["id"]])
    before = await table_snapshot(engine)
    outbox_before = len(before["event_outbox"])

    seen: list[int] = []

    async def commit(self: PostgreSQLClassRepositoryImpl) -> None:
        count = await self.connection.execute(text("SELECT count(*) FROM event_outbox"))
        seen.append(int(count.scalar_one()))
        raise RuntimeError("injected failure after the outbox insert")

    monkeypatch.setattr(PostgreSQLClassRepositoryImpl, "commit", commit)

    writes = {
        "create class": api.post(
            "/v1/classes/", json={"name": "New", "course_codes": ["ENG6"]}, headers=CALLER
        ),
        "update class": api.put(
            f"/v1/classes/{school_class['id']}", json={"name": "Renamed"}, headers=CALLER
        ),
        "create student": api.post(
            "/v1/classes/students",
            json={
                "person_name": {"first_name": "Omar", "last_name": "Haddad"},
                "class_ids": [school_class["id"]],
            },
            headers=CALLER,
        ),
        "update student": api.put(
            f"/v1/classes/students/{student['id']}",
            json={"email": "anna@example.se", "add_class_ids": [other["id"]]},
            headers=CALLER,
        ),
        "bulk import": api.post(
            f"/v1/classes/{other['id']}/students/bulk",
            json=[
                {"first_name": "Sara", "last_name": "Berg", "email": "sara@example.com"},
                {"first_name": "Anna", "last_name": "L", "email": "anna@example.com"},
            ],
            headers=CALLER,
        ),
    }
    for name, write in writes.items():
        response = await write
        details = await details_of(response, 500, "UNKNOWN_ERROR")
        assert details == {}, name
        assert response.headers["X-Correlation-ID"] == CORRELATION_ID
        assert await table_snapshot(engine) == before, name

    # Every failed transaction had already inserted its outbox rows.
    assert len(seen) == len(writes)
    assert all(count > outbox_before for count in seen), seen
