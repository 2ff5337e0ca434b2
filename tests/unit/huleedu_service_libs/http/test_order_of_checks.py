"""When a request has several problems, the first failing check of §4.4 decides."""

from __future__ import annotations

from typing import Any

from quart.typing import TestClientProtocol as Client

from tests.unit.huleedu_service_libs.http.conftest import CLASS_ID, TEACHER, error_of

TOO_BIG = b"x" * (1_048_576 + 1)
AUTH = {"X-User-ID": TEACHER}


async def _outcome(response: Any) -> tuple[int, str | None]:
    error = error_of(await response.get_json())
    return response.status_code, error["details"].get("reason")


async def test_route_before_method(client: Client) -> None:
    response = await client.patch("/v1/unknown")

    assert await _outcome(response) == (404, "route_not_found")


async def test_method_before_auth(client: Client) -> None:
    response = await client.patch("/v1/things", data=TOO_BIG)

    assert await _outcome(response) == (405, "method_not_allowed")


async def test_auth_before_params_and_body_size(client: Client) -> None:
    # Content-Length above the limit must not pre-empt authentication.
    response = await client.put("/v1/classes/not-a-uuid", data=TOO_BIG)

    assert await _outcome(response) == (401, "missing_user_id")


async def test_params_before_body_size(client: Client) -> None:
    response = await client.put("/v1/classes/not-a-uuid", data=TOO_BIG, headers=AUTH)

    assert await _outcome(response) == (400, "invalid_parameter")


async def test_body_size_before_content_type(client: Client) -> None:
    response = await client.put(
        f"/v1/classes/{CLASS_ID}", data=TOO_BIG, headers={**AUTH, "Content-Type": "text/plain"}
    )

    assert await _outcome(response) == (413, "payload_too_large")


async def test_content_type_before_json_syntax(client: Client) -> None:
    response = await client.put(
        f"/v1/classes/{CLASS_ID}", data=b"{", headers={**AUTH, "Content-Type": "text/plain"}
    )

    assert await _outcome(response) == (400, "unsupported_media_type")


async def test_json_syntax_before_validation(client: Client) -> None:
    response = await client.put(
        f"/v1/classes/{CLASS_ID}",
        data=b'{"name": ',
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert await _outcome(response) == (400, "invalid_json")


async def test_validation_last(client: Client) -> None:
    response = await client.put(f"/v1/classes/{CLASS_ID}", json={"name": ""}, headers=AUTH)

    assert await _outcome(response) == (400, "invalid_body")
