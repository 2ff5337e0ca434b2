"""``/v1/classes`` routes: class CRUD, the roster and the bulk import."""

from dishka import FromDishka
from quart import Blueprint, Response, request
from quart_dishka import inject
from quart_schema import (
    document_querystring,
    document_request,
    document_response,
    security_scheme,
    tag_blueprint,
)

from class_management_service.api.actor import current_teacher
from class_management_service.api.import_rows import CSV_SCHEMA, rows_from_csv, rows_from_json
from class_management_service.api.openapi import ROSTER_CALLERS, TEACHER
from class_management_service.api.presenters import (
    class_json,
    pagination_json,
    roster_entry_json,
)
from class_management_service.api.representations import (
    BulkImportResult,
    ClassPage,
    CreatedHeaders,
    Message,
    Roster,
    SchoolClass,
)
from class_management_service.api.roster_callers import authorize_roster_read
from class_management_service.api.schemas import (
    CreateClassBody,
    ImportRows,
    PageQuery,
    UpdateClassBody,
)
from class_management_service.application.bulk_import import BulkImport
from class_management_service.application.classes import ClassUseCases
from class_management_service.config import Settings
from class_management_service.domain.courses import single_course
from class_management_service.metrics import ServiceMetrics
from huleedu_service_libs.http.body import decode_json, read_body, read_json_body
from huleedu_service_libs.http.openapi_document import document_links, document_media
from huleedu_service_libs.http.openapi_errors import document_errors
from huleedu_service_libs.http.params import parse_pagination, parse_uuid
from huleedu_service_libs.http.responses import json_response

blueprint = Blueprint("classes", __name__)
tag_blueprint(blueprint, ["classes"])

_CREATED_CLASS = "$response.body#/id"


@blueprint.get("/v1/classes")
@blueprint.get("/v1/classes/")
@document_querystring(PageQuery)
@document_response(ClassPage)
@document_errors(400, 401, 500, 502)
@security_scheme(TEACHER)
@inject
async def list_classes(use_cases: FromDishka[ClassUseCases]) -> Response:
    """List the caller's classes, newest first (also at `/v1/classes/`)."""
    actor = current_teacher()
    limit, offset = parse_pagination(request.args)
    page = await use_cases.list_page(actor, limit=limit, offset=offset)
    return json_response(
        {
            "classes": [class_json(item) for item in page.items],
            "pagination": pagination_json(page, limit=limit, offset=offset),
        }
    )


@blueprint.post("/v1/classes")
@blueprint.post("/v1/classes/")
@document_request(CreateClassBody)
@document_response(SchoolClass, 201, CreatedHeaders)
@document_errors(400, 401, 413, 500, 502)
@document_links(
    201,
    {
        "get_class": {"class_id": _CREATED_CLASS},
        "update_class": {"class_id": _CREATED_CLASS},
        "delete_class": {"class_id": _CREATED_CLASS},
        "get_roster": {"class_id": _CREATED_CLASS},
        "bulk_import": {"class_id": _CREATED_CLASS},
        "list_students": {"query.class_id": _CREATED_CLASS},
    },
)
@security_scheme(TEACHER)
@inject
async def create_class(use_cases: FromDishka[ClassUseCases]) -> Response:
    """Create a class with exactly one course (also at `/v1/classes/`)."""
    actor = current_teacher()
    body = await read_json_body(request, CreateClassBody)
    course = single_course(body.course_codes)
    created = await use_cases.create(actor, body.name, course)
    return json_response(
        class_json(created), status=201, headers={"Location": f"/v1/classes/{created.id}"}
    )


@blueprint.get("/v1/classes/<class_id:class_id>")
@document_response(SchoolClass)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def get_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    """Read one of the caller's classes."""
    actor = current_teacher()
    found = await use_cases.get(actor, parse_uuid(class_id, "class_id"))
    return json_response(class_json(found))


@blueprint.put("/v1/classes/<class_id:class_id>")
@document_request(UpdateClassBody)
@document_response(SchoolClass)
@document_errors(400, 401, 404, 413, 500, 502)
@security_scheme(TEACHER)
@inject
async def update_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    """Rename a class or move it to another course; absent or null fields stay unchanged."""
    actor = current_teacher()
    target = parse_uuid(class_id, "class_id")
    body = await read_json_body(request, UpdateClassBody)
    course = single_course(body.course_codes) if body.course_codes is not None else None
    updated = await use_cases.update(actor, target, name=body.name, course=course)
    return json_response(class_json(updated))


@blueprint.delete("/v1/classes/<class_id:class_id>")
@document_response(Message)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def delete_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    """Delete a class with its enrolments and essay associations; the students remain."""
    actor = current_teacher()
    await use_cases.delete(actor, parse_uuid(class_id, "class_id"))
    return json_response({"message": "Class deleted successfully"})


@blueprint.get("/v1/classes/<class_id:class_id>/roster")
@document_response(Roster)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(ROSTER_CALLERS)
@inject
async def get_roster(
    class_id: str,
    use_cases: FromDishka[ClassUseCases],
    settings: FromDishka[Settings],
    metrics: FromDishka[ServiceMetrics],
) -> Response:
    """Read a class's roster for matching: as its owner, as a service, or as an internal caller."""
    _, owner_id = authorize_roster_read(request, settings, metrics)
    target = parse_uuid(class_id, "class_id")
    students = await use_cases.roster(target, owner_id=owner_id)
    return json_response(
        {"class_id": str(target), "students": [roster_entry_json(s) for s in students]}
    )


@blueprint.post("/v1/classes/<class_id:class_id>/students/bulk")
@document_request(ImportRows)
@document_media("text/csv", CSV_SCHEMA)
@document_response(BulkImportResult)
@document_errors(400, 401, 404, 409, 413, 500, 502)
@security_scheme(TEACHER)
@inject
async def bulk_import(class_id: str, use_case: FromDishka[BulkImport]) -> Response:
    """Import up to 5,000 students into a class from JSON rows or CSV, all or nothing."""
    actor = current_teacher()
    target = parse_uuid(class_id, "class_id")
    body = await read_body(request, content_types=("application/json", "text/csv"))
    if body.media_type == "text/csv":
        rows = rows_from_csv(body.data)
    else:
        rows = rows_from_json(decode_json(body.data))
    result = await use_case.run(actor, target, rows)
    return json_response(
        {
            "class_id": str(result.class_id),
            "summary": {
                "total_rows": len(result.results),
                "created": result.count("created"),
                "enrolled": result.count("enrolled"),
                "already_enrolled": result.count("already_enrolled"),
            },
            "results": [
                {
                    "row": item.row,
                    "outcome": item.outcome,
                    "student_id": str(item.student_id),
                    "email": item.email,
                }
                for item in result.results
            ],
        }
    )
