"""Ids, times and events shared by the wire-example tests (values from events.md)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from common_core.courses import CourseCode
from common_core.enums import ValidationMethod
from common_core.events import (
    StudentAssociationConfirmation,
    StudentAssociationsConfirmedV1,
    ValidationSummary,
)

TEACHER = "d5918e0d-7655-4456-a123-f0049d22768c"
CLASS_ID = UUID("06978b2f-241d-4018-a94f-a7c67fc7d1c7")
STUDENT_ID = UUID("adc494a1-efad-4a8a-b45d-59c28b431469")
OMAR_ID = UUID("95228ffe-c76c-4e97-89ac-ea6091140682")
UNKNOWN_ID = UUID("a46c278d-c0c7-4667-8744-422a4884801d")
BATCH_ID = UUID("d383dbd3-3206-4d63-8ccd-8d57d6b984c5")
ESSAY_1 = UUID("50fb4250-26f8-4206-bec0-9167fbe84389")
ESSAY_2 = UUID("c41b6097-846c-4475-b8c1-62ed488afc63")
ESSAY_3 = UUID("eb2399a7-5152-4f06-a0dd-2f643cb6454f")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def teacher_confirmed_event() -> StudentAssociationsConfirmedV1:
    validated_at = at("2026-11-26T11:20:45.310000Z")
    rows = [
        StudentAssociationConfirmation(
            essay_id=essay,
            student_id=student,
            confidence_score=score,
            validation_method=ValidationMethod.HUMAN,
            validated_by=TEACHER,
            validated_at=validated_at,
        )
        # Given out of order: the model sorts by essay_id as the contract requires.
        for essay, student, score in ((ESSAY_2, OMAR_ID, 0.55), (ESSAY_1, STUDENT_ID, 0.92))
    ]
    return StudentAssociationsConfirmedV1(
        timestamp=validated_at,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        course_code=CourseCode.ENG5,
        associations=rows,
        timeout_triggered=False,
        validation_summary=ValidationSummary(total_associations=3, confirmed=2, rejected=1),
    )
