"""Teacher (§2.1), service (§2.2) and dual-mode roster (§2.3) authentication."""

from __future__ import annotations

import pytest
from quart import request
from quart.typing import TestClientProtocol as Client

from huleedu_service_libs.error_handling import HuleEduError
from huleedu_service_libs.http import (
    HuleEduApp,
    has_service_credentials,
    require_service,
    require_teacher,
)
from tests.unit.huleedu_service_libs.http.conftest import API_KEY, CLASS_ID, TEACHER, error_of


async def _reason_for_teacher(app: HuleEduApp, headers: dict[str, str]) -> str | None:
    async with app.test_request_context("/", headers=headers):
        try:
            require_teacher(request)
        except HuleEduError as error:
            return _auth_reason(error)
    return None


def _auth_reason(error: HuleEduError) -> str | None:
    """The reason of a 401 AUTHENTICATION_ERROR (anything else fails the test)."""
    assert (error.status_code, error.error_code) == (401, "AUTHENTICATION_ERROR")
    return error.reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_user_id"),
        ({"X-User-ID": ""}, "missing_user_id"),
        ({"X-User-ID": "   "}, "missing_user_id"),
        ({"X-User-ID": "a" * 256}, "invalid_user_id"),
        ({"X-User-ID": "SYSTEM_TIMEOUT"}, "invalid_user_id"),
        ({"X-User-ID": "nlp_service_phase1"}, "invalid_user_id"),
        ({"X-User-ID": "a" * 255}, None),
        ({"X-User-ID": "system_timeout"}, None),
        ({"X-User-ID": TEACHER, "X-Org-ID": "whatever"}, None),
    ],
)
async def test_teacher_header_rules(
    app: HuleEduApp, headers: dict[str, str], reason: str | None
) -> None:
    assert await _reason_for_teacher(app, headers) == reason


async def test_teacher_id_is_returned_exactly(app: HuleEduApp) -> None:
    async with app.test_request_context("/", headers={"X-User-ID": "Teacher.Ä-42"}):
        assert require_teacher(request) == "Teacher.Ä-42"


async def _reason_for_service(
    app: HuleEduApp,
    headers: dict[str, str],
    *,
    api_key: str | None = API_KEY,
    allowed: frozenset[str] = frozenset(),
) -> str | None:
    async with app.test_request_context("/", headers=headers):
        try:
            service_id = require_service(request, api_key=api_key, allowed_service_ids=allowed)
        except HuleEduError as error:
            return _auth_reason(error)
    assert service_id == headers["X-Service-ID"]
    return None


GOOD = {"X-Internal-API-Key": API_KEY, "X-Service-ID": "essay_service"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_service_credentials"),
        ({"X-Internal-API-Key": API_KEY}, "missing_service_credentials"),
        ({"X-Service-ID": "essay_service"}, "missing_service_credentials"),
        ({**GOOD, "X-Service-ID": " "}, "missing_service_credentials"),
        ({**GOOD, "X-Internal-API-Key": ""}, "missing_service_credentials"),
        ({**GOOD, "X-Internal-API-Key": "wrong"}, "invalid_service_credentials"),
        ({**GOOD, "X-Internal-API-Key": API_KEY + "x"}, "invalid_service_credentials"),
        (GOOD, None),
    ],
)
async def test_service_credentials(
    app: HuleEduApp, headers: dict[str, str], reason: str | None
) -> None:
    assert await _reason_for_service(app, headers) == reason


@pytest.mark.parametrize("api_key", [None, ""])
async def test_no_configured_key_refuses_every_call(app: HuleEduApp, api_key: str | None) -> None:
    assert (
        await _reason_for_service(app, {**GOOD, "X-Internal-API-Key": ""}, api_key=api_key)
        == "missing_service_credentials"
    )
    assert await _reason_for_service(app, GOOD, api_key=api_key) == "invalid_service_credentials"


async def test_allow_list_is_checked_after_the_key(app: HuleEduApp) -> None:
    allowed = frozenset({"batch_orchestrator_service"})

    assert await _reason_for_service(app, GOOD, allowed=allowed) == "service_not_allowed"
    assert (
        await _reason_for_service(app, {**GOOD, "X-Internal-API-Key": "wrong"}, allowed=allowed)
        == "invalid_service_credentials"
    )
    assert await _reason_for_service(app, GOOD, allowed=frozenset({"essay_service"})) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, False),
        ({"X-User-ID": TEACHER}, False),
        ({"X-Internal-API-Key": ""}, True),
        ({"X-Service-ID": "essay_service"}, True),
    ],
)
async def test_service_mode_is_chosen_by_header_presence(
    app: HuleEduApp, headers: dict[str, str], expected: bool
) -> None:
    async with app.test_request_context("/", headers=headers):
        assert has_service_credentials(request) is expected


async def test_roster_service_mode_does_not_fall_back_to_user_id(client: Client) -> None:
    response = await client.get(
        f"/v1/classes/{CLASS_ID}/roster",
        headers={"X-User-ID": TEACHER, "X-Service-ID": "essay_service"},
    )

    assert response.status_code == 401
    error = error_of(await response.get_json())
    assert error["code"] == "AUTHENTICATION_ERROR"
    assert error["details"] == {"reason": "missing_service_credentials"}


async def test_roster_accepts_either_mode(client: Client) -> None:
    as_teacher = await client.get(f"/v1/classes/{CLASS_ID}/roster", headers={"X-User-ID": TEACHER})
    as_service = await client.get(f"/v1/classes/{CLASS_ID}/roster", headers=GOOD)

    assert (await as_teacher.get_json())["caller"] == TEACHER
    assert (await as_service.get_json())["caller"] == "essay_service"


async def test_internal_route_ignores_user_id(client: Client) -> None:
    response = await client.get("/internal/v1/ping", headers={"X-User-ID": TEACHER})

    assert error_of(await response.get_json())["details"] == {
        "reason": "missing_service_credentials"
    }
