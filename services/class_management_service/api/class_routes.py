"""``/v1/classes`` routes: class CRUD, the roster and the bulk import."""

from dishka import FromDishka
from quart import Blueprint, Response, request
from quart_dishka import inject
from quart_schema import document_request

from class_management_service.api.actor import current_teacher
from class_management_service.api.import_rows import rows_from_csv, rows_from_json
from class_management_service.api.presenters import (
    class_json,
    pagination_json,
    roster_entry_json,
)
from class_management_service.api.roster_callers import authorize_roster_read
from class_management_service.api.schemas import CreateClassBody, UpdateClassBody
from class_management_service.application.bulk_import import BulkImport
from class_management_service.application.classes import ClassUseCases
from class_management_service.config import Settings
from class_management_service.domain.courses import single_course
from class_management_service.metrics import ServiceMetrics
from huleedu_service_libs.http.body import decode_json, read_body, read_json_body
from huleedu_service_libs.http.params import parse_pagination, parse_uuid
from huleedu_service_libs.http.responses import json_response

blueprint = Blueprint("classes", __name__)


@blueprint.get("/v1/classes")
@blueprint.get("/v1/classes/")
@inject
async def list_classes(use_cases: FromDishka[ClassUseCases]) -> Response:
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
@inject
async def create_class(use_cases: FromDishka[ClassUseCases]) -> Response:
    actor = current_teacher()
    body = await read_json_body(request, CreateClassBody)
    course = single_course(body.course_codes)
    created = await use_cases.create(actor, body.name, course)
    return json_response(
        class_json(created), status=201, headers={"Location": f"/v1/classes/{created.id}"}
    )


@blueprint.get("/v1/classes/<class_id:class_id>")
@inject
async def get_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    actor = current_teacher()
    found = await use_cases.get(actor, parse_uuid(class_id, "class_id"))
    return json_response(class_json(found))


@blueprint.put("/v1/classes/<class_id:class_id>")
@document_request(UpdateClassBody)
@inject
async def update_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    actor = current_teacher()
    target = parse_uuid(class_id, "class_id")
    body = await read_json_body(request, UpdateClassBody)
    course = single_course(body.course_codes) if body.course_codes is not None else None
    updated = await use_cases.update(actor, target, name=body.name, course=course)
    return json_response(class_json(updated))


@blueprint.delete("/v1/classes/<class_id:class_id>")
@inject
async def delete_class(class_id: str, use_cases: FromDishka[ClassUseCases]) -> Response:
    actor = current_teacher()
    await use_cases.delete(actor, parse_uuid(class_id, "class_id"))
    return json_response({"message": "Class deleted successfully"})


@blueprint.get("/v1/classes/<class_id:class_id>/roster")
@inject
async def get_roster(
    class_id: str,
    use_cases: FromDishka[ClassUseCases],
    settings: FromDishka[Settings],
    metrics: FromDishka[ServiceMetrics],
) -> Response:
    _, owner_id = authorize_roster_read(request, settings, metrics)
    target = parse_uuid(class_id, "class_id")
    students = await use_cases.roster(target, owner_id=owner_id)
    return json_response(
        {"class_id": str(target), "students": [roster_entry_json(s) for s in students]}
    )


@blueprint.post("/v1/classes/<class_id:class_id>/students/bulk")
@inject
async def bulk_import(class_id: str, use_case: FromDishka[BulkImport]) -> Response:
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
