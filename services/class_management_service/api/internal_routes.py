"""``/internal/v1``: association look-ups for other services (shared key + service id)."""

from uuid import UUID

from dishka import FromDishka
from quart import Blueprint, Response, request
from quart_dishka import inject
from quart_schema import document_querystring, document_response, security_scheme, tag_blueprint

from class_management_service.api.actor import current_service
from class_management_service.api.association_json import (
    class_info_json,
    student_name_json,
)
from class_management_service.api.openapi import SERVICE
from class_management_service.api.representations import BatchClasses, StudentName, StudentNames
from class_management_service.api.schemas import BatchIdsQuery
from class_management_service.application.batch_associations import AssociationLookups
from class_management_service.config import Settings
from huleedu_service_libs.error_handling import invalid_parameter, validation_error
from huleedu_service_libs.http.openapi_errors import document_errors
from huleedu_service_libs.http.params import parse_uuid
from huleedu_service_libs.http.responses import json_response
from huleedu_service_libs.http.uuids import CANONICAL_UUID_MESSAGE, canonical_uuid

MAX_BATCH_IDS = 100

blueprint = Blueprint("internal", __name__)
tag_blueprint(blueprint, ["internal"])


def parse_batch_ids(raw: str | None) -> list[UUID]:
    """Distinct ids in first-seen order; blank elements are skipped (http-api.md §10.3)."""
    ids: dict[UUID, None] = {}
    for element in (raw or "").split(","):
        text = element.strip()
        if not text:
            continue
        parsed = canonical_uuid(text)
        if parsed is None:
            raise invalid_parameter("batch_ids", f"each element {CANONICAL_UUID_MESSAGE}")
        ids[parsed] = None
    if len(ids) > MAX_BATCH_IDS:
        raise validation_error(
            "too_many_ids",
            f"At most {MAX_BATCH_IDS} batch ids per request",
            max_ids=MAX_BATCH_IDS,
            ids=len(ids),
        )
    return list(ids)


@blueprint.get("/internal/v1/batches/<batch_id>/student-names")
@document_response(StudentNames)
@document_errors(400, 401, 500, 502)
@security_scheme(SERVICE)
@inject
async def batch_student_names(
    batch_id: str, lookups: FromDishka[AssociationLookups], settings: FromDishka[Settings]
) -> Response:
    """The student of each essay of a batch (not rejected ones)."""
    current_service(settings)
    details = await lookups.student_names(parse_uuid(batch_id, "batch_id"))
    return json_response([student_name_json(detail) for detail in details])


@blueprint.get("/internal/v1/associations/essay/<essay_id>")
@document_response(StudentName)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(SERVICE)
@inject
async def essay_association(
    essay_id: str, lookups: FromDishka[AssociationLookups], settings: FromDishka[Settings]
) -> Response:
    """The student of one essay."""
    current_service(settings)
    detail = await lookups.of_essay(parse_uuid(essay_id, "essay_id"))
    return json_response(student_name_json(detail))


@blueprint.get("/internal/v1/batches/class-info")
@document_querystring(BatchIdsQuery)
@document_response(BatchClasses)
@document_errors(400, 401, 500, 502)
@security_scheme(SERVICE)
@inject
async def batch_class_info(
    lookups: FromDishka[AssociationLookups], settings: FromDishka[Settings]
) -> Response:
    """The class of each of up to 100 batches."""
    current_service(settings)
    batch_ids = parse_batch_ids(request.args.get("batch_ids"))
    found = await lookups.batch_classes(batch_ids) if batch_ids else {}
    return json_response(
        {str(batch_id): class_info_json(found.get(batch_id)) for batch_id in batch_ids}
    )
