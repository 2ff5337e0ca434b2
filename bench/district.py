"""``BENCH_SCALE=district``: the bench database grown to a school district's size.

The small database of the run (the reading teacher's classes and the writers' fixtures) stays,
and around it COPY adds 5,000 teachers with 20 classes of 30 each (100,000 classes), 1,000,000
students (each in three of their teacher's classes: 3,000,000 enrolments), 3,000,000 essay
associations (one batch of 30 per class, 1 % still pending) and 10,000,000 published outbox rows
older than the retention, not yet housekept. Rows are generated here and streamed with COPY in
chunks; ids are UUIDs from counters (the same width and type as the service's, cheaper to make).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]

TEACHERS = 5_000
CLASSES_PER_TEACHER = 20
CLASS_SIZE = 30
STUDENTS_PER_TEACHER = 200  # each in three of the teacher's 20 classes
OUTBOX_ROWS = 10_000_000
PENDING_EVERY = 100  # one essay association in a hundred is still pending
CHUNK = 200_000
COURSES = "SELECT id FROM courses ORDER BY course_code"

# A StudentCreatedV1-sized envelope (about 600 bytes), as the history rows carried.
_ENVELOPE = (
    '{"event_id":"%s","event_type":"huleedu.class.student.created.v1",'
    '"event_timestamp":"2026-11-20T08:00:00+00:00","source_service":"class_management_service",'
    '"schema_version":1,"correlation_id":"%s","data":{"student_id":"%s","first_name":"Elev",'
    '"last_name":"Elevsson","legal_full_name":"Elev Elevsson","email":"elev@district.example",'
    '"class_ids":[],"created_by_user_id":"district-teacher","created_at":'
    '"2026-11-20T08:00:00+00:00"},"metadata":{}}'
)


def _id(space: int, n: int) -> UUID:
    """Distinct per (space, n); version bits set so they look like the service's UUIDs."""
    return UUID(int=(space << 96) | (0x4000 << 48) | (0x8000 << 32) | n)


def _teacher(t: int) -> str:
    return f"district-teacher-{t:05d}"


def _class_id(t: int, c: int) -> UUID:
    return _id(1, t * CLASSES_PER_TEACHER + c)


def _student_id(t: int, s: int) -> UUID:
    return _id(2, t * STUDENTS_PER_TEACHER + s)


def _classes(courses: list[UUID], now: datetime) -> Iterator[tuple[Any, ...]]:
    for t in range(TEACHERS):
        for c in range(CLASSES_PER_TEACHER):
            at = now - timedelta(minutes=t * CLASSES_PER_TEACHER + c)
            yield (_class_id(t, c), f"Klass {c}", _teacher(t), courses[c % len(courses)], at, at)


def _students(now: datetime) -> Iterator[tuple[Any, ...]]:
    for t in range(TEACHERS):
        for s in range(STUDENTS_PER_TEACHER):
            at = now - timedelta(seconds=t * STUDENTS_PER_TEACHER + s)
            email = f"elev{s}.t{t}@district.example"
            yield (
                _student_id(t, s),
                f"Elev{s}",
                f"T{t}",
                f"Elev{s} T{t}",
                email,
                _teacher(t),
                at,
                at,
            )


def _enrolments() -> Iterator[tuple[Any, ...]]:
    # Class c holds students (c*10 + k) mod 200 for k < 30: 30 per class, each student in 3.
    for t in range(TEACHERS):
        for c in range(CLASSES_PER_TEACHER):
            for k in range(CLASS_SIZE):
                yield (_class_id(t, c), _student_id(t, (c * 10 + k) % STUDENTS_PER_TEACHER))


def _associations(now: datetime) -> Iterator[tuple[Any, ...]]:
    n = 0
    for t in range(TEACHERS):
        for c in range(CLASSES_PER_TEACHER):
            batch = _id(3, t * CLASSES_PER_TEACHER + c)
            for k in range(CLASS_SIZE):
                student = _student_id(t, (c * 10 + k) % STUDENTS_PER_TEACHER)
                pending = n % PENDING_EVERY == 0
                yield (
                    _id(4, n),
                    _id(5, n),
                    batch,
                    _class_id(t, c),
                    None if pending else student,
                    student,
                    0.9,
                    "nlp_service_phase1",
                    now - timedelta(hours=30),
                    "pending_validation" if pending else "confirmed",
                    None if pending else _teacher(t),
                    None if pending else now - timedelta(hours=29),
                    None if pending else "human",
                )
                n += 1


def _outbox(now: datetime) -> Iterator[tuple[Any, ...]]:
    published = now - timedelta(days=8)
    for n in range(OUTBOX_ROWS):
        row_id = _id(6, n)
        key = str(_student_id(n % TEACHERS, n % STUDENTS_PER_TEACHER))
        data = _ENVELOPE % (row_id, row_id, key)
        yield (
            row_id,
            "student",
            key,
            "huleedu.class.student.created.v1",
            "huleedu.class.student.created.v1",
            "kafka",
            key,
            data,
            "published",
            published,
            published,
        )


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _copy(
    connection: Any, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]
) -> dict[str, Any]:
    started, count = time.perf_counter(), 0
    for chunk in _chunks(rows):
        await connection.copy_records_to_table(table, records=chunk, columns=columns)
        count += len(chunk)
    seconds = time.perf_counter() - started
    return {"rows": count, "seconds": round(seconds, 1), "rows_per_s": round(count / seconds)}


async def seed(url: str) -> dict[str, Any]:
    """Adds the district around the bench's own rows; returns what was copied and how fast."""
    now = datetime.now(UTC)
    connection = await asyncpg.connect(url)
    try:
        # event_data is json, whose binary COPY form is its UTF-8 text.
        await connection.set_type_codec(
            "json",
            encoder=str.encode,
            decoder=bytes.decode,
            schema="pg_catalog",
            format="binary",
        )
        # The rows are consistent by construction; per-row foreign-key triggers would make the
        # copy of 6M enrolments and associations take ten minutes instead of a few.
        await connection.execute("SET session_replication_role = replica")
        courses = [row["id"] for row in await connection.fetch(COURSES)]
        copied: dict[str, Any] = {
            "classes": await _copy(
                connection,
                "classes",
                ["id", "name", "created_by_user_id", "course_id", "created_at", "updated_at"],
                _classes(courses, now),
            ),
            "students": await _copy(
                connection,
                "students",
                [
                    "id",
                    "first_name",
                    "last_name",
                    "legal_full_name",
                    "email",
                    "created_by_user_id",
                    "created_at",
                    "updated_at",
                ],
                _students(now),
            ),
            "class_student_association": await _copy(
                connection, "class_student_association", ["class_id", "student_id"], _enrolments()
            ),
            "essay_student_associations": await _copy(
                connection,
                "essay_student_associations",
                [
                    "id",
                    "essay_id",
                    "batch_id",
                    "class_id",
                    "student_id",
                    "suggested_student_id",
                    "confidence_score",
                    "created_by_user_id",
                    "created_at",
                    "validation_status",
                    "validated_by",
                    "validated_at",
                    "validation_method",
                ],
                _associations(now),
            ),
            "event_outbox": await _copy(
                connection,
                "event_outbox",
                [
                    "id",
                    "aggregate_type",
                    "aggregate_id",
                    "event_type",
                    "topic",
                    "destination",
                    "event_key",
                    "event_data",
                    "status",
                    "published_at",
                    "created_at",
                ],
                _outbox(now),
            ),
        }
        started = time.perf_counter()
        await connection.execute("VACUUM ANALYZE")
        copied["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
        size = await connection.fetchval("SELECT pg_database_size(current_database())")
        copied["database_size_gb"] = round(size / 1e9, 2)
    finally:
        await connection.close()
    return copied
