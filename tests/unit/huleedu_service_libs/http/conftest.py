"""A throwaway HuleEdu app exercising the HTTP parts end to end (no database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from dishka import make_async_container
from pydantic import BaseModel, field_validator
from quart import Response, request
from quart.typing import TestClientProtocol as Client
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import create_async_engine

from huleedu_service_libs.error_handling import not_found
from huleedu_service_libs.http import (
    CanonicalUUID,
    HuleEduApp,
    RawBody,
    configure_http,
    has_service_credentials,
    json_response,
    parse_pagination,
    parse_uuid,
    read_json_body,
    require_service,
    require_teacher,
)

SERVICE = "class_management_service"
TEACHER = "d5918e0d-7655-4456-a123-f0049d22768c"
CLASS_ID = "06978b2f-241d-4018-a94f-a7c67fc7d1c7"
API_KEY = "s3cret-key"


class PersonName(BaseModel):
    first_name: str
    last_name: str


class CreateThing(BaseModel):
    name: str
    person_name: PersonName
    class_ids: list[CanonicalUUID] = []

    @field_validator("name")
    @classmethod
    def name_length(cls, value: str) -> str:
        if not 1 <= len(value.strip()) <= 100:
            raise ValueError("must be 1-100 characters after trimming")
        return value.strip()


def build_app() -> HuleEduApp:
    app = HuleEduApp(
        __name__,
        container=make_async_container(),
        # Never connected: the engine only satisfies the typed attribute.
        database_engine=create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none"),
    )
    configure_http(app, service_name=SERVICE)

    @app.get("/v1/things")
    @app.get("/v1/things/")
    async def list_things() -> Response:
        require_teacher(request)
        limit, offset = parse_pagination(request.args)
        return json_response({"limit": limit, "offset": offset})

    @app.post("/v1/things")
    @app.post("/v1/things/")
    async def create_thing() -> Response:
        require_teacher(request)
        body = await read_json_body(request, CreateThing)
        return json_response(body.model_dump(), status=201)

    @app.route("/v1/classes/students", methods=["GET", "POST"])
    @app.route("/v1/classes/students/", methods=["GET", "POST"])
    async def students() -> Response:
        return json_response({"route": "students"})

    @app.route("/v1/classes/students/<student_id>", methods=["GET", "PUT", "DELETE"])
    async def student(student_id: str) -> Response:
        return json_response(
            {"route": "student", "student_id": str(parse_uuid(student_id, "student_id"))}
        )

    @app.route("/v1/classes/<class_id:class_id>", methods=["GET", "PUT", "DELETE"])
    async def one_class(class_id: str) -> Response:
        require_teacher(request)
        parsed = parse_uuid(class_id, "class_id")
        if request.method == "PUT":
            body = await read_json_body(request, CreateThing)
            return json_response({"class_id": parsed, "name": body.name})
        return json_response({"route": "class", "class_id": parsed})

    @app.get("/v1/classes/<class_id:class_id>/roster")
    async def roster(class_id: str) -> Response:
        if has_service_credentials(request):
            caller = require_service(request, api_key=API_KEY, allowed_service_ids=())
        else:
            caller = require_teacher(request)
        return json_response({"caller": caller, "class_id": parse_uuid(class_id, "class_id")})

    @app.post("/v1/classes/<class_id:class_id>/students/bulk")
    async def bulk(class_id: str) -> Response:
        require_teacher(request)
        parse_uuid(class_id, "class_id")
        body = await read_json_body(request, extra_content_types=("text/csv",))
        if isinstance(body, RawBody):
            return json_response({"media_type": body.media_type, "size": len(body.data)})
        return json_response({"media_type": "application/json", "json": body})

    @app.get("/internal/v1/ping")
    async def internal_ping() -> Response:
        service = require_service(request, api_key=API_KEY, allowed_service_ids={"essay_service"})
        return json_response({"service": service})

    @app.get("/boom")
    async def boom() -> Response:
        raise RuntimeError("secret-detail-do-not-leak")

    @app.get("/db-down")
    async def db_down() -> Response:
        raise sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))

    @app.get("/missing-class")
    async def missing_class() -> Response:
        raise not_found("class", CLASS_ID)

    @app.get("/teardown-fails")
    async def teardown_fails() -> Response:
        return json_response({"ok": True})

    @app.teardown_request
    async def failing_teardown(_: BaseException | None) -> None:
        if request.path == "/teardown-fails":
            raise ConnectionResetError("closing the request scope failed")

    @app.get("/slash-only/")
    async def slash_only() -> Response:
        return json_response({"ok": True})

    return app


@pytest.fixture
def app() -> HuleEduApp:
    return build_app()


@pytest.fixture
async def client(app: HuleEduApp) -> AsyncIterator[Client]:
    yield app.test_client()
    if app.database_engine is not None:
        await app.database_engine.dispose()


def error_of(payload: Any) -> dict[str, Any]:
    assert isinstance(payload, dict)
    assert set(payload) == {"error"}
    error: dict[str, Any] = payload["error"]
    assert set(error) == {"code", "message", "correlation_id", "service", "timestamp", "details"}
    assert error["service"] == SERVICE
    assert error["timestamp"].endswith("Z")
    return error
