"""The class roster (http-api.md §7.6, §2.3) and the UNKNOWN placeholder (data-model.md §8, §9)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.app import create_app
from class_management_service.di import make_container
from tests.fixtures.http import make_test_settings
from tests.integration.http.support import (
    OTHER_TEACHER,
    ROSTER_ENTRY_KEYS,
    SERVICE,
    TEACHER,
    count_rows,
    create_class,
    create_student,
    details_of,
    error_fields,
    get_json,
    insert_unknown_placeholder,
    missing_id,
    not_found_details,
    validation_details,
)

pytestmark = pytest.mark.integration


async def test_owner_reads_the_roster_in_name_order(api: Client) -> None:
    school_class = await create_class(api)
    class_id = school_class["id"]
    # Sorted by lower(last_name), lower(first_name), then id, comparing code points.
    lindqvist = await create_student(
        api,
        "Anna",
        "Lindqvist",
        legal_full_name="Anna Maria Lindqvist",
        email="Anna.Lindqvist@example.com",
        class_ids=[class_id],
    )
    haddad = await create_student(api, "Omar", "Haddad", class_ids=[class_id])
    berg_b = await create_student(api, "bo", "berg", class_ids=[class_id])
    berg_a = await create_student(api, "Ada", "Berg", class_ids=[class_id])
    twins = [await create_student(api, "Same", "Twin", class_ids=[class_id]) for _ in range(3)]
    umlaut = await create_student(api, "Ada", "Östberg", class_ids=[class_id])
    zed = await create_student(api, "Ada", "Zed", class_ids=[class_id])
    await create_student(api, "Not", "Enrolled")

    body = await get_json(api, f"/v1/classes/{class_id}/roster")
    assert set(body) == {"class_id", "students"}
    assert body["class_id"] == class_id
    for entry in body["students"]:
        assert set(entry) == ROSTER_ENTRY_KEYS
    order = [entry["student_id"] for entry in body["students"]]
    twin_ids = sorted(t["id"] for t in twins)
    # "Ö" (U+00D6) lower-cases to U+00F6, after every ASCII letter.
    assert order == [
        berg_a["id"],
        berg_b["id"],
        haddad["id"],
        lindqvist["id"],
        *twin_ids,
        zed["id"],
        umlaut["id"],
    ]
    first = body["students"][order.index(lindqvist["id"])]
    assert first == {
        "student_id": lindqvist["id"],
        "first_name": "Anna",
        "last_name": "Lindqvist",
        "full_legal_name": "Anna Maria Lindqvist",
        "email": "anna.lindqvist@example.com",
    }
    assert body["students"][order.index(haddad["id"])]["email"] is None
    assert body["students"][order.index(haddad["id"])]["full_legal_name"] == "Omar Haddad"


async def test_empty_class_has_an_empty_roster(api: Client) -> None:
    school_class = await create_class(api)
    body = await get_json(api, f"/v1/classes/{school_class['id'].upper()}/roster")
    assert body == {"class_id": school_class["id"], "students": []}


async def test_service_mode_reads_any_teachers_class(api: Client) -> None:
    school_class = await create_class(api, headers=OTHER_TEACHER)
    student = await create_student(api, class_ids=[school_class["id"]], headers=OTHER_TEACHER)
    response = await api.get(f"/v1/classes/{school_class['id']}/roster", headers=SERVICE)
    body = await response.get_json()
    assert response.status_code == 200, body
    assert [entry["student_id"] for entry in body["students"]] == [student["id"]]


async def test_service_mode_ignores_x_user_id(api: Client) -> None:
    school_class = await create_class(api, headers=OTHER_TEACHER)
    response = await api.get(
        f"/v1/classes/{school_class['id']}/roster",
        headers={**SERVICE, "X-User-ID": "SYSTEM_TIMEOUT"},
    )
    assert response.status_code == 200


async def test_service_mode_missing_class_is_404(api: Client) -> None:
    class_id = missing_id()
    response = await api.get(f"/v1/classes/{class_id}/roster", headers=SERVICE)
    details = await not_found_details(response)
    assert details == {"reason": "not_found", "resource": "class", "id": class_id}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Internal-API-Key": "test-key"},
        {"X-Service-ID": "nlp_service"},
        {"X-Internal-API-Key": "", "X-Service-ID": "nlp_service"},
        {"X-Internal-API-Key": "test-key", "X-Service-ID": "   "},
    ],
)
async def test_either_service_header_alone_is_missing_credentials_without_teacher_fallback(
    api: Client, headers: dict[str, str]
) -> None:
    """Presence of either service header selects service mode, even with a valid owner."""
    school_class = await create_class(api)
    response = await api.get(
        f"/v1/classes/{school_class['id']}/roster", headers={**TEACHER, **headers}
    )
    details = await details_of(response, 401, "AUTHENTICATION_ERROR")
    assert details == {"reason": "missing_service_credentials"}


@pytest.mark.parametrize("key", ["wrong-key", "TEST-KEY", "test-ke", "test-key2"])
async def test_wrong_key_is_invalid_service_credentials(api: Client, key: str) -> None:
    school_class = await create_class(api)
    response = await api.get(
        f"/v1/classes/{school_class['id']}/roster",
        headers={**TEACHER, "X-Internal-API-Key": key, "X-Service-ID": "nlp_service"},
    )
    details = await details_of(response, 401, "AUTHENTICATION_ERROR")
    assert details == {"reason": "invalid_service_credentials"}


AppFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def app_with(migrated_database_url: str, clean_database: AsyncEngine) -> AppFactory:
    """``async with app_with(**settings) as client``: the app on the real database with other
    service-credential settings than the ``api`` fixture's."""

    @asynccontextmanager
    async def open_app(**overrides: Any) -> AsyncIterator[Client]:
        settings = make_test_settings(database_url=SecretStr(migrated_database_url), **overrides)
        registry = CollectorRegistry()
        container = make_container(settings, clean_database, registry=registry)
        app = create_app(container, clean_database, registry)
        async with app.test_app() as test_app:
            yield test_app.test_client()

    return open_app


async def test_service_ids_outside_the_allow_list_are_refused(app_with: AppFactory) -> None:
    async with app_with(
        internal_api_key=SecretStr("test-key"), internal_allowed_service_ids=("nlp_service",)
    ) as client:
        school_class = await create_class(client)
        path = f"/v1/classes/{school_class['id']}/roster"
        allowed = await client.get(path, headers=SERVICE)
        assert allowed.status_code == 200
        refused = await client.get(path, headers={**SERVICE, "X-Service-ID": "other_service"})
        details = await details_of(refused, 401, "AUTHENTICATION_ERROR")
        assert details == {"reason": "service_not_allowed"}
        # A wrong key is reported before the allow-list.
        wrong = await client.get(
            path, headers={"X-Internal-API-Key": "nope", "X-Service-ID": "other_service"}
        )
        assert await details_of(wrong, 401, "AUTHENTICATION_ERROR") == {
            "reason": "invalid_service_credentials"
        }


async def test_without_a_configured_key_every_service_call_is_refused(
    app_with: AppFactory,
) -> None:
    async with app_with(internal_api_key=None) as client:
        school_class = await create_class(client)
        path = f"/v1/classes/{school_class['id']}/roster"
        refused = await client.get(path, headers=SERVICE)
        details = await details_of(refused, 401, "AUTHENTICATION_ERROR")
        assert details == {"reason": "invalid_service_credentials"}
        # Teacher mode is unaffected.
        assert (await client.get(path, headers=TEACHER)).status_code == 200


async def test_authentication_precedes_the_class_id_check_in_both_modes(api: Client) -> None:
    bad_service = await api.get(
        "/v1/classes/not-a-uuid/roster", headers={"X-Service-ID": "nlp_service"}
    )
    await details_of(bad_service, 401, "AUTHENTICATION_ERROR", "missing_service_credentials")
    blank_teacher = await api.get("/v1/classes/not-a-uuid/roster", headers={"X-User-ID": " "})
    await details_of(blank_teacher, 401, "AUTHENTICATION_ERROR", "missing_user_id")
    for headers in (TEACHER, SERVICE, {}):
        response = await api.get("/v1/classes/not-a-uuid/roster", headers=headers)
        details = await validation_details(response, "invalid_parameter")
        assert error_fields(details) == ["class_id"]


async def test_teacher_mode_foreign_class_answers_like_a_missing_one(api: Client) -> None:
    school_class = await create_class(api)
    foreign = await api.get(f"/v1/classes/{school_class['id']}/roster", headers=OTHER_TEACHER)
    details = await not_found_details(foreign)
    missing_class = missing_id()
    missing = await api.get(f"/v1/classes/{missing_class}/roster", headers=OTHER_TEACHER)
    assert {**details, "id": None} == {**(await not_found_details(missing)), "id": None}
    assert details["id"] == school_class["id"]


async def test_unknown_placeholder_is_excluded_from_roster_and_student_count(
    api: Client, engine: AsyncEngine
) -> None:
    school_class = await create_class(api)
    class_id = school_class["id"]
    real = await create_student(api, "Anna", "Lindqvist", class_ids=[class_id])
    await insert_unknown_placeholder(engine, class_id)

    roster = await get_json(api, f"/v1/classes/{class_id}/roster")
    assert [entry["student_id"] for entry in roster["students"]] == [real["id"]]
    service_roster = await get_json(api, f"/v1/classes/{class_id}/roster", headers=SERVICE)
    assert service_roster == roster
    assert (await get_json(api, f"/v1/classes/{class_id}"))["student_count"] == 1
    listed = await get_json(api, "/v1/classes/")
    assert listed["classes"][0]["student_count"] == 1
    # The placeholder belongs to SYSTEM_TIMEOUT, so no teacher ever lists it.
    students = await get_json(api, f"/v1/classes/students?class_id={class_id}")
    assert [item["id"] for item in students["students"]] == [real["id"]]


async def test_class_delete_removes_placeholder_and_enrolments_but_keeps_students(
    api: Client, engine: AsyncEngine
) -> None:
    doomed = await create_class(api, name="Doomed")
    other = await create_class(api, name="Other")
    anna = await create_student(api, "Anna", "L", class_ids=[doomed["id"]])
    omar = await create_student(api, "Omar", "H", class_ids=[doomed["id"], other["id"]])
    placeholder = await insert_unknown_placeholder(engine, doomed["id"])
    other_placeholder = await insert_unknown_placeholder(engine, other["id"])

    response = await api.delete(f"/v1/classes/{doomed['id']}", headers=TEACHER)
    assert response.status_code == 200

    assert await count_rows(engine, "students", "id = :id", id=placeholder) == 0
    assert await count_rows(engine, "students", "id = :id", id=other_placeholder) == 1
    assert (
        await count_rows(engine, "class_student_association", "class_id = :c", c=doomed["id"]) == 0
    )
    assert (await get_json(api, f"/v1/classes/students/{anna['id']}"))["class_ids"] == []
    assert (await get_json(api, f"/v1/classes/students/{omar['id']}"))["class_ids"] == [other["id"]]
    roster = await get_json(api, f"/v1/classes/{other['id']}/roster")
    assert [entry["student_id"] for entry in roster["students"]] == [omar["id"]]


# --- the platform's NLP service: no identity header at all (§2.3) ----------------------------

NLP_SERVICE_HEADERS = {
    "Accept": "application/json",
    "X-Correlation-ID": "3f2a0f6e-8d1c-4b7a-9e55-0c1d2e3f4a5b",
}


def _roster_count(client_metrics: str, caller: str, result: str) -> float:
    for line in client_metrics.splitlines():
        if line.startswith(f'cms_roster_requests_total{{caller="{caller}",result="{result}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no cms_roster_requests_total series for {caller}/{result}")


async def test_a_call_without_identity_headers_reads_any_class_and_is_counted(
    app_with: AppFactory,
) -> None:
    async with app_with(internal_api_key=SecretStr("test-key")) as client:
        class_id = (await create_class(client, headers=OTHER_TEACHER))["id"]
        await create_student(client, "Ada", "Berg", class_ids=[class_id], headers=OTHER_TEACHER)

        response = await client.get(f"/v1/classes/{class_id}/roster", headers=NLP_SERVICE_HEADERS)

        assert response.status_code == 200
        assert response.headers["X-Correlation-ID"] == NLP_SERVICE_HEADERS["X-Correlation-ID"]
        body = await response.get_json()
        assert [(s["first_name"], s["last_name"]) for s in body["students"]] == [("Ada", "Berg")]
        await client.get(f"/v1/classes/{class_id}/roster", headers=SERVICE)
        await client.get(f"/v1/classes/{class_id}/roster", headers=OTHER_TEACHER)
        await client.get(f"/v1/classes/{class_id}/roster", headers={"X-Service-ID": "x"})
        metrics = (await (await client.get("/metrics")).get_data()).decode()
        assert _roster_count(metrics, "anonymous_internal", "served") == 1
        assert _roster_count(metrics, "service", "served") == 1
        assert _roster_count(metrics, "owner", "served") == 1
        assert _roster_count(metrics, "service", "refused") == 1
        assert _roster_count(metrics, "anonymous_internal", "refused") == 0


async def test_requiring_service_credentials_refuses_a_call_without_identity_headers(
    app_with: AppFactory,
) -> None:
    async with app_with(
        roster_require_service_credentials=True, internal_api_key=SecretStr("test-key")
    ) as client:
        class_id = (await create_class(client))["id"]
        path = f"/v1/classes/{class_id}/roster"

        refused = await client.get(path, headers=NLP_SERVICE_HEADERS)

        details = await details_of(refused, 401, "AUTHENTICATION_ERROR")
        assert details == {"reason": "missing_service_credentials"}
        # Checked before the path: a bad id is still an authentication failure.
        bad_id = await client.get("/v1/classes/not-a-uuid/roster", headers=NLP_SERVICE_HEADERS)
        await details_of(bad_id, 401, "AUTHENTICATION_ERROR", "missing_service_credentials")
        # Owners and services are unaffected.
        assert (await client.get(path, headers=TEACHER)).status_code == 200
        assert (await client.get(path, headers=SERVICE)).status_code == 200
        metrics = (await (await client.get("/metrics")).get_data()).decode()
        assert _roster_count(metrics, "anonymous_internal", "refused") == 2
