"""Helpers shared by the HTTP contract tests: callers, builders, shape checks, DB look-ups.

The assertions here encode http-api.md §1 (wire formats) and §4.1 (the error body) once, so
every test that sees a response checks them the same way.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from quart.typing import TestClientProtocol as Client
from quart.typing import TestHTTPConnectionProtocol
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# The contract's example teacher, plus a second one for isolation tests.
TEACHER_ID = "d5918e0d-7655-4456-a123-f0049d22768c"
OTHER_TEACHER_ID = "teacher-b@school.example"
TEACHER = {"X-User-ID": TEACHER_ID}
OTHER_TEACHER = {"X-User-ID": OTHER_TEACHER_ID}
SERVICE = {"X-Internal-API-Key": "test-key", "X-Service-ID": "nlp_service"}

SERVICE_NAME = "class_management_service"
ERROR_KEYS = {"code", "message", "correlation_id", "service", "timestamp", "details"}
CLASS_KEYS = {
    "id",
    "name",
    "course_code",
    "course_name",
    "language",
    "student_count",
    "created_at",
    "updated_at",
}
STUDENT_KEYS = {
    "id",
    "first_name",
    "last_name",
    "legal_full_name",
    "full_name",
    "email",
    "class_ids",
    "created_at",
    "updated_at",
}
ROSTER_ENTRY_KEYS = {"student_id", "first_name", "last_name", "full_legal_name", "email"}
ALLOWED_COURSE_CODES = ["ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3"]
COURSES = {
    "ENG5": ("English 5", "en"),
    "ENG6": ("English 6", "en"),
    "ENG7": ("English 7", "en"),
    "SV1": ("Svenska 1", "sv"),
    "SV2": ("Svenska 2", "sv"),
    "SV3": ("Svenska 3", "sv"),
}

LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# YYYY-MM-DDTHH:MM:SS[.ffffff]Z (events.md §2); never an offset, never zone-less.
TIMESTAMP_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
MAX_BODY_BYTES = 1_048_576

Response = TestHTTPConnectionProtocol | Any


def missing_id() -> str:
    return str(uuid.uuid4())


def is_lower_uuid(value: object) -> bool:
    return isinstance(value, str) and LOWER_UUID.fullmatch(value) is not None


def is_timestamp_z(value: object) -> bool:
    return isinstance(value, str) and TIMESTAMP_Z.fullmatch(value) is not None


def with_correlation(headers: dict[str, str], correlation_id: str) -> dict[str, str]:
    return {**headers, "X-Correlation-ID": correlation_id}


async def error_of(
    response: Any, status: int, code: str, reason: str | None = None
) -> dict[str, Any]:
    """The response's ``error`` object after checking status and the §4.1 shape exactly."""
    body = await response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["service"] == SERVICE_NAME
    assert is_timestamp_z(error["timestamp"]), error["timestamp"]
    assert is_lower_uuid(error["correlation_id"])
    assert error["correlation_id"] == response.headers["X-Correlation-ID"]
    assert isinstance(error["details"], dict)
    if reason is not None:
        assert error["details"].get("reason") == reason, error["details"]
    assert "Traceback" not in str(body)
    return error


async def details_of(
    response: Any, status: int, code: str, reason: str | None = None
) -> dict[str, Any]:
    return (await error_of(response, status, code, reason))["details"]


async def validation_details(response: Any, reason: str, status: int = 400) -> dict[str, Any]:
    return await details_of(response, status, "VALIDATION_ERROR", reason)


async def not_found_details(response: Any) -> dict[str, Any]:
    return await details_of(response, 404, "RESOURCE_NOT_FOUND", "not_found")


def error_fields(details: dict[str, Any]) -> list[str]:
    return [item["field"] for item in details["errors"]]


def assert_class_shape(body: dict[str, Any]) -> None:
    assert set(body) == CLASS_KEYS, body
    assert is_lower_uuid(body["id"])
    assert isinstance(body["name"], str)
    assert body["course_code"] in COURSES
    assert (body["course_name"], body["language"]) == COURSES[body["course_code"]]
    assert isinstance(body["student_count"], int)
    assert not isinstance(body["student_count"], bool)
    assert is_timestamp_z(body["created_at"])
    assert is_timestamp_z(body["updated_at"])


def assert_student_shape(body: dict[str, Any]) -> None:
    assert set(body) == STUDENT_KEYS, body
    assert is_lower_uuid(body["id"])
    for key in ("first_name", "last_name", "legal_full_name", "full_name"):
        assert isinstance(body[key], str), key
        assert body[key], key
    assert body["full_name"] == f"{body['first_name']} {body['last_name']}"
    assert body["email"] is None or (
        isinstance(body["email"], str) and body["email"] == body["email"].lower()
    )
    assert isinstance(body["class_ids"], list)
    assert all(is_lower_uuid(item) for item in body["class_ids"])
    assert body["class_ids"] == sorted(body["class_ids"])
    assert is_timestamp_z(body["created_at"])
    assert is_timestamp_z(body["updated_at"])


async def create_class(
    api: Client,
    name: str = "9B English",
    course: str = "ENG5",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await api.post(
        "/v1/classes/", json={"name": name, "course_codes": [course]}, headers=headers or TEACHER
    )
    body = await response.get_json()
    assert response.status_code == 201, body
    return body


async def create_student(
    api: Client,
    first_name: str = "Anna",
    last_name: str = "Lindqvist",
    *,
    email: str | None = None,
    class_ids: list[str] | None = None,
    legal_full_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    person: dict[str, Any] = {"first_name": first_name, "last_name": last_name}
    if legal_full_name is not None:
        person["legal_full_name"] = legal_full_name
    payload: dict[str, Any] = {"person_name": person, "email": email, "class_ids": class_ids}
    response = await api.post("/v1/classes/students", json=payload, headers=headers or TEACHER)
    body = await response.get_json()
    assert response.status_code == 201, body
    return body


async def get_json(api: Client, path: str, headers: dict[str, str] | None = None) -> Any:
    response = await api.get(path, headers=headers or TEACHER)
    body = await response.get_json()
    assert response.status_code == 200, body
    return body


async def outbox_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every ``event_outbox`` row in write order, as plain dicts."""
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM event_outbox ORDER BY seq"))
        return [dict(row._mapping) for row in result]


async def count_rows(engine: AsyncEngine, table: str, where: str = "TRUE", **params: Any) -> int:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params)
        return int(result.scalar_one())


async def table_snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """The full content of every business table and the outbox, for "nothing changed" checks."""
    queries = {
        "classes": "SELECT * FROM classes ORDER BY id",
        "students": "SELECT * FROM students ORDER BY id",
        "enrolments": "SELECT * FROM class_student_association ORDER BY class_id, student_id",
        "event_outbox": "SELECT id, seq FROM event_outbox ORDER BY seq",
    }
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for name, query in queries.items():
            snapshot[name] = [tuple(row) for row in await conn.execute(text(query))]
    return snapshot


async def insert_unknown_placeholder(engine: AsyncEngine, class_id: str) -> str:
    """The class's UNKNOWN placeholder student and its enrolment, as the timeout monitor writes
    them (data-model.md §9)."""
    student_id = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO students (id, first_name, last_name, legal_full_name, email,"
                " created_by_user_id, created_at, updated_at) VALUES (:id, 'UNKNOWN', 'STUDENT',"
                " 'UNKNOWN STUDENT', :email, 'SYSTEM_TIMEOUT', now(), now())"
            ),
            {"id": student_id, "email": f"unknown.{class_id}@huleedu.system"},
        )
        await conn.execute(
            text("INSERT INTO class_student_association (class_id, student_id) VALUES (:c, :s)"),
            {"c": class_id, "s": student_id},
        )
    return student_id
