"""Classes (http-api.md §7.1-§7.5) against the real PostgreSQL: shapes, paging, validation."""

from __future__ import annotations

from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.support import (
    ALLOWED_COURSE_CODES,
    COURSES,
    TEACHER,
    TEACHER_ID,
    assert_class_shape,
    count_rows,
    create_class,
    create_student,
    error_fields,
    get_json,
    missing_id,
    not_found_details,
    outbox_rows,
    validation_details,
)

pytestmark = pytest.mark.integration


# --- create -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/classes/", "/v1/classes"])
async def test_create_answers_201_with_location_and_the_class(
    api: Client, engine: AsyncEngine, path: str
) -> None:
    response = await api.post(
        path, json={"name": "9B English", "course_codes": ["ENG5"]}, headers=TEACHER
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.get_json()
    assert_class_shape(body)
    assert response.headers["Location"] == f"/v1/classes/{body['id']}"
    assert body["name"] == "9B English"
    assert (body["course_code"], body["course_name"], body["language"]) == (
        "ENG5",
        "English 5",
        "en",
    )
    assert body["student_count"] == 0
    assert body["created_at"] == body["updated_at"]
    async with engine.connect() as conn:
        owner = (
            await conn.execute(
                text("SELECT created_by_user_id FROM classes WHERE id = :id"), {"id": body["id"]}
            )
        ).scalar_one()
    assert owner == TEACHER_ID


@pytest.mark.parametrize("code", ALLOWED_COURSE_CODES)
async def test_every_course_code_maps_to_its_course(api: Client, code: str) -> None:
    body = await create_class(api, name=f"Class {code}", course=code)
    assert (body["course_name"], body["language"]) == COURSES[code]
    assert await get_json(api, f"/v1/classes/{body['id']}") == body


async def test_name_is_trimmed_inner_whitespace_kept_and_unknown_fields_ignored(
    api: Client,
) -> None:
    response = await api.post(
        "/v1/classes/",
        json={"name": "  9B   English \t", "course_codes": ["SV2"], "colour": "red", "id": "x"},
        headers=TEACHER,
    )
    body = await response.get_json()
    assert response.status_code == 201, body
    assert body["name"] == "9B   English"


async def test_class_names_are_not_unique(api: Client) -> None:
    first = await create_class(api, name="Same")
    second = await create_class(api, name="Same")
    assert first["id"] != second["id"]


async def test_name_of_exactly_100_characters_is_accepted(api: Client) -> None:
    body = await create_class(api, name="x" * 100)
    assert body["name"] == "x" * 100


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"course_codes": ["ENG5"]}, ["name"]),
        ({"name": "", "course_codes": ["ENG5"]}, ["name"]),
        ({"name": "   ", "course_codes": ["ENG5"]}, ["name"]),
        ({"name": "x" * 101, "course_codes": ["ENG5"]}, ["name"]),
        ({"name": 42, "course_codes": ["ENG5"]}, ["name"]),
        ({"name": None, "course_codes": ["ENG5"]}, ["name"]),
        # PostgreSQL text cannot hold U+0000: refused as a field error, not a 500.
        ({"name": "9B\x00English", "course_codes": ["ENG5"]}, ["name"]),
        ({"name": "9B"}, ["course_codes"]),
        ({"name": "9B", "course_codes": []}, ["course_codes"]),
        ({"name": "9B", "course_codes": "ENG5"}, ["course_codes"]),
        ({"name": "9B", "course_codes": [5]}, ["course_codes.0"]),
        ({"name": "9B", "course_codes": ["ENG5", None]}, ["course_codes.1"]),
        ({}, ["name", "course_codes"]),
    ],
)
async def test_create_field_errors_are_invalid_body_with_dot_paths(
    api: Client, payload: dict[str, Any], fields: list[str]
) -> None:
    response = await api.post("/v1/classes/", json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_body")
    assert set(details) == {"reason", "errors"}
    assert sorted(error_fields(details)) == sorted(fields)
    for item in details["errors"]:
        assert set(item) == {"field", "message"}
        assert item["message"]


@pytest.mark.parametrize("payload", [[], "9B English", 42, None, [{"name": "9B"}]])
async def test_a_body_that_is_not_an_object_is_invalid_body_of_field_body(
    api: Client, payload: Any
) -> None:
    response = await api.post("/v1/classes/", json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["body"]


@pytest.mark.parametrize(
    ("codes", "unknown"),
    [
        (["eng5"], ["eng5"]),
        (["ENG8"], ["ENG8"]),
        (["ENG5", "XX", "SV1", "yy"], ["XX", "yy"]),
        ([" ENG5"], [" ENG5"]),
    ],
)
async def test_unknown_course_codes_are_listed_with_the_allowed_ones(
    api: Client, codes: list[str], unknown: list[str]
) -> None:
    response = await api.post(
        "/v1/classes/", json={"name": "9B", "course_codes": codes}, headers=TEACHER
    )
    details = await validation_details(response, "unknown_course_code")
    assert details == {
        "reason": "unknown_course_code",
        "course_codes": unknown,
        "allowed_course_codes": ALLOWED_COURSE_CODES,
    }


@pytest.mark.parametrize("codes", [["ENG5", "SV1"], ["ENG5", "ENG5"], ["SV3", "SV2", "SV1"]])
async def test_more_than_one_course_code_is_multiple_course_codes_as_sent(
    api: Client, codes: list[str]
) -> None:
    response = await api.post(
        "/v1/classes/", json={"name": "9B", "course_codes": codes}, headers=TEACHER
    )
    details = await validation_details(response, "multiple_course_codes")
    assert details == {"reason": "multiple_course_codes", "provided_course_codes": codes}


async def test_field_errors_win_over_course_code_errors(api: Client) -> None:
    response = await api.post(
        "/v1/classes/", json={"name": "", "course_codes": ["XX", "YY"]}, headers=TEACHER
    )
    details = await validation_details(response, "invalid_body")
    assert error_fields(details) == ["name"]


async def test_unknown_course_code_wins_over_multiple(api: Client) -> None:
    response = await api.post(
        "/v1/classes/", json={"name": "9B", "course_codes": ["ENG5", "XX"]}, headers=TEACHER
    )
    details = await validation_details(response, "unknown_course_code")
    assert details["course_codes"] == ["XX"]


async def test_failed_creates_write_nothing(api: Client, engine: AsyncEngine) -> None:
    for payload in (
        {"name": "", "course_codes": ["ENG5"]},
        {"name": "9B", "course_codes": ["XX"]},
        {"name": "9B", "course_codes": ["ENG5", "SV1"]},
    ):
        response = await api.post("/v1/classes/", json=payload, headers=TEACHER)
        assert response.status_code == 400
    assert await count_rows(engine, "classes") == 0
    assert await outbox_rows(engine) == []


# --- read ---------------------------------------------------------------------------------


async def test_get_returns_the_class(api: Client) -> None:
    created = await create_class(api, name="7A Svenska", course="SV1")
    response = await api.get(f"/v1/classes/{created['id']}", headers=TEACHER)
    assert response.status_code == 200
    body = await response.get_json()
    assert_class_shape(body)
    assert body == created


async def test_uppercase_class_id_is_accepted_and_normalised(api: Client) -> None:
    created = await create_class(api)
    body = await get_json(api, f"/v1/classes/{created['id'].upper()}")
    assert body["id"] == created["id"]


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-uuid",
        "06978b2f241d4018a94fa7c67fc7d1c7",
        "{06978b2f-241d-4018-a94f-a7c67fc7d1c7}",
        "urn:uuid:06978b2f-241d-4018-a94f-a7c67fc7d1c7",
        "06978b2f-241d-4018-a94f-a7c67fc7d1c",
        "06978b2f-241d-4018-a94f-a7c67fc7d1c7a",
        "g6978b2f-241d-4018-a94f-a7c67fc7d1c7",
        "123",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_non_canonical_class_id_is_invalid_parameter(
    api: Client, bad: str, method: str
) -> None:
    response = await api.open(
        f"/v1/classes/{bad}",
        method=method,
        headers=TEACHER,
        **({"json": {}} if method == "PUT" else {}),
    )
    details = await validation_details(response, "invalid_parameter")
    assert error_fields(details) == ["class_id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_missing_class_is_404_not_found(api: Client, method: str) -> None:
    class_id = missing_id()
    response = await api.open(
        f"/v1/classes/{class_id}",
        method=method,
        headers=TEACHER,
        **({"json": {"name": "x"}} if method == "PUT" else {}),
    )
    details = await not_found_details(response)
    assert details == {"reason": "not_found", "resource": "class", "id": class_id}


async def test_missing_class_id_in_uppercase_is_reported_lowercase(api: Client) -> None:
    class_id = missing_id()
    response = await api.get(f"/v1/classes/{class_id.upper()}", headers=TEACHER)
    details = await not_found_details(response)
    assert details["id"] == class_id


# --- list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/classes/", "/v1/classes"])
async def test_empty_list(api: Client, path: str) -> None:
    body = await get_json(api, path)
    assert body == {
        "classes": [],
        "pagination": {"limit": 20, "offset": 0, "returned": 0, "total": 0},
    }


async def test_list_shape_and_student_count(api: Client) -> None:
    created = await create_class(api)
    await create_student(api, "Anna", "Lindqvist", class_ids=[created["id"]])
    await create_student(api, "Omar", "Haddad", class_ids=[created["id"]])
    body = await get_json(api, "/v1/classes")
    assert set(body) == {"classes", "pagination"}
    assert body["pagination"] == {"limit": 20, "offset": 0, "returned": 1, "total": 1}
    [item] = body["classes"]
    assert_class_shape(item)
    assert item["id"] == created["id"]
    assert item["student_count"] == 2


async def test_list_order_is_created_at_desc_then_id_desc(api: Client, engine: AsyncEngine) -> None:
    ids = [(await create_class(api, name=f"C{i}"))["id"] for i in range(6)]
    # Three classes share one created_at, so the id decides among them.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE classes SET created_at = '2030-01-01T00:00:00Z' WHERE id = ANY(:ids)"),
            {"ids": ids[:3]},
        )
    body = await get_json(api, "/v1/classes/")
    listed = [item["id"] for item in body["classes"]]
    expected = sorted(ids[:3], reverse=True) + list(reversed(ids[3:]))
    assert listed == expected


async def test_pages_do_not_overlap_or_skip(api: Client) -> None:
    ids = {(await create_class(api, name=f"C{i}"))["id"] for i in range(7)}
    seen: list[str] = []
    for offset in range(0, 9, 3):
        body = await get_json(api, f"/v1/classes/?limit=3&offset={offset}")
        assert body["pagination"]["limit"] == 3
        assert body["pagination"]["offset"] == offset
        assert body["pagination"]["total"] == 7
        assert body["pagination"]["returned"] == len(body["classes"])
        seen += [item["id"] for item in body["classes"]]
    assert len(seen) == 7
    assert set(seen) == ids


async def test_limit_above_100_is_clamped(api: Client) -> None:
    await create_class(api)
    body = await get_json(api, "/v1/classes?limit=1000000000000000000000000")
    assert body["pagination"] == {"limit": 100, "offset": 0, "returned": 1, "total": 1}
    body = await get_json(api, "/v1/classes?limit=101")
    assert body["pagination"]["limit"] == 100


async def test_offset_past_the_end_gives_an_empty_page_with_the_total(api: Client) -> None:
    for i in range(3):
        await create_class(api, name=f"C{i}")
    for offset in ("3", "50", "9223372036854775807", "99999999999999999999999999"):
        body = await get_json(api, f"/v1/classes/?offset={offset}")
        assert body["classes"] == []
        assert body["pagination"]["returned"] == 0
        assert body["pagination"]["total"] == 3


async def test_repeated_parameter_uses_the_first_and_unknown_ones_are_ignored(
    api: Client,
) -> None:
    for i in range(3):
        await create_class(api, name=f"C{i}")
    body = await get_json(api, "/v1/classes/?limit=1&limit=50&colour=red")
    assert body["pagination"]["limit"] == 1
    assert body["pagination"]["returned"] == 1


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("limit=0", ["limit"]),
        ("limit=abc", ["limit"]),
        ("limit=-1", ["limit"]),
        ("limit=1.5", ["limit"]),
        ("limit=+5", ["limit"]),
        ("limit=", ["limit"]),
        ("limit=%C2%B2", ["limit"]),
        ("offset=-1", ["offset"]),
        ("offset=x", ["offset"]),
        ("limit=0&offset=-1", ["limit", "offset"]),
    ],
)
async def test_bad_pagination_is_invalid_parameter(
    api: Client, query: str, fields: list[str]
) -> None:
    response = await api.get(f"/v1/classes/?{query}", headers=TEACHER)
    details = await validation_details(response, "invalid_parameter")
    assert error_fields(details) == fields


# --- update -------------------------------------------------------------------------------


async def test_update_name_only(api: Client) -> None:
    created = await create_class(api)
    response = await api.put(
        f"/v1/classes/{created['id']}", json={"name": " 9B English (spring) "}, headers=TEACHER
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    assert_class_shape(body)
    assert body["name"] == "9B English (spring)"
    assert body["course_code"] == "ENG5"
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] > created["updated_at"]
    assert await get_json(api, f"/v1/classes/{created['id']}") == body


async def test_update_course_only_moves_the_class(api: Client) -> None:
    created = await create_class(api)
    response = await api.put(
        f"/v1/classes/{created['id']}", json={"course_codes": ["SV3"]}, headers=TEACHER
    )
    body = await response.get_json()
    assert response.status_code == 200, body
    assert (body["name"], body["course_code"], body["course_name"], body["language"]) == (
        "9B English",
        "SV3",
        "Svenska 3",
        "sv",
    )
    assert body["updated_at"] > created["updated_at"]


async def test_update_both_keeps_student_count(api: Client) -> None:
    created = await create_class(api)
    await create_student(api, class_ids=[created["id"]])
    response = await api.put(
        f"/v1/classes/{created['id']}",
        json={"name": "New", "course_codes": ["ENG7"]},
        headers=TEACHER,
    )
    body = await response.get_json()
    assert (body["name"], body["course_code"], body["student_count"]) == ("New", "ENG7", 1)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": None, "course_codes": None},
        {"name": "9B English"},
        {"name": "  9B English  "},
        {"course_codes": ["ENG5"]},
        {"name": "9B English", "course_codes": ["ENG5"], "unknown": 1},
    ],
)
async def test_update_without_a_change_is_200_unchanged_and_emits_nothing(
    api: Client, engine: AsyncEngine, payload: dict[str, Any]
) -> None:
    created = await create_class(api)
    before = await outbox_rows(engine)
    response = await api.put(f"/v1/classes/{created['id']}", json=payload, headers=TEACHER)
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body == created
    assert await outbox_rows(engine) == before
    assert await get_json(api, f"/v1/classes/{created['id']}") == created


@pytest.mark.parametrize(
    ("payload", "reason", "fields"),
    [
        ({"name": ""}, "invalid_body", ["name"]),
        ({"name": "x" * 101}, "invalid_body", ["name"]),
        ({"name": ["9B"]}, "invalid_body", ["name"]),
        ({"name": "\x00"}, "invalid_body", ["name"]),
        ({"course_codes": []}, "invalid_body", ["course_codes"]),
        ({"course_codes": [None]}, "invalid_body", ["course_codes.0"]),
        ([], "invalid_body", ["body"]),
        ({"course_codes": ["XX"]}, "unknown_course_code", None),
        ({"course_codes": ["ENG5", "ENG5"]}, "multiple_course_codes", None),
        ({"name": "", "course_codes": ["XX"]}, "invalid_body", ["name"]),
    ],
)
async def test_update_validation(
    api: Client,
    engine: AsyncEngine,
    payload: Any,
    reason: str,
    fields: list[str] | None,
) -> None:
    created = await create_class(api)
    before = await outbox_rows(engine)
    response = await api.put(f"/v1/classes/{created['id']}", json=payload, headers=TEACHER)
    details = await validation_details(response, reason)
    if fields is not None:
        assert error_fields(details) == fields
    assert await get_json(api, f"/v1/classes/{created['id']}") == created
    assert await outbox_rows(engine) == before


async def test_update_invalid_body_wins_over_missing_class(api: Client) -> None:
    response = await api.put(f"/v1/classes/{missing_id()}", json={"name": ""}, headers=TEACHER)
    await validation_details(response, "invalid_body")


async def test_update_course_errors_win_over_missing_class(api: Client) -> None:
    response = await api.put(
        f"/v1/classes/{missing_id()}", json={"course_codes": ["ENG5", "SV1"]}, headers=TEACHER
    )
    await validation_details(response, "multiple_course_codes")


# --- delete -------------------------------------------------------------------------------


async def test_delete_removes_class_and_enrolments_but_keeps_students(
    api: Client, engine: AsyncEngine
) -> None:
    doomed = await create_class(api, name="Doomed")
    kept = await create_class(api, name="Kept")
    student = await create_student(api, class_ids=[doomed["id"], kept["id"]])
    before = len(await outbox_rows(engine))

    response = await api.delete(f"/v1/classes/{doomed['id']}", headers=TEACHER)
    assert response.status_code == 200
    assert await response.get_json() == {"message": "Class deleted successfully"}

    missing = await api.get(f"/v1/classes/{doomed['id']}", headers=TEACHER)
    assert (await not_found_details(missing))["id"] == doomed["id"]
    again = await api.delete(f"/v1/classes/{doomed['id']}", headers=TEACHER)
    await not_found_details(again)

    after = await get_json(api, f"/v1/classes/students/{student['id']}")
    assert after["class_ids"] == [kept["id"]]
    assert (
        await count_rows(engine, "class_student_association", "class_id = :c", c=doomed["id"]) == 0
    )
    assert len(await outbox_rows(engine)) == before
    listed = await get_json(api, "/v1/classes/")
    assert [item["id"] for item in listed["classes"]] == [kept["id"]]
