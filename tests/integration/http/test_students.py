"""Students (http-api.md §8) against the real PostgreSQL: shapes, filters, validation, updates."""

from __future__ import annotations

from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.support import (
    OTHER_TEACHER,
    TEACHER,
    TEACHER_ID,
    assert_student_shape,
    count_rows,
    create_class,
    create_student,
    error_fields,
    get_json,
    missing_id,
    not_found_details,
    outbox_rows,
    table_snapshot,
    validation_details,
)

pytestmark = pytest.mark.integration

ANNA = {
    "person_name": {
        "first_name": "Anna",
        "last_name": "Lindqvist",
        "legal_full_name": "Anna Maria Lindqvist",
    },
    "email": "Anna.Lindqvist@example.com",
}


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/classes/students", "/v1/classes/students/"])
async def test_create_answers_201_with_location_and_the_student(
    api: Client, engine: AsyncEngine, path: str
) -> None:
    school_class = await create_class(api)
    response = await api.post(
        path, json={**ANNA, "class_ids": [school_class["id"]]}, headers=TEACHER
    )
    assert response.status_code == 201
    body = await response.get_json()
    assert_student_shape(body)
    assert response.headers["Location"] == f"/v1/classes/students/{body['id']}"
    assert body["first_name"] == "Anna"
    assert body["last_name"] == "Lindqvist"
    assert body["legal_full_name"] == "Anna Maria Lindqvist"
    assert body["full_name"] == "Anna Lindqvist"
    assert body["email"] == "anna.lindqvist@example.com"
    assert body["class_ids"] == [school_class["id"]]
    assert body["created_at"] == body["updated_at"]
    assert await get_json(api, f"/v1/classes/students/{body['id']}") == body
    assert (await get_json(api, f"/v1/classes/{school_class['id']}"))["student_count"] == 1
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT created_by_user_id, email FROM students WHERE id = :id"),
                {"id": body["id"]},
            )
        ).one()
    assert tuple(row) == (TEACHER_ID, "anna.lindqvist@example.com")


async def test_create_minimal_defaults(api: Client) -> None:
    response = await api.post(
        "/v1/classes/students",
        json={"person_name": {"first_name": "  Omar ", "last_name": " Haddad  "}},
        headers=TEACHER,
    )
    body = await response.get_json()
    assert response.status_code == 201, body
    assert_student_shape(body)
    assert (body["first_name"], body["last_name"]) == ("Omar", "Haddad")
    assert body["legal_full_name"] == "Omar Haddad"
    assert body["email"] is None
    assert body["class_ids"] == []


@pytest.mark.parametrize("legal", [None, "", "   "])
async def test_blank_or_null_legal_name_defaults_to_first_last(
    api: Client, legal: str | None
) -> None:
    response = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "Sara", "last_name": "Berg", "legal_full_name": legal},
            "email": None,
            "class_ids": None,
        },
        headers=TEACHER,
    )
    body = await response.get_json()
    assert response.status_code == 201, body
    assert body["legal_full_name"] == "Sara Berg"


async def test_class_ids_are_collapsed_sorted_and_lowercased(api: Client) -> None:
    ids = sorted([(await create_class(api, name=f"C{i}"))["id"] for i in range(3)])
    sent = [ids[2].upper(), ids[0], ids[2], ids[1], ids[0].upper()]
    body = await create_student(api, class_ids=sent)
    assert body["class_ids"] == ids


async def test_email_accepts_the_contract_examples(api: Client) -> None:
    body = await create_student(api, email="  O'Brien+9B@Example.SE ")
    assert body["email"] == "o'brien+9b@example.se"


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "anna",
        "anna@@example.com",
        "a@b@example.com",
        "@example.com",
        "anna@",
        "an na@example.com",
        "an\x00na@example.com",
        "anna@exa mple.com",
        "anna@localhost",
        "a" * 250 + "@example.com",
        42,
        ["anna@example.com"],
    ],
)
async def test_invalid_email_is_invalid_body(api: Client, email: Any) -> None:
    response = await api.post(
        "/v1/classes/students", json={**ANNA, "email": email}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["email"]


@pytest.mark.parametrize(
    ("person_name", "fields"),
    [
        (None, ["person_name"]),
        ("Anna Lindqvist", ["person_name"]),
        ({}, ["person_name.first_name", "person_name.last_name"]),
        ({"first_name": "Anna"}, ["person_name.last_name"]),
        ({"first_name": "", "last_name": "L"}, ["person_name.first_name"]),
        ({"first_name": "  ", "last_name": "L"}, ["person_name.first_name"]),
        ({"first_name": "x" * 256, "last_name": "L"}, ["person_name.first_name"]),
        ({"first_name": 7, "last_name": "L"}, ["person_name.first_name"]),
        ({"first_name": "A", "last_name": "L\x00"}, ["person_name.last_name"]),
        ({"first_name": "A", "last_name": "L", "legal_full_name": "A\x00L"}, None),
        ({"first_name": "A", "last_name": "L", "legal_full_name": "x" * 513}, None),
        ({"first_name": "A", "last_name": "L", "legal_full_name": 5}, None),
    ],
)
async def test_person_name_errors(api: Client, person_name: Any, fields: list[str] | None) -> None:
    response = await api.post(
        "/v1/classes/students", json={"person_name": person_name}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == (fields or ["person_name.legal_full_name"])


async def test_name_limits_are_inclusive(api: Client) -> None:
    body = await create_student(
        api, "f" * 255, "l" * 255, legal_full_name="g" * 512, email=("e" * 64) + "@example.com"
    )
    assert (len(body["first_name"]), len(body["last_name"]), len(body["legal_full_name"])) == (
        255,
        255,
        512,
    )


async def test_all_field_errors_are_reported_together(api: Client) -> None:
    response = await api.post(
        "/v1/classes/students",
        json={
            "person_name": {"first_name": "", "last_name": "x" * 300},
            "email": "nope",
            "class_ids": ["06978b2f-241d-4018-a94f-a7c67fc7d1c7", "not-a-uuid", 3],
        },
        headers=TEACHER,
    )
    details = await validation_details(response, "invalid_body")
    assert sorted(error_fields(details)) == sorted(
        [
            "person_name.first_name",
            "person_name.last_name",
            "email",
            "class_ids.1",
            "class_ids.2",
        ]
    )


@pytest.mark.parametrize("class_ids", ["06978b2f-241d-4018-a94f-a7c67fc7d1c7", {"a": 1}, 5])
async def test_class_ids_must_be_an_array(api: Client, class_ids: Any) -> None:
    response = await api.post(
        "/v1/classes/students", json={**ANNA, "class_ids": class_ids}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["class_ids"]


async def test_more_than_100_class_ids_is_invalid_body(api: Client) -> None:
    ids = [missing_id() for _ in range(101)]
    response = await api.post(
        "/v1/classes/students", json={**ANNA, "class_ids": ids}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["class_ids"]


async def test_unknown_and_foreign_class_ids_are_each_reported(api: Client) -> None:
    own = await create_class(api)
    foreign = await create_class(api, headers=OTHER_TEACHER)
    unknown = missing_id()
    response = await api.post(
        "/v1/classes/students",
        json={**ANNA, "class_ids": [own["id"], unknown.upper(), foreign["id"], unknown]},
        headers=TEACHER,
    )
    details = await validation_details(response, "unknown_reference")
    assert set(details) == {"reason", "errors"}
    errors = sorted(details["errors"], key=lambda item: item["field"])
    assert [(e["field"], e["id"]) for e in errors] == [
        ("class_ids.1", unknown),
        ("class_ids.2", foreign["id"]),
    ]
    assert all(set(e) == {"field", "id", "message"} for e in errors)


async def test_exactly_100_unknown_class_ids_are_all_reported(api: Client) -> None:
    ids = [missing_id() for _ in range(100)]
    response = await api.post(
        "/v1/classes/students", json={**ANNA, "class_ids": ids}, headers=TEACHER
    )
    details = await validation_details(response, "unknown_reference")
    assert {(e["field"], e["id"]) for e in details["errors"]} == {
        (f"class_ids.{i}", class_id) for i, class_id in enumerate(ids)
    }


async def test_duplicate_email_is_409_conflict_with_the_lowercased_value(
    api: Client, engine: AsyncEngine
) -> None:
    await create_student(api, email="anna.lindqvist@example.com")
    before = await table_snapshot(engine)
    response = await api.post(
        "/v1/classes/students",
        json={**ANNA, "email": " ANNA.Lindqvist@EXAMPLE.com "},
        headers=TEACHER,
    )
    details = await validation_details(response, "conflict", status=409)
    assert details == {
        "reason": "conflict",
        "field": "email",
        "value": "anna.lindqvist@example.com",
    }
    assert await table_snapshot(engine) == before


async def test_the_same_email_may_belong_to_students_of_different_teachers(api: Client) -> None:
    first = await create_student(api, email="shared@example.com")
    second = await create_student(api, email="shared@example.com", headers=OTHER_TEACHER)
    assert first["id"] != second["id"]


async def test_any_number_of_students_may_have_no_email(api: Client) -> None:
    for _ in range(3):
        await create_student(api, "Same", "Name")
    assert (await get_json(api, "/v1/classes/students"))["pagination"]["total"] == 3


# --- read ---------------------------------------------------------------------------------


async def test_get_student_and_uppercase_id(api: Client) -> None:
    created = await create_student(api, email="anna@example.com")
    assert await get_json(api, f"/v1/classes/students/{created['id'].upper()}") == created


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_missing_student_is_404(api: Client, method: str) -> None:
    student_id = missing_id()
    response = await api.open(
        f"/v1/classes/students/{student_id}",
        method=method,
        headers=TEACHER,
        **({"json": {"email": "x@example.com"}} if method == "PUT" else {}),
    )
    details = await not_found_details(response)
    assert details == {"reason": "not_found", "resource": "student", "id": student_id}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_non_canonical_student_id_is_invalid_parameter(api: Client, method: str) -> None:
    response = await api.open(
        "/v1/classes/students/12345",
        method=method,
        headers=TEACHER,
        **({"json": {}} if method == "PUT" else {}),
    )
    details = await validation_details(response, "invalid_parameter")
    assert error_fields(details) == ["student_id"]


async def test_a_class_id_under_students_is_a_student_lookup(api: Client) -> None:
    """Route precedence: /v1/classes/students/{id} is always a student, never a class."""
    school_class = await create_class(api)
    response = await api.get(f"/v1/classes/students/{school_class['id']}", headers=TEACHER)
    details = await not_found_details(response)
    assert details["resource"] == "student"


# --- list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/classes/students", "/v1/classes/students/"])
async def test_empty_student_list(api: Client, path: str) -> None:
    assert await get_json(api, path) == {
        "students": [],
        "pagination": {"limit": 20, "offset": 0, "returned": 0, "total": 0},
    }


async def test_list_shape_order_and_paging(api: Client, engine: AsyncEngine) -> None:
    ids = [(await create_student(api, f"S{i}", "X"))["id"] for i in range(5)]
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE students SET created_at = '2031-01-01T00:00:00Z' WHERE id = ANY(:ids)"),
            {"ids": ids[3:]},
        )
    expected = sorted(ids[3:], reverse=True) + list(reversed(ids[:3]))
    body = await get_json(api, "/v1/classes/students")
    assert set(body) == {"students", "pagination"}
    for item in body["students"]:
        assert_student_shape(item)
    assert [item["id"] for item in body["students"]] == expected
    page = await get_json(api, "/v1/classes/students/?limit=2&offset=1")
    assert [item["id"] for item in page["students"]] == expected[1:3]
    assert page["pagination"] == {"limit": 2, "offset": 1, "returned": 2, "total": 5}
    past = await get_json(api, "/v1/classes/students?offset=5")
    assert past["students"] == []
    assert past["pagination"] == {"limit": 20, "offset": 5, "returned": 0, "total": 5}
    huge = await get_json(api, "/v1/classes/students?offset=99999999999999999999&limit=500")
    assert huge["students"] == []
    assert (huge["pagination"]["limit"], huge["pagination"]["returned"]) == (100, 0)
    assert huge["pagination"]["total"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-3", "offset"),
        ("class_id=nope", "class_id"),
        ("class_id=", "class_id"),
        ("q=" + "x" * 101, "q"),
        ("q=%00", "q"),
    ],
)
async def test_list_parameter_errors(api: Client, query: str, field: str) -> None:
    response = await api.get(f"/v1/classes/students?{query}", headers=TEACHER)
    details = await validation_details(response, "invalid_parameter")
    assert error_fields(details) == [field]


async def test_class_filter(api: Client) -> None:
    first = await create_class(api, name="First")
    second = await create_class(api, name="Second")
    both = await create_student(api, "Both", "X", class_ids=[first["id"], second["id"]])
    only = await create_student(api, "Only", "X", class_ids=[first["id"]])
    await create_student(api, "None", "X")
    body = await get_json(api, f"/v1/classes/students?class_id={first['id'].upper()}")
    assert {item["id"] for item in body["students"]} == {both["id"], only["id"]}
    assert body["pagination"]["total"] == 2
    body = await get_json(api, f"/v1/classes/students/?class_id={second['id']}&limit=1")
    assert [item["id"] for item in body["students"]] == [both["id"]]
    assert body["students"][0]["class_ids"] == sorted([first["id"], second["id"]])


async def test_class_filter_on_a_missing_class_is_404(api: Client) -> None:
    class_id = missing_id()
    response = await api.get(f"/v1/classes/students?class_id={class_id}", headers=TEACHER)
    details = await not_found_details(response)
    assert details == {"reason": "not_found", "resource": "class", "id": class_id}


async def test_search(api: Client) -> None:
    anna = await create_student(
        api, "Anna", "Lindqvist", legal_full_name="Anna Maria Lindqvist", email="al@school.se"
    )
    omar = await create_student(api, "Omar", "Haddad", email="omar.h@example.com")
    odd = await create_student(api, "Pct%50", "Under_Score", legal_full_name="Back\\Slash X")
    cases = {
        "anna": {anna["id"]},
        "LINDQ": {anna["id"]},
        "maria": {anna["id"]},
        "na li": {anna["id"]},
        "Anna Lindqvist": {anna["id"]},
        "  omar h  ": {omar["id"]},
        "example.com": {omar["id"]},
        "school": {anna["id"]},
        "%": {odd["id"]},
        "_": {odd["id"]},
        "\\": {odd["id"]},
        "r_s": {odd["id"]},
        "a": {anna["id"], omar["id"], odd["id"]},
        "zzz": set(),
    }
    for query, expected in cases.items():
        body = await get_json(api, "/v1/classes/students?" + _qs(q=query))
        assert {item["id"] for item in body["students"]} == expected, query
        assert body["pagination"]["total"] == len(expected)
    everyone = await get_json(api, "/v1/classes/students?q=%20%20")
    assert everyone["pagination"]["total"] == 3
    assert (await get_json(api, "/v1/classes/students?" + _qs(q="x" * 100)))["students"] == []


async def test_filters_never_widen_beyond_the_callers_students(api: Client) -> None:
    await create_student(api, "Anna", "Lindqvist", email="anna@example.com")
    theirs = await create_student(api, "Anna", "Other", headers=OTHER_TEACHER)
    body = await get_json(api, "/v1/classes/students?q=anna", headers=OTHER_TEACHER)
    assert [item["id"] for item in body["students"]] == [theirs["id"]]


def _qs(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# --- update -------------------------------------------------------------------------------


async def test_update_person_name_replaces_all_three_names(api: Client) -> None:
    created = await create_student(api, "Anna", "Lindqvist", legal_full_name="Anna Maria L")
    response = await api.put(
        f"/v1/classes/students/{created['id']}",
        json={"person_name": {"first_name": " Annie ", "last_name": "Berg"}},
        headers=TEACHER,
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    assert_student_shape(body)
    assert (body["first_name"], body["last_name"], body["legal_full_name"]) == (
        "Annie",
        "Berg",
        "Annie Berg",
    )
    assert body["full_name"] == "Annie Berg"
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]
    assert await get_json(api, f"/v1/classes/students/{created['id']}") == body


async def test_update_email_and_enrolments(api: Client) -> None:
    first = await create_class(api, name="First")
    second = await create_class(api, name="Second")
    third = await create_class(api, name="Third")
    created = await create_student(api, email="anna@example.com", class_ids=[first["id"]])
    response = await api.put(
        f"/v1/classes/students/{created['id']}",
        json={
            "email": "ANNA.Lindqvist@Example.SE",
            "add_class_ids": [third["id"], second["id"], third["id"]],
            "remove_class_ids": [first["id"]],
        },
        headers=TEACHER,
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["email"] == "anna.lindqvist@example.se"
    assert body["class_ids"] == sorted([second["id"], third["id"]])
    counts = [
        (await get_json(api, f"/v1/classes/{c['id']}"))["student_count"]
        for c in (first, second, third)
    ]
    assert counts == [0, 1, 1]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"person_name": None, "email": None, "add_class_ids": None, "remove_class_ids": None},
        {"person_name": {"first_name": "Anna", "last_name": "Lindqvist"}},
        {"email": " ANNA@example.com "},
        {"add_class_ids": ["ENROLLED"]},
        {"remove_class_ids": ["NOT_ENROLLED"]},
        {"add_class_ids": [], "remove_class_ids": []},
        {"unknown": "ignored"},
    ],
)
async def test_update_without_a_change_is_200_unchanged_and_emits_nothing(
    api: Client, engine: AsyncEngine, payload: dict[str, Any]
) -> None:
    enrolled = await create_class(api, name="Enrolled")
    other = await create_class(api, name="Other")
    created = await create_student(
        api, "Anna", "Lindqvist", email="anna@example.com", class_ids=[enrolled["id"]]
    )
    placeholders = {"ENROLLED": enrolled["id"], "NOT_ENROLLED": other["id"]}
    for key in ("add_class_ids", "remove_class_ids"):
        if payload.get(key):
            payload = {**payload, key: [placeholders[item] for item in payload[key]]}
    before = await table_snapshot(engine)
    response = await api.put(f"/v1/classes/students/{created['id']}", json=payload, headers=TEACHER)
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body == created
    assert await table_snapshot(engine) == before


async def test_empty_email_on_update_is_invalid_body(api: Client) -> None:
    created = await create_student(api, email="anna@example.com")
    response = await api.put(
        f"/v1/classes/students/{created['id']}", json={"email": ""}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["email"]
    assert (await get_json(api, f"/v1/classes/students/{created['id']}"))["email"] == (
        "anna@example.com"
    )


async def test_same_id_in_add_and_remove_is_invalid_body(api: Client) -> None:
    school_class = await create_class(api)
    created = await create_student(api)
    response = await api.put(
        f"/v1/classes/students/{created['id']}",
        json={"add_class_ids": [school_class["id"]], "remove_class_ids": [school_class["id"]]},
        headers=TEACHER,
    )
    details = await validation_details(response, "invalid_body")
    assert details["errors"]
    assert all(
        field.split(".")[0] in {"add_class_ids", "remove_class_ids"}
        for field in error_fields(details)
    )


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"person_name": {"first_name": "A"}}, ["person_name.last_name"]),
        ({"person_name": "Anna"}, ["person_name"]),
        ({"email": "not-an-email"}, ["email"]),
        ({"add_class_ids": ["nope"]}, ["add_class_ids.0"]),
        ({"remove_class_ids": [None]}, ["remove_class_ids.0"]),
        ({"add_class_ids": "x"}, ["add_class_ids"]),
        ([], ["body"]),
    ],
)
async def test_update_field_errors(api: Client, payload: Any, fields: list[str]) -> None:
    created = await create_student(api)
    response = await api.put(f"/v1/classes/students/{created['id']}", json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == fields


async def test_unknown_classes_in_add_and_remove_are_reported_with_their_paths(
    api: Client, engine: AsyncEngine
) -> None:
    own = await create_class(api)
    foreign = await create_class(api, headers=OTHER_TEACHER)
    created = await create_student(api)
    unknown = missing_id()
    before = await table_snapshot(engine)
    response = await api.put(
        f"/v1/classes/students/{created['id']}",
        json={
            "add_class_ids": [own["id"], unknown],
            "remove_class_ids": [foreign["id"]],
        },
        headers=TEACHER,
    )
    details = await validation_details(response, "unknown_reference")
    assert sorted((e["field"], e["id"]) for e in details["errors"]) == [
        ("add_class_ids.1", unknown),
        ("remove_class_ids.0", foreign["id"]),
    ]
    assert await table_snapshot(engine) == before


async def test_update_to_another_students_email_is_409(api: Client, engine: AsyncEngine) -> None:
    await create_student(api, "Taken", "X", email="taken@example.com")
    created = await create_student(api, email="mine@example.com")
    before = await table_snapshot(engine)
    response = await api.put(
        f"/v1/classes/students/{created['id']}",
        json={"email": "TAKEN@example.com", "person_name": {"first_name": "N", "last_name": "N"}},
        headers=TEACHER,
    )
    details = await validation_details(response, "conflict", status=409)
    assert details == {"reason": "conflict", "field": "email", "value": "taken@example.com"}
    assert await table_snapshot(engine) == before


async def test_update_missing_student_wins_over_unknown_reference(api: Client) -> None:
    response = await api.put(
        f"/v1/classes/students/{missing_id()}",
        json={"add_class_ids": [missing_id()]},
        headers=TEACHER,
    )
    details = await not_found_details(response)
    assert details["resource"] == "student"


# --- delete -------------------------------------------------------------------------------


async def test_delete_student_removes_enrolments_and_emits_nothing(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    created = await create_student(api, email="anna@example.com", class_ids=[school_class["id"]])
    before = len(await outbox_rows(engine))
    response = await api.delete(f"/v1/classes/students/{created['id']}", headers=TEACHER)
    assert response.status_code == 200
    assert await response.get_json() == {"message": "Student deleted successfully"}
    await not_found_details(await api.get(f"/v1/classes/students/{created['id']}", headers=TEACHER))
    await not_found_details(
        await api.delete(f"/v1/classes/students/{created['id']}", headers=TEACHER)
    )
    assert (await get_json(api, f"/v1/classes/{school_class['id']}"))["student_count"] == 0
    assert await count_rows(engine, "class_student_association") == 0
    assert len(await outbox_rows(engine)) == before
    # The e-mail is free again.
    await create_student(api, email="anna@example.com")
