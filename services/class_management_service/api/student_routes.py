"""``/v1/classes/students`` routes: student CRUD and the filtered list."""

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
from class_management_service.api.openapi import TEACHER
from class_management_service.api.presenters import pagination_json, student_json
from class_management_service.api.representations import (
    CreatedHeaders,
    Message,
    Student,
    StudentPage,
)
from class_management_service.api.schemas import (
    CreateStudentBody,
    PersonNameBody,
    StudentListQuery,
    UpdateStudentBody,
)
from class_management_service.application.students import (
    PersonName,
    StudentChanges,
    StudentUseCases,
)
from huleedu_service_libs.error_handling import invalid_parameter
from huleedu_service_libs.http.body import read_json_body
from huleedu_service_libs.http.openapi_document import document_links
from huleedu_service_libs.http.openapi_errors import document_errors
from huleedu_service_libs.http.params import parse_pagination, parse_uuid
from huleedu_service_libs.http.responses import json_response

blueprint = Blueprint("students", __name__)
tag_blueprint(blueprint, ["students"])

_CREATED_STUDENT = "$response.body#/id"

MAX_QUERY_LENGTH = 100


def _person_name(body: PersonNameBody) -> PersonName:
    return PersonName(body.first_name, body.last_name, body.legal_full_name)


@blueprint.get("/v1/classes/students")
@blueprint.get("/v1/classes/students/")
@document_querystring(StudentListQuery)
@document_response(StudentPage)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def list_students(use_cases: FromDishka[StudentUseCases]) -> Response:
    """List the caller's students, newest first, by class and text (also with a final `/`)."""
    actor = current_teacher()
    limit, offset = parse_pagination(request.args)
    raw_class_id = request.args.get("class_id")
    class_id = parse_uuid(raw_class_id, "class_id") if raw_class_id is not None else None
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        raise invalid_parameter("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    if "\x00" in query:
        # PostgreSQL text cannot hold U+0000, so the pattern would fail there as a 500.
        raise invalid_parameter("q", "must not contain NUL characters")
    page = await use_cases.list_page(
        actor, class_id=class_id, query=query or None, limit=limit, offset=offset
    )
    return json_response(
        {
            "students": [student_json(item) for item in page.items],
            "pagination": pagination_json(page, limit=limit, offset=offset),
        }
    )


@blueprint.post("/v1/classes/students")
@blueprint.post("/v1/classes/students/")
@document_request(CreateStudentBody)
@document_response(Student, 201, CreatedHeaders)
@document_errors(400, 401, 409, 413, 500, 502)
@document_links(
    201,
    {
        "get_student": {"student_id": _CREATED_STUDENT},
        "update_student": {"student_id": _CREATED_STUDENT},
        "delete_student": {"student_id": _CREATED_STUDENT},
    },
)
@security_scheme(TEACHER)
@inject
async def create_student(use_cases: FromDishka[StudentUseCases]) -> Response:
    """Create a student, optionally enrolled in some of the caller's classes."""
    actor = current_teacher()
    body = await read_json_body(request, CreateStudentBody)
    created = await use_cases.create(
        actor, _person_name(body.person_name), body.email, body.class_ids
    )
    return json_response(
        student_json(created),
        status=201,
        headers={"Location": f"/v1/classes/students/{created.id}"},
    )


@blueprint.get("/v1/classes/students/<student_id>")
@document_response(Student)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def get_student(student_id: str, use_cases: FromDishka[StudentUseCases]) -> Response:
    """Read one of the caller's students."""
    actor = current_teacher()
    found = await use_cases.get(actor, parse_uuid(student_id, "student_id"))
    return json_response(student_json(found))


@blueprint.put("/v1/classes/students/<student_id>")
@document_request(UpdateStudentBody)
@document_response(Student)
@document_errors(400, 401, 404, 409, 413, 500, 502)
@security_scheme(TEACHER)
@inject
async def update_student(student_id: str, use_cases: FromDishka[StudentUseCases]) -> Response:
    """Change a student's names or e-mail, and enrol in or leave classes."""
    actor = current_teacher()
    target = parse_uuid(student_id, "student_id")
    body = await read_json_body(request, UpdateStudentBody)
    changes = StudentChanges(
        person_name=_person_name(body.person_name) if body.person_name is not None else None,
        email=body.email,
        add_class_ids=body.add_class_ids,
        remove_class_ids=body.remove_class_ids,
    )
    updated = await use_cases.update(actor, target, changes)
    return json_response(student_json(updated))


@blueprint.delete("/v1/classes/students/<student_id>")
@document_response(Message)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def delete_student(student_id: str, use_cases: FromDishka[StudentUseCases]) -> Response:
    """Delete a student; pending essay associations then time out to the UNKNOWN student."""
    actor = current_teacher()
    await use_cases.delete(actor, parse_uuid(student_id, "student_id"))
    return json_response({"message": "Student deleted successfully"})
