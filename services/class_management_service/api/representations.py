"""Response bodies of the API (http-api.md §6-§11) as models, for the OpenAPI document.

The presenters build the JSON; these models describe it for clients and generators. They are
not on the request path (no validation cost per response): schemathesis' response-schema check
and the generated client's typed parsing, both in ``make test``, prove that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel

from class_management_service.domain.associations import ValidationStatus
from common_core.courses import CourseCode, Language


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Pagination(_Out):
    limit: int = Field(ge=1, le=100, description="the effective (possibly clamped) limit")
    offset: int = Field(ge=0)
    returned: int = Field(ge=0, description="items in this page")
    total: int = Field(ge=0, description="items matching the filters")


class SchoolClass(_Out):
    """A class (§6.1)."""

    id: UUID
    name: str = Field(min_length=1, max_length=100)
    course_code: CourseCode
    course_name: str
    language: Language
    student_count: int = Field(ge=0, description="enrolled students, UNKNOWN placeholder excluded")
    created_at: datetime
    updated_at: datetime


class ClassPage(_Out):
    """A page of the caller's classes, newest first."""

    classes: list[SchoolClass]
    pagination: Pagination


class Student(_Out):
    """A student (§6.2)."""

    id: UUID
    first_name: str
    last_name: str
    legal_full_name: str
    full_name: str
    email: str | None
    class_ids: list[UUID] = Field(description="enrolled classes, ascending")
    created_at: datetime
    updated_at: datetime


class StudentPage(_Out):
    """A page of the caller's students, newest first."""

    students: list[Student]
    pagination: Pagination


class Message(_Out):
    """The resource was deleted."""

    message: str


class CreatedHeaders(BaseModel):
    location: str = Field(description="path of the created resource")


class RosterEntry(_Out):
    student_id: UUID
    first_name: str
    last_name: str
    full_legal_name: str
    email: str | None


class Roster(_Out):
    """Every enrolled student except the UNKNOWN placeholder, by last name, first name, id."""

    class_id: UUID
    students: list[RosterEntry]


class ImportSummary(_Out):
    total_rows: int = Field(ge=1)
    created: int = Field(ge=0)
    enrolled: int = Field(ge=0)
    already_enrolled: int = Field(ge=0)


class ImportResult(_Out):
    row: int = Field(ge=1)
    outcome: Literal["created", "enrolled", "already_enrolled"]
    student_id: UUID
    email: str | None


class BulkImportResult(_Out):
    """One result per row, in row order."""

    class_id: UUID
    summary: ImportSummary
    results: list[ImportResult]


class PersonName(_Out):
    first_name: str
    last_name: str
    legal_full_name: str


class BatchSummary(_Out):
    total: int = Field(ge=0)
    pending_validation: int = Field(ge=0)
    confirmed: int = Field(ge=0)
    rejected: int = Field(ge=0)
    timeout_confirmed: int = Field(ge=0)


class Association(_Out):
    essay_id: UUID
    suggested_student_id: UUID | None
    suggested_student_person_name: PersonName | None
    student_id: UUID | None
    student_person_name: PersonName | None
    confidence_score: float | None = Field(ge=0.0, le=1.0)
    match_reasons: list[str]
    no_match_reason: str | None
    validation_status: ValidationStatus
    validation_method: Literal["human", "timeout"] | None
    validated_by: str | None
    validated_at: datetime | None
    created_at: datetime


class BatchReview(_Out):
    """Every association of the batch, newest first, then by essay id."""

    batch_id: UUID
    class_id: UUID
    class_name: str
    course_code: CourseCode
    summary: BatchSummary
    associations: list[Association]


class ConfirmResult(_Out):
    """Counts of this call, and what is still pending afterwards."""

    status: Literal["confirmed"]
    batch_id: UUID
    associations_confirmed: int = Field(ge=0)
    associations_rejected: int = Field(ge=0)
    associations_unchanged: int = Field(ge=0)
    pending_remaining: int = Field(ge=0)


class StudentName(_Out):
    """The student of one essay, and whether that is a decision or still a suggestion."""

    essay_id: UUID
    student_id: UUID
    student_person_name: PersonName
    validation_status: Literal["pending_validation", "confirmed", "timeout_confirmed"]


class StudentNames(RootModel[list[StudentName]]):
    """The batch's essays that have a student and are not rejected (``[]`` for an unknown batch)."""


class BatchClass(_Out):
    class_id: UUID
    class_name: str
    course_code: CourseCode


class BatchClasses(RootModel[dict[UUID, BatchClass | None]]):
    """The class of each requested batch, keyed by batch id; ``null`` for a batch without rows."""


class DependencyStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["healthy", "unhealthy", "degraded", "disabled"]
    response_time_ms: float | None = None
    error: str | None = None


class HealthChecks(_Out):
    service_responsive: bool
    dependencies_available: bool


class Health(BaseModel):
    """Dependency and worker status; 503 when ``unhealthy``."""

    model_config = ConfigDict(extra="allow")

    service: str
    status: Literal["healthy", "degraded", "unhealthy"]
    message: str
    version: str
    environment: str | None = None
    checks: HealthChecks | None = None
    dependencies: dict[str, DependencyStatus] | None = None
    workers: dict[str, Literal["running", "stopped", "disabled"]] | None = None
    error: str | None = Field(default=None, description="only when the health check itself failed")
