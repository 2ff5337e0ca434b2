"""Bulk import (http-api.md §7.7): JSON and CSV forms, row validation, upsert, all-or-nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.support import (
    OTHER_TEACHER,
    TEACHER,
    TEACHER_ID,
    count_rows,
    create_class,
    create_student,
    error_fields,
    error_of,
    get_json,
    is_lower_uuid,
    missing_id,
    not_found_details,
    outbox_rows,
    table_snapshot,
    validation_details,
)

pytestmark = pytest.mark.integration

CSV = {**TEACHER, "Content-Type": "text/csv"}
STUDENT_CREATED = "huleedu.class.student.created.v1"
STUDENT_UPDATED = "huleedu.class.student.updated.v1"


def bulk_path(class_id: str) -> str:
    return f"/v1/classes/{class_id}/students/bulk"


async def post_csv(
    api: Client, class_id: str, body: str | bytes, content_type: str = "text/csv"
) -> Any:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return await api.post(
        bulk_path(class_id), data=data, headers={**TEACHER, "Content-Type": content_type}
    )


async def ok_json(response: Any) -> dict[str, Any]:
    body = await response.get_json()
    assert response.status_code == 200, body
    assert response.headers["Content-Type"].startswith("application/json")
    return body


def rows(count: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"student{i}@example.com"}
        for i in range(start, start + count)
    ]


# --- success ------------------------------------------------------------------------------


async def test_json_import_upserts_by_email_with_the_contract_outcomes(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    class_id = school_class["id"]
    anna = await create_student(
        api, "Anna", "Lindqvist", email="anna.lindqvist@example.com", class_ids=[class_id]
    )
    sara = await create_student(api, "Sara", "Berg", email="sara.berg@example.com")

    response = await api.post(
        bulk_path(class_id),
        json=[
            {
                "first_name": "Anna",
                "last_name": "Lindqvist",
                "email": "Anna.Lindqvist@example.com",
                "legal_full_name": "Anna Maria Lindqvist",
            },
            {"first_name": "Omar", "last_name": "Haddad", "email": None},
            {"first_name": "SARA", "last_name": "BERG-CHANGED", "email": "sara.berg@example.com"},
        ],
        headers=TEACHER,
    )
    body = await ok_json(response)
    assert set(body) == {"class_id", "summary", "results"}
    assert body["class_id"] == class_id
    assert body["summary"] == {"total_rows": 3, "created": 1, "enrolled": 1, "already_enrolled": 1}
    results = body["results"]
    assert [(r["row"], r["outcome"], r["email"]) for r in results] == [
        (1, "already_enrolled", "anna.lindqvist@example.com"),
        (2, "created", None),
        (3, "enrolled", "sara.berg@example.com"),
    ]
    assert all(set(r) == {"row", "outcome", "student_id", "email"} for r in results)
    assert results[0]["student_id"] == anna["id"]
    assert results[2]["student_id"] == sara["id"]
    assert is_lower_uuid(results[1]["student_id"])

    # Existing students keep their names; the new one is enrolled and owned by the caller.
    assert await get_json(api, f"/v1/classes/students/{anna['id']}") == anna
    sara_now = await get_json(api, f"/v1/classes/students/{sara['id']}")
    assert (sara_now["first_name"], sara_now["last_name"]) == ("Sara", "Berg")
    assert sara_now["class_ids"] == [class_id]
    assert sara_now["updated_at"] > sara["updated_at"]
    omar = await get_json(api, f"/v1/classes/students/{results[1]['student_id']}")
    assert (omar["full_name"], omar["legal_full_name"], omar["class_ids"]) == (
        "Omar Haddad",
        "Omar Haddad",
        [class_id],
    )
    assert (await get_json(api, f"/v1/classes/{class_id}"))["student_count"] == 3
    assert await count_rows(engine, "students", "created_by_user_id = :o", o=TEACHER_ID) == 3


async def test_rows_without_email_always_create_new_students(api: Client) -> None:
    school_class = await create_class(api)
    payload = [{"first_name": "Same", "last_name": "Name"}] * 3
    body = await ok_json(
        await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    )
    assert [r["outcome"] for r in body["results"]] == ["created"] * 3
    assert len({r["student_id"] for r in body["results"]}) == 3
    again = await ok_json(
        await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    )
    assert again["summary"]["created"] == 3


async def test_another_teachers_student_with_the_same_email_is_not_used(api: Client) -> None:
    theirs = await create_student(api, email="shared@example.com", headers=OTHER_TEACHER)
    school_class = await create_class(api)
    body = await ok_json(
        await api.post(
            bulk_path(school_class["id"]),
            json=[{"first_name": "A", "last_name": "B", "email": "shared@example.com"}],
            headers=TEACHER,
        )
    )
    assert body["results"][0]["outcome"] == "created"
    assert body["results"][0]["student_id"] != theirs["id"]


async def test_repeating_an_import_is_idempotent(api: Client) -> None:
    school_class = await create_class(api)
    first = await ok_json(
        await api.post(bulk_path(school_class["id"]), json=rows(4), headers=TEACHER)
    )
    second = await ok_json(
        await api.post(bulk_path(school_class["id"]), json=rows(4), headers=TEACHER)
    )
    assert second["summary"] == {
        "total_rows": 4,
        "created": 0,
        "enrolled": 0,
        "already_enrolled": 4,
    }
    assert [r["student_id"] for r in first["results"]] == [
        r["student_id"] for r in second["results"]
    ]


async def test_csv_with_bom_crlf_quotes_blank_lines_and_four_columns(api: Client) -> None:
    school_class = await create_class(api)
    body = (
        "\ufefffirst_name,last_name,email,legal_full_name\r\n"
        '"Anna","Lindqvist","Anna.Lindqvist@example.com","Anna Maria Lindqvist"\r\n'
        "\r\n"
        'Omar,"Haddad, Jr.",,\r\n'
        '"Sa""ra",Berg,sara.berg@example.com,\r\n'
        '"Multi\r\nLine",Name,,\r\n'
        "\r\n"
    )
    result = await ok_json(await post_csv(api, school_class["id"], body))
    assert result["summary"] == {
        "total_rows": 4,
        "created": 4,
        "enrolled": 0,
        "already_enrolled": 0,
    }
    assert [r["row"] for r in result["results"]] == [1, 2, 3, 4]
    students = [
        await get_json(api, f"/v1/classes/students/{r['student_id']}") for r in result["results"]
    ]
    assert [
        (s["first_name"], s["last_name"], s["legal_full_name"], s["email"]) for s in students
    ] == [
        ("Anna", "Lindqvist", "Anna Maria Lindqvist", "anna.lindqvist@example.com"),
        ("Omar", "Haddad, Jr.", "Omar Haddad, Jr.", None),
        ('Sa"ra', "Berg", 'Sa"ra Berg', "sara.berg@example.com"),
        ("Multi\r\nLine", "Name", "Multi\r\nLine Name", None),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "first_name,last_name,email",
        " First_Name , LAST_NAME ,Email ",
        "FIRST_NAME,Last_Name,EMAIL,Legal_Full_Name",
        '"first_name","last_name","email"',
    ],
)
@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8", "Text/CSV"])
async def test_csv_header_tolerates_case_and_whitespace(
    api: Client, header: str, content_type: str
) -> None:
    school_class = await create_class(api)
    columns = header.count(",") + 1
    line = "Anna,Lindqvist,anna@example.com" + ("," if columns == 4 else "")
    body = await ok_json(
        await post_csv(api, school_class["id"], f"{header}\n{line}\n", content_type=content_type)
    )
    assert body["summary"]["created"] == 1


async def test_csv_row_numbers_skip_header_and_blank_lines(api: Client) -> None:
    school_class = await create_class(api)
    body = "first_name,last_name,email\n\nAnna,L,\n\n\n,Missing,\nOmar,H,bad-email\nToo,Many,x,y\n"
    response = await post_csv(api, school_class["id"], body)
    details = await validation_details(response, "invalid_rows")
    assert set(details) == {"reason", "errors"}
    assert [e["row"] for e in details["errors"]] == [2, 3, 4]
    # Row 4 has the wrong number of fields; the field it names is not part of the contract.
    assert [(e["row"], e["field"]) for e in details["errors"][:2]] == [
        (2, "first_name"),
        (3, "email"),
    ]
    assert all(set(e) == {"row", "field", "message"} for e in details["errors"])


# --- request-level errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "first,last,email\nAnna,L,\n",
        "first_name,last_name\nAnna,L\n",
        "first_name,last_name,email,legal_full_name,extra\nA,B,,,\n",
        "last_name,first_name,email\nL,Anna,\n",
        "email,first_name,last_name\n,Anna,L\n",
        "Anna,Lindqvist,anna@example.com\n",
        "",
        "\r\n\r\n",
    ],
)
async def test_wrong_or_missing_csv_header_is_invalid_body_field_header(
    api: Client, body: str
) -> None:
    school_class = await create_class(api)
    details = await validation_details(
        await post_csv(api, school_class["id"], body), "invalid_body"
    )
    assert error_fields(details) == ["header"]


@pytest.mark.parametrize(
    "body", ["first_name,last_name,email\n", "first_name,last_name,email\n\n\n"]
)
async def test_csv_without_rows_is_invalid_body(api: Client, body: str) -> None:
    school_class = await create_class(api)
    await validation_details(await post_csv(api, school_class["id"], body), "invalid_body")


@pytest.mark.parametrize("payload", [[], {}, {"rows": []}, "rows", 5, None])
async def test_json_that_is_not_a_non_empty_array_is_invalid_body(
    api: Client, payload: Any
) -> None:
    school_class = await create_class(api)
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    await validation_details(response, "invalid_body")


async def test_non_object_json_rows_are_row_errors(api: Client) -> None:
    school_class = await create_class(api)
    payload = [{"first_name": "A", "last_name": "B"}, "Anna", None, [1], 5]
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_rows")
    assert [e["row"] for e in details["errors"]] == [2, 3, 4, 5]


@pytest.mark.performance
@pytest.mark.parametrize("form", ["json", "csv"])
async def test_5001_rows_is_too_many_rows(api: Client, engine: AsyncEngine, form: str) -> None:
    school_class = await create_class(api)
    many = rows(5001)
    if form == "json":
        response = await api.post(bulk_path(school_class["id"]), json=many, headers=TEACHER)
    else:
        lines = ["first_name,last_name,email"] + [
            f"{r['first_name']},{r['last_name']},{r['email']}" for r in many
        ]
        response = await post_csv(api, school_class["id"], "\n".join(lines))
    details = await validation_details(response, "too_many_rows")
    assert details == {"reason": "too_many_rows", "max_rows": 5000, "rows": 5001}
    assert await count_rows(engine, "students") == 0


async def test_too_many_rows_wins_over_invalid_rows(api: Client) -> None:
    school_class = await create_class(api)
    payload: list[Any] = ["not an object"] * 5001
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    await validation_details(response, "too_many_rows")


async def test_wrong_header_wins_over_too_many_rows(api: Client) -> None:
    school_class = await create_class(api)
    body = "a,b,c\n" + "x,y,z\n" * 5001
    details = await validation_details(
        await post_csv(api, school_class["id"], body), "invalid_body"
    )
    assert error_fields(details) == ["header"]


async def test_invalid_rows_are_all_reported_together(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    payload = [
        {"first_name": "Ok", "last_name": "Row", "email": "ok@example.com"},
        {"last_name": "NoFirst"},
        {"first_name": "  ", "last_name": "x" * 256},
        {"first_name": "A", "last_name": "B", "email": "not-an-email"},
        {"first_name": "A", "last_name": "B", "legal_full_name": "y" * 513},
        {"first_name": 5, "last_name": "B", "email": ""},
    ]
    before = await table_snapshot(engine)
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_rows")
    found = sorted((e["row"], e["field"]) for e in details["errors"])
    assert found == [
        (2, "first_name"),
        (3, "first_name"),
        (3, "last_name"),
        (4, "email"),
        (5, "legal_full_name"),
        (6, "email"),
        (6, "first_name"),
    ]
    assert [e["row"] for e in details["errors"]] == sorted(e["row"] for e in details["errors"])
    assert await table_snapshot(engine) == before


async def test_nul_characters_are_row_errors_not_500(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    body = "first_name,last_name,email,legal_full_name\nA\x00,B,,\nC,D,,E\x00F\n"
    details = await validation_details(
        await post_csv(api, school_class["id"], body), "invalid_rows"
    )
    assert [(e["row"], e["field"]) for e in details["errors"]] == [
        (1, "first_name"),
        (2, "legal_full_name"),
    ]
    assert await count_rows(engine, "students") == 0


async def test_duplicate_emails_in_a_request_report_both_rows(api: Client) -> None:
    school_class = await create_class(api)
    payload = [
        {"first_name": "A", "last_name": "One", "email": "Same@Example.com"},
        {"first_name": "B", "last_name": "Two", "email": "other@example.com"},
        {"first_name": "C", "last_name": "Three", "email": " same@example.COM "},
        {"first_name": "D", "last_name": "Four"},
        {"first_name": "E", "last_name": "Five"},
    ]
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_rows")
    assert [(e["row"], e["field"]) for e in details["errors"]] == [(1, "email"), (3, "email")]


async def test_missing_and_foreign_classes_are_404(api: Client) -> None:
    foreign = await create_class(api, headers=OTHER_TEACHER)
    for class_id in (missing_id(), foreign["id"]):
        response = await api.post(bulk_path(class_id), json=rows(1), headers=TEACHER)
        details = await not_found_details(response)
        assert details == {"reason": "not_found", "resource": "class", "id": class_id}
    csv_response = await post_csv(api, foreign["id"], "first_name,last_name,email\nA,B,\n")
    await not_found_details(csv_response)


async def test_row_errors_win_over_a_missing_class(api: Client) -> None:
    response = await api.post(bulk_path(missing_id()), json=[{"first_name": "A"}], headers=TEACHER)
    await validation_details(response, "invalid_rows")


async def test_bad_class_id_is_invalid_parameter(api: Client) -> None:
    response = await api.post(bulk_path("nope"), json=rows(1), headers=TEACHER)
    details = await validation_details(response, "invalid_parameter")
    assert error_fields(details) == ["class_id"]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", "text/plain"),
        ("application/xml", "application/xml"),
        ("multipart/form-data; boundary=x", "multipart/form-data; boundary=x"),
        (None, None),
    ],
)
async def test_other_media_types_are_unsupported(
    api: Client, content_type: str | None, expected: str | None
) -> None:
    school_class = await create_class(api)
    headers = dict(TEACHER)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await api.post(
        bulk_path(school_class["id"]), data=b"first_name,last_name,email\nA,B,\n", headers=headers
    )
    details = await validation_details(response, "unsupported_media_type")
    assert details == {"reason": "unsupported_media_type", "content_type": expected}


async def test_csv_that_is_not_utf8_is_rejected(api: Client) -> None:
    school_class = await create_class(api)
    response = await post_csv(
        api, school_class["id"], "first_name,last_name,email\nJ\xf6rn,B,\n".encode("latin-1")
    )
    # Not UTF-8: a 400 (the contract names no reason for CSV; JSON uses invalid_json).
    error = await error_of(response, 400, "VALIDATION_ERROR")
    assert error["details"]["reason"] in {"invalid_body", "invalid_json"}


async def test_invalid_json_body(api: Client) -> None:
    school_class = await create_class(api)
    response = await api.post(
        bulk_path(school_class["id"]),
        data=b'[{"first_name": "A",',
        headers={**TEACHER, "Content-Type": "application/json"},
    )
    assert await validation_details(response, "invalid_json") == {"reason": "invalid_json"}


# --- volume -------------------------------------------------------------------------------


@pytest.mark.performance
async def test_5000_rows_import_in_one_request(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    class_id = school_class["id"]
    payload = rows(5000)
    assert len(json.dumps(payload)) < 1_048_576
    correlation_id = "1dadebc3-de19-442c-bd92-c7a1c7eae297"
    response = await api.post(
        bulk_path(class_id),
        json=payload,
        headers={**TEACHER, "X-Correlation-ID": correlation_id},
    )
    body = await ok_json(response)
    assert body["summary"] == {
        "total_rows": 5000,
        "created": 5000,
        "enrolled": 0,
        "already_enrolled": 0,
    }
    assert [r["row"] for r in body["results"]] == list(range(1, 5001))
    assert len({r["student_id"] for r in body["results"]}) == 5000
    assert await count_rows(engine, "students") == 5000
    assert (
        await count_rows(engine, "class_student_association", "class_id = :c", c=class_id) == 5000
    )
    assert (await get_json(api, f"/v1/classes/{class_id}"))["student_count"] == 5000
    async with engine.connect() as conn:
        summary = (
            await conn.execute(
                text(
                    "SELECT destination, topic, count(*), count(DISTINCT event_key),"
                    " count(DISTINCT event_data->>'correlation_id')"
                    " FROM event_outbox WHERE aggregate_type = 'student'"
                    " GROUP BY destination, topic"
                )
            )
        ).all()
    assert [tuple(row) for row in summary] == [("kafka", STUDENT_CREATED, 5000, 5000, 1)]
    # Only the class creation's rows besides them: a bulk import sends no notifications.
    assert await count_rows(engine, "event_outbox", "destination = 'redis'") == 1
    roster = await get_json(api, f"/v1/classes/{class_id}/roster")
    assert len(roster["students"]) == 5000


@pytest.mark.performance
async def test_one_invalid_row_among_5000_changes_nothing(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    payload = rows(5000)
    payload[4321] = {**payload[4321], "email": "broken@"}
    before = await table_snapshot(engine)
    response = await api.post(bulk_path(school_class["id"]), json=payload, headers=TEACHER)
    details = await validation_details(response, "invalid_rows")
    assert [(e["row"], e["field"]) for e in details["errors"]] == [(4322, "email")]
    assert await table_snapshot(engine) == before


async def test_mixed_outcomes_write_the_matching_events(api: Client, engine: AsyncEngine) -> None:
    school_class = await create_class(api)
    class_id = school_class["id"]
    await ok_json(await api.post(bulk_path(class_id), json=rows(3), headers=TEACHER))
    other = await create_class(api, name="Other")
    # Two of these rows' students exist (not in `other`), one is new.
    before = len(await outbox_rows(engine))
    body = await ok_json(
        await api.post(bulk_path(other["id"]), json=rows(3, start=1), headers=TEACHER)
    )
    assert [r["outcome"] for r in body["results"]] == ["enrolled", "enrolled", "created"]
    new_rows = (await outbox_rows(engine))[before:]
    assert sorted(row["topic"] for row in new_rows) == [STUDENT_CREATED] + [STUDENT_UPDATED] * 2
    assert all(row["destination"] == "kafka" for row in new_rows)
