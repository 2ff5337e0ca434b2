"""Path/query parameters: canonical UUIDs, pagination (§5) and the class-id path segment."""

from __future__ import annotations

from uuid import UUID

import pytest
from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import Map, MapAdapter, Rule

from huleedu_service_libs.error_handling import HuleEduError
from huleedu_service_libs.http import ClassIdConverter, parse_pagination, parse_uuid
from tests.unit.huleedu_service_libs.http.conftest import CLASS_ID, TEACHER, error_of


def test_parse_uuid_accepts_either_case_and_normalises() -> None:
    assert parse_uuid(CLASS_ID.upper(), "class_id") == UUID(CLASS_ID)
    assert str(parse_uuid(CLASS_ID.upper(), "class_id")) == CLASS_ID


@pytest.mark.parametrize(
    "value",
    [
        CLASS_ID.replace("-", ""),
        "{" + CLASS_ID + "}",
        "urn:uuid:" + CLASS_ID,
        CLASS_ID + "\n",
        CLASS_ID[:-1] + "g",
        "",
        "students",
    ],
)
def test_parse_uuid_rejects_other_forms_naming_the_field(value: str) -> None:
    with pytest.raises(HuleEduError) as caught:
        parse_uuid(value, "class_id")

    assert caught.value.status_code == 400
    assert caught.value.details["reason"] == "invalid_parameter"
    assert [item["field"] for item in caught.value.details["errors"]] == ["class_id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (20, 0)),
        ({"limit": "1", "offset": "0"}, (1, 0)),
        ({"limit": "100"}, (100, 0)),
        ({"limit": "101"}, (100, 0)),
        ({"limit": "9" * 5000}, (100, 0)),
        ({"limit": "007", "offset": "0042"}, (7, 42)),
        ({"offset": "9" * 5000}, (20, 2**63 - 1)),
        ({"unknown": "x"}, (20, 0)),
    ],
)
def test_pagination_defaults_and_clamping(query: dict[str, str], expected: tuple[int, int]) -> None:
    assert parse_pagination(MultiDict(query)) == expected


def test_first_occurrence_of_a_repeated_parameter_wins() -> None:
    args = MultiDict([("limit", "5"), ("limit", "abc"), ("offset", "2"), ("offset", "-1")])

    assert parse_pagination(args) == (5, 2)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"limit": "0"}, ["limit"]),
        ({"limit": "-1"}, ["limit"]),
        ({"limit": ""}, ["limit"]),
        ({"limit": "1.5"}, ["limit"]),
        ({"limit": " 5"}, ["limit"]),
        ({"limit": "²"}, ["limit"]),
        ({"limit": "٣"}, ["limit"]),
        ({"offset": "-1"}, ["offset"]),
        ({"offset": "1e3"}, ["offset"]),
        ({"limit": "x", "offset": "y"}, ["limit", "offset"]),
    ],
)
def test_invalid_pagination_is_invalid_parameter(query: dict[str, str], fields: list[str]) -> None:
    with pytest.raises(HuleEduError) as caught:
        parse_pagination(MultiDict(query))

    assert caught.value.details["reason"] == "invalid_parameter"
    assert [item["field"] for item in caught.value.details["errors"]] == fields


async def test_pagination_over_http(client: Client) -> None:
    response = await client.get(
        "/v1/things/?limit=500&offset=3&limit=1", headers={"X-User-ID": TEACHER}
    )
    invalid = await client.get("/v1/things?limit=0", headers={"X-User-ID": TEACHER})

    assert await response.get_json() == {"limit": 100, "offset": 3}
    assert invalid.status_code == 400
    assert error_of(await invalid.get_json())["details"]["errors"][0]["field"] == "limit"


def _adapter() -> MapAdapter:
    url_map = Map(
        [
            Rule("/v1/classes/students", methods=["GET", "POST"], endpoint="students"),
            Rule("/v1/classes/students/", methods=["GET", "POST"], endpoint="students"),
            Rule("/v1/classes/students/<student_id>", methods=["GET", "PUT"], endpoint="student"),
            Rule("/v1/classes/<class_id:class_id>", methods=["GET", "PUT"], endpoint="class"),
            Rule("/v1/classes/<class_id:class_id>/roster", methods=["GET"], endpoint="roster"),
        ],
        converters={"class_id": ClassIdConverter},
    )
    return url_map.bind("localhost")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/v1/classes/students", ("students", {})),
        ("GET", f"/v1/classes/{CLASS_ID}", ("class", {"class_id": CLASS_ID})),
        ("PUT", "/v1/classes/not-a-uuid", ("class", {"class_id": "not-a-uuid"})),
        ("GET", "/v1/classes/Students", ("class", {"class_id": "Students"})),
        ("GET", "/v1/classes/studentsx", ("class", {"class_id": "studentsx"})),
        ("GET", "/v1/classes/students/roster", ("student", {"student_id": "roster"})),
    ],
)
def test_converter_matches_any_segment_but_students(
    method: str, path: str, expected: tuple[str, dict[str, str]]
) -> None:
    assert _adapter().match(path, method=method) == expected


@pytest.mark.parametrize("path", ["/v1/classes/students", "/v1/classes/students/"])
def test_wrong_method_on_student_list_is_405_not_a_class(path: str) -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        _adapter().match(path, method="PUT")

    assert sorted(caught.value.valid_methods or ()) == ["GET", "HEAD", "POST"]


def test_students_roster_is_never_a_class_roster() -> None:
    with pytest.raises(MethodNotAllowed):
        _adapter().match("/v1/classes/students/roster", method="POST")
