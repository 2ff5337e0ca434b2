"""Body reading follows §4.4 steps 5-7: size, content type, JSON, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from huleedu_service_libs.error_handling import HuleEduError
from huleedu_service_libs.http import HuleEduApp, decode_json, parse_model
from huleedu_service_libs.http.body import MAX_BODY_BYTES
from tests.unit.huleedu_service_libs.http.conftest import (
    CLASS_ID,
    TEACHER,
    CreateThing,
    error_of,
)

AUTH = {"X-User-ID": TEACHER}
JSON = {"Content-Type": "application/json"}
VALID = {"name": " 9B ", "person_name": {"first_name": "Anna", "last_name": "Lindqvist"}}


def _padded_json(size: int) -> bytes:
    """A valid request body of exactly ``size`` bytes (whitespace padding is legal JSON)."""
    text = json.dumps(VALID).encode()
    return text + b" " * (size - len(text))


async def _details(response: Any) -> dict[str, Any]:
    error = error_of(await response.get_json())
    details: dict[str, Any] = error["details"]
    return details


async def test_valid_body_is_parsed_into_the_model(client: Client) -> None:
    response = await client.post("/v1/things", json=VALID, headers=AUTH)

    assert response.status_code == 201
    assert (await response.get_json())["name"] == "9B"


async def test_body_of_exactly_one_mib_is_accepted(client: Client) -> None:
    response = await client.post(
        "/v1/things", data=_padded_json(MAX_BODY_BYTES), headers={**AUTH, **JSON}
    )

    assert response.status_code == 201


async def test_body_one_byte_over_one_mib_is_413(client: Client) -> None:
    response = await client.post(
        "/v1/things", data=_padded_json(MAX_BODY_BYTES + 1), headers={**AUTH, **JSON}
    )

    assert response.status_code == 413
    error = error_of(await response.get_json())
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == {"reason": "payload_too_large", "max_bytes": 1048576}


async def test_streamed_body_without_content_length_is_limited_too(client: Client) -> None:
    async with client.request("/v1/things", method="POST", headers={**AUTH, **JSON}) as connection:
        for _ in range(17):
            await connection.send(b" " * 65_536)
        await connection.send_complete()
    response = await connection.as_response()

    assert response.status_code == 413


async def test_own_limit_applies_when_quart_limit_is_disabled(app: HuleEduApp) -> None:
    app.config["MAX_CONTENT_LENGTH"] = None

    response = await app.test_client().post(
        "/v1/things", data=_padded_json(MAX_BODY_BYTES + 1), headers={**AUTH, **JSON}
    )

    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
async def test_json_content_types_are_accepted(client: Client, content_type: str) -> None:
    response = await client.post(
        "/v1/things",
        data=json.dumps(VALID).encode(),
        headers={**AUTH, "Content-Type": content_type},
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("content_type", "reported"),
    [
        ("text/plain", "text/plain"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("application/jsonx; charset=utf-8", "application/jsonx; charset=utf-8"),
        ("", ""),
        (None, None),
    ],
)
async def test_other_content_types_are_unsupported_media_type(
    client: Client, content_type: str | None, reported: str | None
) -> None:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = await client.post("/v1/things", data=json.dumps(VALID).encode(), headers=headers)

    assert response.status_code == 400
    assert await _details(response) == {
        "reason": "unsupported_media_type",
        "content_type": reported,
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"name": "a",}',
        b"\xff\xfe{}",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b'{"name": "\\ud800"}',
        b"[" * 100_000,
        "\ufeff{}".encode(),
    ],
)
async def test_malformed_json_is_invalid_json(client: Client, raw: bytes) -> None:
    response = await client.post("/v1/things", data=raw, headers={**AUTH, **JSON})

    assert response.status_code == 400
    assert await _details(response) == {"reason": "invalid_json"}


async def test_all_field_errors_are_reported_together_with_dot_paths(
    client: Client,
) -> None:
    body = {"name": "   ", "person_name": {"last_name": 7}, "class_ids": [CLASS_ID, "nope"]}

    response = await client.post("/v1/things", json=body, headers=AUTH)

    assert response.status_code == 400
    details = await _details(response)
    assert details["reason"] == "invalid_body"
    messages = {item["field"]: item["message"] for item in details["errors"]}
    assert set(messages) == {
        "name",
        "person_name.first_name",
        "person_name.last_name",
        "class_ids.1",
    }
    assert messages["name"] == "must be 1-100 characters after trimming"
    assert all(set(item) == {"field", "message"} for item in details["errors"])


@pytest.mark.parametrize("top_level", [[], "text", 1, None])
async def test_non_object_top_level_is_an_error_of_the_whole_body(
    client: Client, top_level: object
) -> None:
    response = await client.post(
        "/v1/things", data=json.dumps(top_level).encode(), headers={**AUTH, **JSON}
    )

    details = await _details(response)
    assert details["reason"] == "invalid_body"
    assert [item["field"] for item in details["errors"]] == ["body"]


async def test_extra_content_type_returns_the_raw_body(client: Client) -> None:
    csv = b"first_name,last_name,email\nAnna,Lindqvist,\n"

    response = await client.post(
        f"/v1/classes/{CLASS_ID}/students/bulk",
        data=csv,
        headers={**AUTH, "Content-Type": "text/csv; charset=utf-8"},
    )

    assert await response.get_json() == {"media_type": "text/csv", "size": len(csv)}


async def test_extra_content_type_route_still_decodes_json(client: Client) -> None:
    response = await client.post(
        f"/v1/classes/{CLASS_ID}/students/bulk", json=[{"first_name": "A"}], headers=AUTH
    )

    assert await response.get_json() == {
        "media_type": "application/json",
        "json": [{"first_name": "A"}],
    }


async def test_oversized_csv_is_413(client: Client) -> None:
    response = await client.post(
        f"/v1/classes/{CLASS_ID}/students/bulk",
        data=b"a" * (MAX_BODY_BYTES + 1),
        headers={**AUTH, "Content-Type": "text/csv"},
    )

    assert response.status_code == 413


def test_decode_json_accepts_surrogate_pairs() -> None:
    assert decode_json(b'{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}


def test_parse_model_maps_errors_without_http() -> None:
    with pytest.raises(HuleEduError) as caught:
        parse_model(CreateThing, {"person_name": "x"})

    fields = [item["field"] for item in caught.value.details["errors"]]
    assert fields == ["name", "person_name"]
