"""The container wires matching end to end in USE_MOCK_REPOSITORY mode: handler, HTTP, monitor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import pytest_asyncio
from dishka import AsyncContainer, Provider, Scope, provide
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client

from class_management_service.app import create_app
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.di import make_container
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.entrypoints.timeout_monitor import timeout_monitor_loop
from class_management_service.protocols import ClockProtocol
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.kafka.handling import HandlingResult
from tests.fixtures.http import make_test_settings
from tests.fixtures.suggestions import envelope, essay, record, suggestion

TEACHER = {"X-User-ID": "teacher-a"}


class FixedClockProvider(Provider):
    """Overrides the system clock (later providers win in dishka)."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__()
        self._clock = clock

    @provide(scope=Scope.APP)
    def clock(self) -> ClockProtocol:
        return self._clock


@pytest.fixture
def wired_clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 10, 2, 11, 500000, tzinfo=UTC))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest_asyncio.fixture(loop_scope="session")
async def container(
    registry: CollectorRegistry, wired_clock: FixedClock
) -> AsyncIterator[AsyncContainer]:
    settings = make_test_settings(use_mock_repository=True, internal_api_key=SecretStr("k"))
    built = make_container(settings, None, FixedClockProvider(wired_clock), registry=registry)
    yield built
    await built.close()


@pytest_asyncio.fixture(loop_scope="session")
async def client(container: AsyncContainer, registry: CollectorRegistry) -> AsyncIterator[Client]:
    app = create_app(container, None, registry)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def test_suggestions_reviewed_confirmed_and_timed_out_through_the_container(
    container: AsyncContainer,
    client: Client,
    registry: CollectorRegistry,
    wired_clock: FixedClock,
) -> None:
    created = await client.post(
        "/v1/classes/", json={"name": "9B", "course_codes": ["ENG5"]}, headers=TEACHER
    )
    class_id = (await created.get_json())["id"]
    student = await client.post(
        "/v1/classes/students",
        json={"person_name": {"first_name": "Anna", "last_name": "L"}, "class_ids": [class_id]},
        headers=TEACHER,
    )
    student_id = (await student.get_json())["id"]
    batch_id, first, second = uuid4(), uuid4(), uuid4()
    value = envelope(
        batch_id=batch_id,
        class_id=uuid4(),
        essays=[essay(first, [suggestion(student_id, 0.9)]), essay(second)],
    )
    value["data"]["class_id"] = class_id

    async with container() as scope:
        handler = await scope.get(SuggestionRecordHandler)
        assert await handler(record(value)) is HandlingResult.PROCESSED
        assert await handler(record(value)) is HandlingResult.DUPLICATE

    review = await client.get(f"/v1/batches/{batch_id}/student-associations", headers=TEACHER)
    assert (await review.get_json())["summary"]["pending_validation"] == 2
    confirmed = await client.post(
        f"/v1/batches/{batch_id}/student-associations/confirm",
        json={"associations": [{"essay_id": str(first), "confirmed": True}]},
        headers=TEACHER,
    )
    assert (await confirmed.get_json())["pending_remaining"] == 1

    wired_clock.advance(timedelta(hours=25))
    async with container() as scope:
        report = await (await scope.get(TimeoutMonitor)).run_cycle()
    assert report.rows_decided == 1

    review = await client.get(f"/v1/batches/{batch_id}/student-associations", headers=TEACHER)
    summary = (await review.get_json())["summary"]
    assert (summary["confirmed"], summary["timeout_confirmed"]) == (1, 1)
    names = await client.get(
        f"/internal/v1/batches/{batch_id}/student-names",
        headers={"X-Internal-API-Key": "k", "X-Service-ID": "els"},
    )
    assert len(await names.get_json()) == 2
    for method, status in (("human", "confirmed"), ("timeout", "timeout_confirmed")):
        labels = {"validation_method": method, "validation_status": status}
        assert registry.get_sample_value("cms_associations_decided_total", labels) == 1
    metrics = await client.get("/metrics")
    assert b"cms_associations_decided_total" in await metrics.get_data()


async def test_openapi_documents_the_matching_routes(client: Client) -> None:
    paths = (await (await client.get("/openapi.json")).get_json())["paths"]
    assert "/v1/batches/{batch_id}/student-associations/confirm" in paths
    assert "/internal/v1/batches/class-info" in paths


async def test_monitor_worker_loop_stops_when_told(container: AsyncContainer) -> None:
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(timeout_monitor_loop(container)(stop), timeout=1)
