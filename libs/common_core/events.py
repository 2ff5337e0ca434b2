"""Payload models of the events this service publishes, with their topic, key and aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from common_core.courses import CourseCode
from common_core.enums import (
    AggregateType,
    NotificationCategory,
    NotificationPriority,
    NotificationType,
    ValidationMethod,
)
from common_core.envelope import EventEnvelope, build_envelope
from common_core.topics import (
    CLASS_CREATED_TOPIC,
    CLASS_UPDATED_TOPIC,
    STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC,
    STUDENT_CREATED_TOPIC,
    STUDENT_UPDATED_TOPIC,
    TEACHER_NOTIFICATION_REQUESTED_TOPIC,
)
from common_core.wire import CanonicalUuid, UtcDatetime


@dataclass(frozen=True, slots=True)
class EventRoute:
    """Where a published event goes: Kafka topic, payload field used as key, outbox aggregate."""

    topic: str
    key_field: str
    aggregate_type: AggregateType


class WireModel(BaseModel):
    """Base of contract models: immutable, unknown input fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_wire_dict(self) -> dict[str, Any]:
        """JSON-ready dict; every field is written, ``None`` as ``null``."""
        return self.model_dump(mode="json")


class PublishedEvent(WireModel):
    """A payload published to Kafka through the outbox."""

    route: ClassVar[EventRoute]
    if TYPE_CHECKING:
        # Every subclass declares it; declaring it here at runtime would move it to the front of
        # the serialised field order.
        timestamp: datetime

    def kafka_key(self) -> str:
        """Kafka key string (also the outbox ``event_key`` and ``aggregate_id``)."""
        return str(getattr(self, self.route.key_field))

    def envelope_metadata(self) -> dict[str, Any] | None:
        return None

    def to_envelope(
        self, *, correlation_id: UUID, event_id: UUID | None = None
    ) -> EventEnvelope[Self]:
        """Envelope for this payload; ``event_timestamp`` is the payload's ``timestamp``."""
        return build_envelope(
            event_type=self.route.topic,
            payload=self,
            correlation_id=correlation_id,
            event_timestamp=self.timestamp,
            event_id=event_id,
            metadata=self.envelope_metadata(),
        )


def _sorted_ids(ids: tuple[UUID, ...]) -> tuple[UUID, ...]:
    # The contract lists class ids ascending; UUID order equals lowercase-string order.
    return tuple(sorted(ids))


SortedUuids = Annotated[tuple[CanonicalUuid, ...], AfterValidator(_sorted_ids)]
# A class has exactly one course; the list form is the platform's shape, not a choice.
SingleCourse = Annotated[tuple[CourseCode, ...], Field(min_length=1, max_length=1)]


class ClassCreatedV1(PublishedEvent):
    route: ClassVar[EventRoute] = EventRoute(CLASS_CREATED_TOPIC, "class_id", AggregateType.CLASS)

    event: Literal["class.created"] = "class.created"
    class_id: CanonicalUuid
    class_designation: str
    course_codes: SingleCourse
    user_id: str
    correlation_id: CanonicalUuid
    timestamp: UtcDatetime


class ClassUpdatedV1(PublishedEvent):
    """Full current name and course (never a diff, never ``null``)."""

    route: ClassVar[EventRoute] = EventRoute(CLASS_UPDATED_TOPIC, "class_id", AggregateType.CLASS)

    event: Literal["class.updated"] = "class.updated"
    class_id: CanonicalUuid
    class_designation: str
    course_codes: SingleCourse
    user_id: str
    correlation_id: CanonicalUuid
    timestamp: UtcDatetime


class StudentCreatedV1(PublishedEvent):
    route: ClassVar[EventRoute] = EventRoute(
        STUDENT_CREATED_TOPIC, "student_id", AggregateType.STUDENT
    )

    event: Literal["student.created"] = "student.created"
    student_id: CanonicalUuid
    first_name: str
    last_name: str
    # Required-nullable: no default, so callers must decide and the key is always written.
    student_email: str | None
    class_ids: SortedUuids
    created_by_user_id: str
    correlation_id: CanonicalUuid
    timestamp: UtcDatetime


class StudentUpdatedV1(PublishedEvent):
    """Current names and e-mail; enrolment changes as sorted lists, ``null`` when empty."""

    route: ClassVar[EventRoute] = EventRoute(
        STUDENT_UPDATED_TOPIC, "student_id", AggregateType.STUDENT
    )

    event: Literal["student.updated"] = "student.updated"
    student_id: CanonicalUuid
    first_name: str
    last_name: str
    student_email: str | None
    add_class_ids: SortedUuids | None = None
    remove_class_ids: SortedUuids | None = None
    updated_by_user_id: str
    correlation_id: CanonicalUuid
    timestamp: UtcDatetime

    @field_validator("add_class_ids", "remove_class_ids")
    @classmethod
    def _empty_is_null(cls, ids: tuple[UUID, ...] | None) -> tuple[UUID, ...] | None:
        return ids or None


class StudentAssociationConfirmation(WireModel):
    essay_id: CanonicalUuid
    # Required-nullable on the wire; this service always decides a student.
    student_id: CanonicalUuid | None
    confidence_score: float
    validation_method: ValidationMethod
    validated_by: str | None
    validated_at: UtcDatetime


class ValidationSummary(WireModel):
    total_associations: int
    confirmed: int
    rejected: int


class StudentAssociationsConfirmedV1(PublishedEvent):
    route: ClassVar[EventRoute] = EventRoute(
        STUDENT_ASSOCIATIONS_CONFIRMED_TOPIC, "batch_id", AggregateType.BATCH
    )

    event_name: Literal["student.associations.confirmed"] = "student.associations.confirmed"
    entity_id: str | None = None
    entity_type: str | None = None
    parent_id: str | None = None
    timestamp: UtcDatetime
    batch_id: CanonicalUuid
    class_id: CanonicalUuid
    course_code: CourseCode
    associations: tuple[StudentAssociationConfirmation, ...]
    timeout_triggered: bool
    validation_summary: ValidationSummary

    @field_validator("associations")
    @classmethod
    def _by_essay_id(
        cls, rows: tuple[StudentAssociationConfirmation, ...]
    ) -> tuple[StudentAssociationConfirmation, ...]:
        return tuple(sorted(rows, key=lambda row: row.essay_id))

    @model_validator(mode="after")
    def _summary_matches(self) -> Self:
        # Downstream services reconcile on these counts, so an inconsistent event is a bug here.
        summary = self.validation_summary
        if summary.confirmed != len(self.associations):
            raise ValueError("validation_summary.confirmed must equal len(associations)")
        if summary.total_associations != summary.confirmed + summary.rejected:
            raise ValueError("validation_summary.total_associations must be confirmed + rejected")
        return self

    def envelope_metadata(self) -> dict[str, Any]:
        return {
            "batch_id": str(self.batch_id),
            "class_id": str(self.class_id),
            "partition_key": str(self.batch_id),
        }


class TeacherNotificationRequestedV1(PublishedEvent):
    """Kafka form of a teacher notification; build it via ``common_core.notifications``."""

    route: ClassVar[EventRoute] = EventRoute(
        TEACHER_NOTIFICATION_REQUESTED_TOPIC, "teacher_id", AggregateType.TEACHER
    )

    teacher_id: str
    notification_type: NotificationType
    category: NotificationCategory
    priority: NotificationPriority
    payload: dict[str, Any]
    action_required: bool
    deadline_timestamp: UtcDatetime | None
    correlation_id: CanonicalUuid
    batch_id: CanonicalUuid | None
    class_id: CanonicalUuid | None
    timestamp: UtcDatetime


EVENT_ROUTES: dict[type[PublishedEvent], EventRoute] = {
    model: model.route
    for model in (
        ClassCreatedV1,
        ClassUpdatedV1,
        StudentCreatedV1,
        StudentUpdatedV1,
        StudentAssociationsConfirmedV1,
        TeacherNotificationRequestedV1,
    )
}
