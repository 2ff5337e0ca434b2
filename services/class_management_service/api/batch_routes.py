"""``/v1/batches/{batch_id}/student-associations``: the teacher's review and confirmation."""

from dishka import FromDishka
from quart import Blueprint, Response, request
from quart_dishka import inject
from quart_schema import document_request, document_response, security_scheme, tag_blueprint

from class_management_service.api.actor import current_teacher
from class_management_service.api.association_json import (
    confirm_result_json,
    review_json,
)
from class_management_service.api.openapi import TEACHER
from class_management_service.api.representations import BatchReview, ConfirmResult
from class_management_service.api.schemas import ConfirmAssociationsBody
from class_management_service.application.batch_associations import ReviewBatch
from class_management_service.application.confirmations import ConfirmAssociations, ConfirmItem
from huleedu_service_libs.http.body import read_json_body
from huleedu_service_libs.http.openapi_errors import document_errors
from huleedu_service_libs.http.params import parse_uuid
from huleedu_service_libs.http.responses import json_response

blueprint = Blueprint("batches", __name__)
tag_blueprint(blueprint, ["associations"])


@blueprint.get("/v1/batches/<batch_id>/student-associations")
@document_response(BatchReview)
@document_errors(400, 401, 404, 500, 502)
@security_scheme(TEACHER)
@inject
async def review_associations(batch_id: str, use_case: FromDishka[ReviewBatch]) -> Response:
    """Review every essay-student association of a batch, whatever its status."""
    actor = current_teacher()
    review = await use_case.review(actor, parse_uuid(batch_id, "batch_id"))
    return json_response(review_json(review))


@blueprint.post("/v1/batches/<batch_id>/student-associations/confirm")
@document_request(ConfirmAssociationsBody)
@document_response(ConfirmResult)
@document_errors(400, 401, 404, 413, 500, 502)
@security_scheme(TEACHER)
@inject
async def confirm_associations(
    batch_id: str, use_case: FromDishka[ConfirmAssociations]
) -> Response:
    """Confirm or reject pending associations of a batch; decided ones stay unchanged."""
    actor = current_teacher()
    target = parse_uuid(batch_id, "batch_id")
    body = await read_json_body(request, ConfirmAssociationsBody)
    items = [
        ConfirmItem(essay_id=item.essay_id, confirmed=item.confirmed, student_id=item.student_id)
        for item in body.associations
    ]
    result = await use_case.confirm(actor, target, items)
    return json_response(confirm_result_json(result))
