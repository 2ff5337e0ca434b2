"""``/internal/v1`` association look-ups on PostgreSQL: shapes and service authentication."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.di import make_container
from tests.fixtures.http import make_test_settings
from tests.integration.db.builders import TEACHER
from tests.integration.matching.conftest import Batch, Roster

pytestmark = pytest.mark.integration

SERVICE = {"X-Internal-API-Key": "test-key", "X-Service-ID": "essay_lifecycle_service"}
NAME_KEYS = {"essay_id", "student_id", "student_person_name", "validation_status"}


@pytest_asyncio.fixture(loop_scope="session")
async def restricted_api(
    migrated_database_url: str, clean_database: AsyncEngine
) -> AsyncIterator[Client]:
    """The app with an allow-list of calling services."""
    settings = make_test_settings(
        database_url=SecretStr(migrated_database_url),
        internal_api_key=SecretStr("test-key"),
        internal_allowed_service_ids="batch_orchestrator_service",
    )
    registry = CollectorRegistry()
    container = make_container(settings, clean_database, registry=registry)
    app = create_app(container, clean_database, registry)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def _reject(api: Client, batch: Batch) -> None:
    response = await api.post(
        f"/v1/batches/{batch.batch_id}/student-associations/confirm",
        json={"associations": [{"essay_id": str(batch.omar_essay), "confirmed": False}]},
        headers={"X-User-ID": TEACHER},
    )
    assert response.status_code == 200


async def test_student_names_list_rows_with_a_student_that_are_not_rejected(
    api: Client, roster: Roster, batch: Batch
) -> None:
    await _reject(api, batch)

    response = await api.get(
        f"/internal/v1/batches/{batch.batch_id}/student-names", headers=SERVICE
    )

    assert response.status_code == 200
    assert await response.get_json() == [
        {
            "essay_id": str(batch.anna_essay),
            "student_id": str(roster.anna),
            "student_person_name": {
                "first_name": "Anna",
                "last_name": "Lindqvist",
                "legal_full_name": "Anna Lindqvist",
            },
            "validation_status": "pending_validation",
        }
    ]
    unknown = await api.get(f"/internal/v1/batches/{uuid4()}/student-names", headers=SERVICE)
    assert (unknown.status_code, await unknown.get_json()) == (200, [])


async def test_essay_association_is_one_item_or_not_found(
    api: Client, roster: Roster, batch: Batch
) -> None:
    await _reject(api, batch)

    found = await api.get(f"/internal/v1/associations/essay/{batch.anna_essay}", headers=SERVICE)
    assert found.status_code == 200
    body = await found.get_json()
    assert set(body) == NAME_KEYS
    assert body["student_id"] == str(roster.anna)

    for essay_id in (batch.omar_essay, batch.nameless_essay, uuid4()):
        missing = await api.get(f"/internal/v1/associations/essay/{essay_id}", headers=SERVICE)
        assert missing.status_code == 404
        assert (await missing.get_json())["error"]["details"] == {
            "reason": "not_found",
            "resource": "association",
            "id": str(essay_id),
        }
    malformed = await api.get("/internal/v1/associations/essay/123", headers=SERVICE)
    assert malformed.status_code == 400


async def test_class_info_maps_each_requested_batch(
    api: Client, roster: Roster, batch: Batch
) -> None:
    unknown = uuid4()
    query = f" {str(batch.batch_id).upper()},,{unknown},{batch.batch_id}"

    response = await api.get(f"/internal/v1/batches/class-info?batch_ids={query}", headers=SERVICE)

    assert response.status_code == 200
    assert await response.get_json() == {
        str(batch.batch_id): {
            "class_id": str(roster.class_id),
            "class_name": "9B English",
            "course_code": "ENG5",
        },
        str(unknown): None,
    }
    for empty in ("", "?batch_ids=", "?batch_ids=,,"):
        blank = await api.get(f"/internal/v1/batches/class-info{empty}", headers=SERVICE)
        assert (blank.status_code, await blank.get_json()) == (200, {})


async def test_class_info_rejects_bad_and_too_many_ids(api: Client) -> None:
    bad = await api.get(
        f"/internal/v1/batches/class-info?batch_ids={uuid4()},not-a-uuid", headers=SERVICE
    )
    assert bad.status_code == 400
    assert (await bad.get_json())["error"]["details"]["reason"] == "invalid_parameter"

    ids = ",".join(str(uuid4()) for _ in range(101))
    many = await api.get(f"/internal/v1/batches/class-info?batch_ids={ids}", headers=SERVICE)
    assert many.status_code == 400
    details = (await many.get_json())["error"]["details"]
    assert details == {"reason": "too_many_ids", "max_ids": 100, "ids": 101}

    hundred = ",".join([str(uuid4()) for _ in range(100)] * 2)
    ok = await api.get(f"/internal/v1/batches/class-info?batch_ids={hundred}", headers=SERVICE)
    assert ok.status_code == 200
    assert len(await ok.get_json()) == 100


@pytest.mark.parametrize(
    "path",
    [
        "/internal/v1/batches/{id}/student-names",
        "/internal/v1/associations/essay/{id}",
        "/internal/v1/batches/class-info?batch_ids={id}",
    ],
)
async def test_every_internal_route_requires_service_credentials(
    api: Client, restricted_api: Client, path: str
) -> None:
    async def reason(client: Client, headers: dict[str, str], target: str) -> str:
        response = await client.get(target, headers=headers)
        assert response.status_code == 401
        error = (await response.get_json())["error"]
        assert error["code"] == "AUTHENTICATION_ERROR"
        return str(error["details"]["reason"])

    target = path.format(id=uuid4())
    # Authentication comes before parameter checks (http-api.md §4.4).
    malformed = path.format(id="nope")
    assert await reason(api, {}, malformed) == "missing_service_credentials"
    assert await reason(api, {"X-User-ID": TEACHER}, target) == "missing_service_credentials"
    assert await reason(api, {"X-Service-ID": "x"}, target) == "missing_service_credentials"
    wrong_key = {**SERVICE, "X-Internal-API-Key": "wrong"}
    assert await reason(api, wrong_key, target) == "invalid_service_credentials"
    assert await reason(restricted_api, SERVICE, target) == "service_not_allowed"

    allowed = {**SERVICE, "X-Service-ID": "batch_orchestrator_service"}
    assert (await restricted_api.get(target, headers=allowed)).status_code in (200, 404)
