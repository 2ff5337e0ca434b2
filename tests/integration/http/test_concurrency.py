"""Concurrent requests against the real PostgreSQL: uniqueness is arbitrated by the database
and surfaces as 409 ``conflict`` (http-api.md §4.2), never as a 500 or a duplicate row."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.support import (
    OTHER_TEACHER,
    TEACHER,
    count_rows,
    create_class,
    create_student,
    get_json,
    outbox_rows,
    validation_details,
)

# Concurrency at volume: the seed's performance tests (concurrent teachers, bulk writers).
pytestmark = [pytest.mark.integration, pytest.mark.performance]


async def test_50_concurrent_creates_with_one_email_give_one_201_and_49_conflicts(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    payload = {
        "person_name": {"first_name": "Anna", "last_name": "Lindqvist"},
        "email": "Anna.Lindqvist@example.com",
        "class_ids": [school_class["id"]],
    }
    before = len(await outbox_rows(engine))

    responses = await asyncio.gather(
        *(api.post("/v1/classes/students", json=payload, headers=TEACHER) for _ in range(50))
    )

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    for response in responses:
        if response.status_code == 409:
            details = await validation_details(response, "conflict", status=409)
            assert details == {
                "reason": "conflict",
                "field": "email",
                "value": "anna.lindqvist@example.com",
            }
    assert await count_rows(engine, "students", "email = :e", e="anna.lindqvist@example.com") == 1
    assert await count_rows(engine, "class_student_association") == 1
    # Only the winner's event and notification were written.
    new_rows = (await outbox_rows(engine))[before:]
    assert sorted(row["destination"] for row in new_rows) == ["kafka", "redis"]


async def test_concurrent_creates_of_different_teachers_all_succeed(api: Client) -> None:
    teachers = [TEACHER, OTHER_TEACHER] + [{"X-User-ID": f"teacher-{i}"} for i in range(8)]
    payload = {"person_name": {"first_name": "A", "last_name": "B"}, "email": "same@example.com"}
    responses = await asyncio.gather(
        *(api.post("/v1/classes/students", json=payload, headers=t) for t in teachers)
    )
    assert [response.status_code for response in responses] == [201] * len(teachers)


async def test_concurrent_identical_bulk_imports_create_each_student_once(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    rows = [
        {"first_name": f"F{i}", "last_name": f"L{i}", "email": f"s{i}@example.com"}
        for i in range(20)
    ]

    responses = await asyncio.gather(
        *(
            api.post(f"/v1/classes/{school_class['id']}/students/bulk", json=rows, headers=TEACHER)
            for _ in range(8)
        )
    )

    bodies: list[dict[str, Any]] = [await response.get_json() for response in responses]
    assert [response.status_code for response in responses] == [200] * 8, bodies
    summaries = Counter(
        (body["summary"]["created"], body["summary"]["already_enrolled"]) for body in bodies
    )
    # The class row lock serialises the imports: the first creates, the rest find them.
    assert summaries == {(20, 0): 1, (0, 20): 7}
    assert await count_rows(engine, "students") == 20
    assert await count_rows(engine, "class_student_association") == 20


async def test_concurrent_enrolments_of_one_student_change_it_once(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    student = await create_student(api, email="anna@example.com")
    before = len(await outbox_rows(engine))

    responses = await asyncio.gather(
        *(
            api.put(
                f"/v1/classes/students/{student['id']}",
                json={"add_class_ids": [school_class["id"]]},
                headers=TEACHER,
            )
            for _ in range(10)
        )
    )

    # Either applied, a no-op after another request applied it, or a 409 for the enrolment.
    for response in responses:
        if response.status_code == 409:
            details = await validation_details(response, "conflict", status=409)
            assert details["field"] == "class_id"
        else:
            assert response.status_code == 200, await response.get_json()
            assert (await response.get_json())["class_ids"] == [school_class["id"]]
    assert await count_rows(engine, "class_student_association") == 1
    topics = [row["topic"] for row in (await outbox_rows(engine))[before:]]
    assert topics.count("huleedu.class.student.updated.v1") == 1
    assert (await get_json(api, f"/v1/classes/{school_class['id']}"))["student_count"] == 1


async def test_enrolling_into_a_class_being_deleted_never_fails_with_500(
    api: Client, engine: AsyncEngine
) -> None:
    """Create/update lock the referenced classes: the delete either waits or wins cleanly."""
    for _ in range(5):
        school_class = await create_class(api)
        existing = await create_student(api)
        payload = {
            "person_name": {"first_name": "A", "last_name": "B"},
            "class_ids": [school_class["id"]],
        }
        create, update, delete = await asyncio.gather(
            api.post("/v1/classes/students", json=payload, headers=TEACHER),
            api.put(
                f"/v1/classes/students/{existing['id']}",
                json={"add_class_ids": [school_class["id"]]},
                headers=TEACHER,
            ),
            api.delete(f"/v1/classes/{school_class['id']}", headers=TEACHER),
        )
        assert delete.status_code == 200
        # Before the delete: applied (the enrolment then cascades away); after: unknown class.
        for response, ok in ((create, 201), (update, 200)):
            assert response.status_code in {ok, 400}, await response.get_json()
            if response.status_code == 400:
                await validation_details(response, "unknown_reference")
    assert await count_rows(engine, "class_student_association") == 0


async def test_bulk_import_racing_student_updates_and_deletes_never_fails_with_500(
    api: Client, engine: AsyncEngine
) -> None:
    """Bulk imports lock the class, then the students they reuse; student updates take the
    class locks before the student's, so the two wait for each other instead of deadlocking,
    and a student deleted meanwhile is simply re-created."""
    for round_no in range(6):
        school_class = await create_class(api)
        students = [
            await create_student(api, f"S{i}", "X", email=f"r{round_no}s{i}@example.com")
            for i in range(4)
        ]
        rows = [{"first_name": "N", "last_name": "N", "email": s["email"]} for s in students]
        requests = [
            api.post(f"/v1/classes/{school_class['id']}/students/bulk", json=rows, headers=TEACHER),
            *(
                api.put(
                    f"/v1/classes/students/{s['id']}",
                    json={"add_class_ids": [school_class["id"]]},
                    headers=TEACHER,
                )
                for s in students[:2]
            ),
            *(api.delete(f"/v1/classes/students/{s['id']}", headers=TEACHER) for s in students[2:]),
        ]
        responses = await asyncio.gather(*requests)
        for response in responses:
            assert response.status_code in {200, 404}, await response.get_json()
        bulk = await responses[0].get_json()
        assert bulk["summary"]["total_rows"] == 4
        roster = await get_json(api, f"/v1/classes/{school_class['id']}/roster")
        enrolled = {entry["student_id"] for entry in roster["students"]}
        # The updated students stay enrolled; a deleted one is gone or was re-created.
        assert {students[0]["id"], students[1]["id"]} <= enrolled
        assert 2 <= len(enrolled) <= 4
        assert await count_rows(engine, "students", "email LIKE :p", p=f"r{round_no}s%") == len(
            enrolled
        )
