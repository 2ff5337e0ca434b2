"""Teacher isolation (http-api.md §2.4): another teacher's resource answers exactly like a
missing one, on every method, and is left untouched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.support import (
    OTHER_TEACHER,
    TEACHER,
    create_class,
    create_student,
    get_json,
    missing_id,
    not_found_details,
    table_snapshot,
    validation_details,
)

pytestmark = pytest.mark.integration

Request = Callable[[Client, str], Awaitable[Any]]

CLASS_REQUESTS: dict[str, Request] = {
    "GET": lambda api, cid: api.get(f"/v1/classes/{cid}", headers=OTHER_TEACHER),
    "HEAD": lambda api, cid: api.head(f"/v1/classes/{cid}", headers=OTHER_TEACHER),
    "PUT": lambda api, cid: api.put(
        f"/v1/classes/{cid}",
        json={"name": "Hijacked", "course_codes": ["SV1"]},
        headers=OTHER_TEACHER,
    ),
    "PUT {}": lambda api, cid: api.put(f"/v1/classes/{cid}", json={}, headers=OTHER_TEACHER),
    "DELETE": lambda api, cid: api.delete(f"/v1/classes/{cid}", headers=OTHER_TEACHER),
    "roster": lambda api, cid: api.get(f"/v1/classes/{cid}/roster", headers=OTHER_TEACHER),
    "bulk json": lambda api, cid: api.post(
        f"/v1/classes/{cid}/students/bulk",
        json=[{"first_name": "Anna", "last_name": "X", "email": "anna@example.com"}],
        headers=OTHER_TEACHER,
    ),
    "bulk csv": lambda api, cid: api.post(
        f"/v1/classes/{cid}/students/bulk",
        data=b"first_name,last_name,email\nNew,Kid,\n",
        headers={**OTHER_TEACHER, "Content-Type": "text/csv"},
    ),
    "student list filter": lambda api, cid: api.get(
        f"/v1/classes/students?class_id={cid}", headers=OTHER_TEACHER
    ),
}

STUDENT_REQUESTS: dict[str, Request] = {
    "GET": lambda api, sid: api.get(f"/v1/classes/students/{sid}", headers=OTHER_TEACHER),
    "PUT": lambda api, sid: api.put(
        f"/v1/classes/students/{sid}",
        json={"person_name": {"first_name": "X", "last_name": "Y"}, "email": "x@example.com"},
        headers=OTHER_TEACHER,
    ),
    "PUT {}": lambda api, sid: api.put(
        f"/v1/classes/students/{sid}", json={}, headers=OTHER_TEACHER
    ),
    "DELETE": lambda api, sid: api.delete(f"/v1/classes/students/{sid}", headers=OTHER_TEACHER),
}


async def _owned_world(api: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    school_class = await create_class(api)
    student = await create_student(api, email="anna@example.com", class_ids=[school_class["id"]])
    return school_class, student


async def _state(api: Client, engine: AsyncEngine, class_id: str, student_id: str) -> Any:
    return (
        await table_snapshot(engine),
        await get_json(api, f"/v1/classes/{class_id}"),
        await get_json(api, f"/v1/classes/{class_id}/roster"),
        await get_json(api, f"/v1/classes/students/{student_id}"),
    )


@pytest.mark.parametrize("kind", list(CLASS_REQUESTS))
async def test_another_teachers_class_is_indistinguishable_from_a_missing_one(
    api: Client, engine: AsyncEngine, kind: str
) -> None:
    school_class, student = await _owned_world(api)
    before = await _state(api, engine, school_class["id"], student["id"])
    request = CLASS_REQUESTS[kind]

    foreign = await request(api, school_class["id"])
    absent_id = missing_id()
    absent = await request(api, absent_id)
    assert foreign.status_code == absent.status_code == 404
    if kind != "HEAD":
        foreign_details = await not_found_details(foreign)
        absent_details = await not_found_details(absent)
        assert foreign_details == {
            "reason": "not_found",
            "resource": "class",
            "id": school_class["id"],
        }
        assert absent_details == {**foreign_details, "id": absent_id}
        foreign_error = (await foreign.get_json())["error"]
        absent_error = (await absent.get_json())["error"]
        assert foreign_error["message"] == absent_error["message"]

    assert await _state(api, engine, school_class["id"], student["id"]) == before


@pytest.mark.parametrize("kind", list(STUDENT_REQUESTS))
async def test_another_teachers_student_is_indistinguishable_from_a_missing_one(
    api: Client, engine: AsyncEngine, kind: str
) -> None:
    school_class, student = await _owned_world(api)
    before = await _state(api, engine, school_class["id"], student["id"])
    request = STUDENT_REQUESTS[kind]

    foreign = await request(api, student["id"])
    absent_id = missing_id()
    absent = await request(api, absent_id)
    foreign_details = await not_found_details(foreign)
    absent_details = await not_found_details(absent)
    assert foreign_details == {"reason": "not_found", "resource": "student", "id": student["id"]}
    assert absent_details == {**foreign_details, "id": absent_id}
    assert (await foreign.get_json())["error"]["message"] == (await absent.get_json())["error"][
        "message"
    ]

    assert await _state(api, engine, school_class["id"], student["id"]) == before


async def test_lists_and_references_never_reach_another_teachers_data(
    api: Client, engine: AsyncEngine
) -> None:
    school_class, student = await _owned_world(api)
    before = await _state(api, engine, school_class["id"], student["id"])

    classes = await get_json(api, "/v1/classes/", headers=OTHER_TEACHER)
    assert classes["classes"] == []
    assert classes["pagination"]["total"] == 0
    students = await get_json(api, "/v1/classes/students?q=anna", headers=OTHER_TEACHER)
    assert students["students"] == []
    assert students["pagination"]["total"] == 0

    # Enrolling into a foreign class is an unknown reference, never a 404 or a leak.
    response = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "B", "last_name": "B"},
            "class_ids": [school_class["id"]],
        },
        headers=OTHER_TEACHER,
    )
    details = await validation_details(response, "unknown_reference")
    assert details["errors"][0]["id"] == school_class["id"]
    own = await create_student(api, "B", "Own", headers=OTHER_TEACHER)
    for field in ("add_class_ids", "remove_class_ids"):
        response = await api.put(
            f"/v1/classes/students/{own['id']}",
            json={field: [school_class["id"]]},
            headers=OTHER_TEACHER,
        )
        details = await validation_details(response, "unknown_reference")
        assert [(e["field"], e["id"]) for e in details["errors"]] == [
            (f"{field}.0", school_class["id"])
        ]
    # The same e-mail is free for the other teacher: uniqueness is per owner.
    await create_student(api, "Other", "Anna", email="anna@example.com", headers=OTHER_TEACHER)

    after = await _state(api, engine, school_class["id"], student["id"])
    assert after[1:] == before[1:]
    assert await get_json(api, "/v1/classes/", headers=TEACHER) == {
        "classes": [before[1]],
        "pagination": {"limit": 20, "offset": 0, "returned": 1, "total": 1},
    }
