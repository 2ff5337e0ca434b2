"""Essay → student associations: the stored NLP suggestion and the decision about its author."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from class_management_service.domain.models import SchoolClass
from common_core.courses import Course
from common_core.enums import ValidationMethod
from common_core.topics import NLP_SERVICE_PHASE1, SYSTEM_TIMEOUT


class ValidationStatus(StrEnum):
    PENDING = "pending_validation"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    TIMEOUT_CONFIRMED = "timeout_confirmed"


@dataclass(frozen=True, slots=True)
class EssayAssociation:
    """One row of ``essay_student_associations``.

    Immutable: a decision returns a new value, so a rolled-back transaction can never leave a
    half-decided object behind. The suggestion fields are written once, at insert.
    """

    id: UUID
    essay_id: UUID
    batch_id: UUID
    class_id: UUID
    student_id: UUID | None
    suggested_student_id: UUID | None
    confidence_score: float | None
    match_reasons: tuple[str, ...] | None
    no_match_reason: str | None
    created_at: datetime
    created_by_user_id: str = NLP_SERVICE_PHASE1
    validation_status: ValidationStatus = ValidationStatus.PENDING
    validated_by: str | None = None
    validated_at: datetime | None = None
    validation_method: ValidationMethod | None = None

    @property
    def is_pending(self) -> bool:
        return self.validation_status is ValidationStatus.PENDING

    def confirmed(self, student_id: UUID, *, by: str, at: datetime) -> EssayAssociation:
        return self._decided(ValidationStatus.CONFIRMED, student_id, by, at, ValidationMethod.HUMAN)

    def rejected(self, *, by: str, at: datetime) -> EssayAssociation:
        # The suggestion stays in suggested_student_id; only the association is dropped.
        return self._decided(ValidationStatus.REJECTED, None, by, at, ValidationMethod.HUMAN)

    def timed_out(self, student_id: UUID, *, at: datetime) -> EssayAssociation:
        return self._decided(
            ValidationStatus.TIMEOUT_CONFIRMED,
            student_id,
            SYSTEM_TIMEOUT,
            at,
            ValidationMethod.TIMEOUT,
        )

    def without_student(self, student_id: UUID) -> EssayAssociation:
        """The row after ``student_id`` is deleted (the schema's ``ON DELETE SET NULL``)."""
        return replace(
            self,
            student_id=None if self.student_id == student_id else self.student_id,
            suggested_student_id=(
                None if self.suggested_student_id == student_id else self.suggested_student_id
            ),
        )

    def event_confidence(self) -> float:
        """``confidence_score`` in the confirmation event for a decided (non-rejected) row.

        The stored score only describes the stored suggestion, so it is reported when that
        suggestion was kept; a teacher's other choice counts as certain (1.0) and the UNKNOWN
        placeholder as unknown (0.0)."""
        score = self.confidence_score
        kept = self.student_id is not None and self.student_id == self.suggested_student_id
        if kept and score is not None:
            return score
        if self.validation_method is ValidationMethod.TIMEOUT:
            return 0.0
        return 1.0

    def _decided(
        self,
        status: ValidationStatus,
        student_id: UUID | None,
        by: str,
        at: datetime,
        method: ValidationMethod,
    ) -> EssayAssociation:
        if not self.is_pending:
            raise ValueError(f"association {self.id} is already {self.validation_status}")
        return replace(
            self,
            student_id=student_id,
            validation_status=status,
            validated_by=by,
            validated_at=at,
            validation_method=method,
        )


@dataclass(frozen=True, slots=True)
class StudentName:
    first_name: str
    last_name: str
    legal_full_name: str


@dataclass(frozen=True, slots=True)
class AssociationDetail:
    """An association with the names of its suggested and current students (for reads)."""

    association: EssayAssociation
    suggested_student_name: StudentName | None
    student_name: StudentName | None


@dataclass(frozen=True, slots=True)
class BatchClass:
    """The class a batch's associations belong to."""

    batch_id: UUID
    class_id: UUID
    class_name: str
    course: Course
    owner_id: str

    @classmethod
    def of(cls, batch_id: UUID, school_class: SchoolClass) -> BatchClass:
        return cls(
            batch_id=batch_id,
            class_id=school_class.id,
            class_name=school_class.name,
            course=school_class.course,
            owner_id=school_class.owner_id,
        )
