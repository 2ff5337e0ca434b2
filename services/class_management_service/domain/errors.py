"""Errors the domain and its adapters raise; each renders as the standard error body."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from huleedu_service_libs.error_handling import HuleEduError, conflict, not_found, validation_error


class EmailAlreadyUsed(HuleEduError):
    """The teacher already has a student with this e-mail (``uix_student_email_user``)."""

    def __init__(self, email: str) -> None:
        base = conflict("email", email, "A student with this e-mail already exists")
        super().__init__(
            error_code=base.error_code, message=base.message, details=base.details, status_code=409
        )


class EnrolmentConflict(HuleEduError):
    """A concurrent request enrolled the same student in the same class first."""

    def __init__(self, class_id: UUID) -> None:
        base = conflict("class_id", str(class_id), "The student is already enrolled in this class")
        super().__init__(
            error_code=base.error_code, message=base.message, details=base.details, status_code=409
        )


class ClassNotFound(HuleEduError):
    def __init__(self, class_id: UUID | str) -> None:
        base = not_found("class", str(class_id))
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)


class StudentNotFound(HuleEduError):
    def __init__(self, student_id: UUID | str) -> None:
        base = not_found("student", str(student_id))
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)


class BatchNotFound(HuleEduError):
    """No association rows for the batch, or its class belongs to someone else."""

    def __init__(self, batch_id: UUID | str) -> None:
        base = not_found("batch", str(batch_id))
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)


class AssociationNotFound(HuleEduError):
    def __init__(self, essay_id: UUID | str) -> None:
        base = not_found("association", str(essay_id))
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)


class UnknownCourseError(HuleEduError):
    """A course code outside ENG5, ENG6, ENG7, SV1, SV2, SV3 (exact case)."""

    def __init__(self, unknown_codes: Sequence[str], allowed_codes: Sequence[str]) -> None:
        base = validation_error(
            "unknown_course_code",
            "Unknown course code",
            course_codes=list(unknown_codes),
            allowed_course_codes=list(allowed_codes),
        )
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)


class MultipleCourseError(HuleEduError):
    """The seed's single course validation: a class belongs to exactly one course."""

    def __init__(self, course_codes: Sequence[str]) -> None:
        base = validation_error(
            "multiple_course_codes",
            "A class belongs to exactly one course",
            provided_course_codes=list(course_codes),
        )
        super().__init__(error_code=base.error_code, message=base.message, details=base.details)
