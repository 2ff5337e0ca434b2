"""The served OpenAPI document says what http-api.md §11.3 asks of it, and /docs needs no CDN."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from quart.typing import TestClientProtocol as Client

from class_management_service.app import create_app
from class_management_service.di import make_container
from common_core.error_enums import ErrorCode
from tests.fixtures.http import make_test_settings

METHODS = {"get", "put", "post", "delete"}
TEACHER = [{"teacher": []}]
SERVICE = [{"serviceId": [], "serviceKey": []}]


@contextlib.asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[Client]:
    registry = CollectorRegistry()
    container = make_container(
        make_test_settings(use_mock_repository=True, internal_api_key=SecretStr("k"), **settings),
        None,
        registry=registry,
    )
    app = create_app(container, None, registry)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def document(**settings: Any) -> dict[str, Any]:
    async with serving(**settings) as client:
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        body: dict[str, Any] = await response.get_json()
        return body


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


@pytest.fixture(scope="module")
async def doc() -> dict[str, Any]:
    return await document()


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "HuleEdu Class Management Service"
    assert doc["info"]["version"] == "1.0.0"


def test_every_path_of_the_contract_is_documented_once(doc: dict[str, Any]) -> None:
    assert sorted(operations(doc)) == sorted(
        [
            "GET /v1/classes",
            "POST /v1/classes",
            "GET /v1/classes/{class_id}",
            "PUT /v1/classes/{class_id}",
            "DELETE /v1/classes/{class_id}",
            "GET /v1/classes/{class_id}/roster",
            "POST /v1/classes/{class_id}/students/bulk",
            "GET /v1/classes/students",
            "POST /v1/classes/students",
            "GET /v1/classes/students/{student_id}",
            "PUT /v1/classes/students/{student_id}",
            "DELETE /v1/classes/students/{student_id}",
            "GET /v1/batches/{batch_id}/student-associations",
            "POST /v1/batches/{batch_id}/student-associations/confirm",
            "GET /internal/v1/batches/{batch_id}/student-names",
            "GET /internal/v1/associations/essay/{essay_id}",
            "GET /internal/v1/batches/class-info",
            "GET /healthz",
            "GET /metrics",
            "GET /openapi.json",
            "GET /docs",
        ]
    )
    ids = [operation["operationId"] for operation in operations(doc).values()]
    assert len(ids) == len(set(ids))


def test_every_operation_has_a_summary_a_tag_and_the_right_security(doc: dict[str, Any]) -> None:
    for name, operation in operations(doc).items():
        assert operation["summary"], name
        assert operation["tags"], name
        path = name.split(" ", 1)[1]
        if path.endswith("/roster"):
            assert operation["security"] == [*TEACHER, *SERVICE, {}]
        elif path.startswith("/v1/"):
            assert operation["security"] == TEACHER, name
        elif path.startswith("/internal/"):
            assert operation["security"] == SERVICE, name
        else:
            assert "security" not in operation, name
    schemes = doc["components"]["securitySchemes"]
    assert {scheme["name"] for scheme in schemes.values()} == {
        "X-User-ID",
        "X-Internal-API-Key",
        "X-Service-ID",
    }
    assert all(s["type"] == "apiKey" and s["in"] == "header" for s in schemes.values())


async def test_the_roster_drops_the_anonymous_alternative_when_credentials_are_required() -> None:
    strict = await document(roster_require_service_credentials=True)
    roster = strict["paths"]["/v1/classes/{class_id}/roster"]["get"]
    assert roster["security"] == [*TEACHER, *SERVICE]


def test_ids_in_paths_are_uuids_and_every_response_carries_the_correlation_id(
    doc: dict[str, Any],
) -> None:
    for name, operation in operations(doc).items():
        for parameter in operation["parameters"]:
            if parameter["in"] == "path":
                assert parameter["schema"] == {"type": "string", "format": "uuid"}, name
        for status, response in operation["responses"].items():
            assert "X-Correlation-ID" in response["headers"], (name, status)
    assert {p["name"] for p in operations(doc)["GET /v1/classes"]["parameters"]} >= {
        "limit",
        "offset",
        "X-Correlation-ID",
    }


def test_errors_are_one_shared_component_with_the_code_enum(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorCode"]["enum"]) == {code.value for code in ErrorCode}
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    expected = {
        "POST /v1/classes": {"201", "400", "401", "413", "500", "502"},
        "PUT /v1/classes/students/{student_id}": {
            "200",
            "400",
            "401",
            "404",
            "409",
            "413",
            "500",
            "502",
        },
        "GET /internal/v1/batches/class-info": {"200", "400", "401", "500", "502"},
        "GET /healthz": {"200", "503"},
    }
    for name, statuses in expected.items():
        responses = operations(doc)[name]["responses"]
        assert set(responses) == statuses, name
        for status in statuses - {"200", "201", "503"}:
            assert responses[status]["content"]["application/json"]["schema"] == error_ref


def test_creates_link_to_what_can_be_done_with_the_created_resource(doc: dict[str, Any]) -> None:
    created = operations(doc)["POST /v1/classes"]["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert created["links"]["get_class"] == {
        "operationId": "get_class",
        "parameters": {"class_id": "$response.body#/id"},
    }
    student = operations(doc)["POST /v1/classes/students"]["responses"]["201"]
    assert set(student["links"]) == {"get_student", "update_student", "delete_student"}


def test_the_bulk_import_takes_json_rows_or_a_csv_file(doc: dict[str, Any]) -> None:
    content = operations(doc)["POST /v1/classes/{class_id}/students/bulk"]["requestBody"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    rows = doc["components"]["schemas"]["ImportRows"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 5000)


def test_body_rules_that_are_validators_are_stated_as_schema(doc: dict[str, Any]) -> None:
    body = doc["components"]["schemas"]["CreateClassBody"]["properties"]
    assert body["course_codes"]["maxItems"] == 1
    assert body["course_codes"]["items"]["enum"] == ["ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3"]
    name = re.compile(body["name"]["pattern"].replace("\\u0000", "\\x00"))
    assert name.search("9B")
    assert not name.search("   ")
    assert not name.search("9\x00B")


async def test_the_docs_page_loads_its_assets_from_the_service() -> None:
    async with serving() as client:
        page = await client.get("/docs")
        html = await page.get_data(as_text=True)
        assert page.status_code == 200
        assert page.mimetype == "text/html"
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert all(source.startswith("/docs/assets/") for source in sources)
        assert "/openapi.json" in html
        for source in sources:
            asset = await client.get(source)
            assert asset.status_code == 200, source
            assert len(await asset.get_data()) > 1000, source
        missing = await client.get("/docs/assets/swagger-editor.js")
        assert missing.status_code == 404
        assert (await missing.get_json())["error"]["code"] == "RESOURCE_NOT_FOUND"
