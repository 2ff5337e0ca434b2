"""JSON representations of essay associations (http-api.md §9 and §10)."""

from __future__ import annotations

from typing import Any

from class_management_service.application.batch_associations import BatchReview
from class_management_service.application.confirmations import ConfirmResult
from class_management_service.domain.associations import (
    AssociationDetail,
    BatchClass,
    StudentName,
    ValidationStatus,
)


def person_name_json(name: StudentName | None) -> dict[str, str] | None:
    if name is None:
        return None
    return {
        "first_name": name.first_name,
        "last_name": name.last_name,
        "legal_full_name": name.legal_full_name,
    }


def review_item_json(detail: AssociationDetail) -> dict[str, Any]:
    row = detail.association
    return {
        "essay_id": row.essay_id,
        "suggested_student_id": row.suggested_student_id,
        "suggested_student_person_name": person_name_json(detail.suggested_student_name),
        "student_id": row.student_id,
        "student_person_name": person_name_json(detail.student_name),
        "confidence_score": row.confidence_score,
        "match_reasons": list(row.match_reasons or ()),
        "no_match_reason": row.no_match_reason,
        "validation_status": row.validation_status.value,
        "validation_method": (
            row.validation_method.value if row.validation_method is not None else None
        ),
        "validated_by": row.validated_by,
        "validated_at": row.validated_at,
        "created_at": row.created_at,
    }


def review_json(review: BatchReview) -> dict[str, Any]:
    summary: dict[str, int] = {"total": len(review.associations)}
    summary.update({status.value: 0 for status in ValidationStatus})
    for detail in review.associations:
        summary[detail.association.validation_status.value] += 1
    batch_class = review.batch_class
    return {
        "batch_id": batch_class.batch_id,
        "class_id": batch_class.class_id,
        "class_name": batch_class.class_name,
        "course_code": batch_class.course.code.value,
        "summary": summary,
        "associations": [review_item_json(detail) for detail in review.associations],
    }


def confirm_result_json(result: ConfirmResult) -> dict[str, Any]:
    return {
        "status": "confirmed",
        "batch_id": result.batch_id,
        "associations_confirmed": result.confirmed,
        "associations_rejected": result.rejected,
        "associations_unchanged": result.unchanged,
        "pending_remaining": result.pending_remaining,
    }


def student_name_json(detail: AssociationDetail) -> dict[str, Any]:
    row = detail.association
    return {
        "essay_id": row.essay_id,
        "student_id": row.student_id,
        "student_person_name": person_name_json(detail.student_name),
        "validation_status": row.validation_status.value,
    }


def class_info_json(batch_class: BatchClass | None) -> dict[str, Any] | None:
    if batch_class is None:
        return None
    return {
        "class_id": batch_class.class_id,
        "class_name": batch_class.class_name,
        "course_code": batch_class.course.code.value,
    }
