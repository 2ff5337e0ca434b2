"""The effective correlation id (contract §3) is resolved once and echoed on every response."""

from __future__ import annotations

from uuid import UUID

import pytest
import structlog
from quart import Response, g
from quart.typing import TestClientProtocol as Client

from huleedu_service_libs.http import HuleEduApp, current_correlation_id, json_response
from huleedu_service_libs.http.correlation import resolve_correlation_id
from tests.unit.huleedu_service_libs.http.conftest import TEACHER, error_of

INCOMING = "1DADEBC3-DE19-442C-BD92-C7A1C7EAE297"


def _echoed(response: Response) -> UUID:
    values = response.headers.getlist("X-Correlation-ID")
    assert len(values) == 1
    assert values[0] == values[0].lower()
    return UUID(values[0])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/things", 200),
        ("GET", "/v1/nope", 404),
        ("DELETE", "/v1/things", 405),
        ("GET", "/boom", 500),
        ("GET", "/db-down", 502),
        ("GET", "/teardown-fails", 502),
    ],
)
async def test_valid_incoming_id_is_echoed_lower_case_on_every_response(
    client: Client, method: str, path: str, status: int
) -> None:
    send = getattr(client, method.lower())
    response = await send(path, headers={"X-User-ID": TEACHER, "X-Correlation-ID": INCOMING})

    assert response.status_code == status
    assert response.headers["X-Correlation-ID"] == INCOMING.lower()


async def test_413_echoes_the_correlation_id(client: Client) -> None:
    response = await client.post(
        "/v1/things",
        data=b"x" * (1_048_576 + 1),
        headers={"X-User-ID": TEACHER, "X-Correlation-ID": INCOMING},
    )

    assert response.status_code == 413
    assert response.headers["X-Correlation-ID"] == INCOMING.lower()
    assert error_of(await response.get_json())["correlation_id"] == INCOMING.lower()


@pytest.mark.parametrize(
    "incoming",
    [
        "not-a-uuid",
        "1dadebc3de19442cbd92c7a1c7eae297",
        "{1dadebc3-de19-442c-bd92-c7a1c7eae297}",
        "urn:uuid:1dadebc3-de19-442c-bd92-c7a1c7eae297",
        " 1dadebc3-de19-442c-bd92-c7a1c7eae297",
        "",
    ],
)
async def test_non_canonical_incoming_id_is_replaced_by_a_new_uuid4(
    client: Client, incoming: str
) -> None:
    response = await client.get("/v1/nope", headers={"X-Correlation-ID": incoming})

    echoed = _echoed(response)
    assert echoed.version == 4
    assert str(echoed) != incoming.strip().lower()
    assert error_of(await response.get_json())["correlation_id"] == str(echoed)


async def test_missing_header_mints_a_fresh_id_per_request(client: Client) -> None:
    first = _echoed(await client.get("/v1/nope"))
    second = _echoed(await client.get("/v1/nope"))

    assert first != second
    assert first.version == second.version == 4


async def test_route_sees_the_same_id_in_g_and_current_correlation_id(app: HuleEduApp) -> None:
    @app.get("/whoami")
    async def whoami() -> Response:
        return json_response({"g": g.correlation_id, "current": current_correlation_id()})

    response = await app.test_client().get("/whoami", headers={"X-Correlation-ID": INCOMING})

    body = await response.get_json()
    assert body == {"g": INCOMING.lower(), "current": INCOMING.lower()}


async def test_id_is_bound_for_structlog_during_the_request(app: HuleEduApp) -> None:
    @app.get("/log-context")
    async def log_context() -> Response:
        return json_response(structlog.contextvars.get_contextvars())

    response = await app.test_client().get("/log-context", headers={"X-Correlation-ID": INCOMING})

    assert (await response.get_json())["correlation_id"] == INCOMING.lower()
    assert "correlation_id" not in structlog.contextvars.get_contextvars()


async def test_test_request_context_resolves_lazily(app: HuleEduApp) -> None:
    async with app.test_request_context("/x", headers={"X-Correlation-ID": INCOMING}):
        assert current_correlation_id() == UUID(INCOMING)


def test_outside_a_request_there_is_no_correlation_id() -> None:
    with pytest.raises(LookupError):
        current_correlation_id()


def test_resolve_normalises_case() -> None:
    assert str(resolve_correlation_id(INCOMING)) == INCOMING.lower()
