"""Teacher notifications: the five types, their Redis message and their Kafka payload."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

from common_core.courses import CourseCode
from common_core.enums import NotificationCategory, NotificationPriority, NotificationType
from common_core.envelope import EventEnvelope
from common_core.events import (
    StudentAssociationConfirmation,
    StudentAssociationsConfirmedV1,
    TeacherNotificationRequestedV1,
)
from common_core.timeutil import to_iso_z
from common_core.topics import teacher_channel
from common_core.wire import encode_json


@dataclass(frozen=True, slots=True)
class NotificationSpec:
    category: NotificationCategory
    priority: NotificationPriority
    action_required: bool


NOTIFICATION_SPECS: Mapping[NotificationType, NotificationSpec] = MappingProxyType(
    {
        NotificationType.CLASS_CREATED: NotificationSpec(
            NotificationCategory.CLASS_MANAGEMENT, NotificationPriority.STANDARD, False
        ),
        NotificationType.CLASS_UPDATED: NotificationSpec(
            NotificationCategory.CLASS_MANAGEMENT, NotificationPriority.STANDARD, False
        ),
        NotificationType.STUDENT_ADDED_TO_CLASS: NotificationSpec(
            NotificationCategory.CLASS_MANAGEMENT, NotificationPriority.LOW, False
        ),
        NotificationType.STUDENT_MATCHES_SUGGESTED: NotificationSpec(
            NotificationCategory.STUDENT_WORKFLOW, NotificationPriority.IMMEDIATE, True
        ),
        NotificationType.STUDENT_ASSOCIATIONS_CONFIRMED: NotificationSpec(
            NotificationCategory.STUDENT_WORKFLOW, NotificationPriority.HIGH, False
        ),
    }
)

CLASS_CREATED_MESSAGE = "Class '{name}' created successfully"
CLASS_UPDATED_MESSAGE = "Class '{name}' updated successfully"
STUDENT_ADDED_MESSAGE = "Student '{first_name} {last_name}' added to class '{class_name}'"
MATCHES_SUGGESTED_MESSAGE = (
    "Student matches ready for review in class '{class_name}': "
    "{matched_count} of {essay_count} essays matched"
)
ASSOCIATIONS_CONFIRMED_MESSAGE = (
    "{confirmed_count} student associations confirmed for class '{class_name}'"
)
ASSOCIATIONS_TIMEOUT_MESSAGE = (
    "{confirmed_count} student associations confirmed automatically after {hours} hours "
    "for class '{class_name}'"
)


def format_hours(hours: float) -> str:
    """``24.0`` → ``"24"``, ``1.5`` → ``"1.5"``: whole numbers are written without a fraction."""
    value = float(hours)
    return str(int(value)) if value.is_integer() else str(value)


def _require_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class TeacherNotification:
    """One notification to one teacher; ``payload`` holds the type's JSON-ready payload keys."""

    teacher_id: str
    notification_type: NotificationType
    payload: Mapping[str, Any] = field(hash=False)
    correlation_id: UUID
    timestamp: datetime
    batch_id: UUID | None = None
    class_id: UUID | None = None
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        if not self.teacher_id:
            raise ValueError("teacher_id must not be empty")
        _require_aware("timestamp", self.timestamp)
        _require_aware("deadline", self.deadline)

    @property
    def spec(self) -> NotificationSpec:
        return NOTIFICATION_SPECS[self.notification_type]

    @property
    def channel(self) -> str:
        """Redis channel ``ws:{teacher_id}`` (also the outbox ``topic`` of the Redis row)."""
        return teacher_channel(self.teacher_id)

    def payload_dict(self) -> dict[str, Any]:
        """A fresh deep copy, so callers cannot mutate the stored payload."""
        return copy.deepcopy(dict(self.payload))

    @property
    def redis_message(self) -> dict[str, Any]:
        """``{"event": type, "data": {payload keys + common keys}}``; common keys win a clash."""
        spec = self.spec
        common: dict[str, Any] = {
            "category": str(spec.category),
            "priority": str(spec.priority),
            "action_required": spec.action_required,
            "deadline": to_iso_z(self.deadline) if self.deadline is not None else None,
            "batch_id": str(self.batch_id) if self.batch_id is not None else None,
            "class_id": str(self.class_id) if self.class_id is not None else None,
            "correlation_id": str(self.correlation_id),
            "timestamp": to_iso_z(self.timestamp),
        }
        return {"event": str(self.notification_type), "data": {**self.payload_dict(), **common}}

    def redis_message_bytes(self) -> bytes:
        return encode_json(self.redis_message)

    def to_kafka_payload(self) -> TeacherNotificationRequestedV1:
        spec = self.spec
        return TeacherNotificationRequestedV1(
            teacher_id=self.teacher_id,
            notification_type=self.notification_type,
            category=spec.category,
            priority=spec.priority,
            payload=self.payload_dict(),
            action_required=spec.action_required,
            deadline_timestamp=self.deadline,
            correlation_id=self.correlation_id,
            batch_id=self.batch_id,
            class_id=self.class_id,
            timestamp=self.timestamp,
        )

    def to_kafka_envelope(
        self, *, event_id: UUID | None = None
    ) -> EventEnvelope[TeacherNotificationRequestedV1]:
        return self.to_kafka_payload().to_envelope(
            correlation_id=self.correlation_id, event_id=event_id
        )


def _class_notification(
    notification_type: NotificationType,
    template: str,
    *,
    teacher_id: str,
    class_id: UUID,
    class_name: str,
    course_code: CourseCode | str,
    correlation_id: UUID,
    timestamp: datetime,
) -> TeacherNotification:
    payload = {
        "class_id": str(class_id),
        "class_designation": class_name,
        "course_codes": [str(CourseCode(course_code))],
        "message": template.format(name=class_name),
    }
    return TeacherNotification(
        teacher_id=teacher_id,
        notification_type=notification_type,
        payload=payload,
        correlation_id=correlation_id,
        timestamp=timestamp,
        class_id=class_id,
    )


def class_created(
    *,
    teacher_id: str,
    class_id: UUID,
    class_name: str,
    course_code: CourseCode | str,
    correlation_id: UUID,
    timestamp: datetime,
) -> TeacherNotification:
    return _class_notification(
        NotificationType.CLASS_CREATED,
        CLASS_CREATED_MESSAGE,
        teacher_id=teacher_id,
        class_id=class_id,
        class_name=class_name,
        course_code=course_code,
        correlation_id=correlation_id,
        timestamp=timestamp,
    )


def class_updated(
    *,
    teacher_id: str,
    class_id: UUID,
    class_name: str,
    course_code: CourseCode | str,
    correlation_id: UUID,
    timestamp: datetime,
) -> TeacherNotification:
    return _class_notification(
        NotificationType.CLASS_UPDATED,
        CLASS_UPDATED_MESSAGE,
        teacher_id=teacher_id,
        class_id=class_id,
        class_name=class_name,
        course_code=course_code,
        correlation_id=correlation_id,
        timestamp=timestamp,
    )


def student_added_to_class(
    *,
    teacher_id: str,
    student_id: UUID,
    first_name: str,
    last_name: str,
    class_id: UUID,
    class_name: str,
    correlation_id: UUID,
    timestamp: datetime,
) -> TeacherNotification:
    payload = {
        "student_id": str(student_id),
        "student_name": f"{first_name} {last_name}",
        "class_id": str(class_id),
        "class_designation": class_name,
        "message": STUDENT_ADDED_MESSAGE.format(
            first_name=first_name, last_name=last_name, class_name=class_name
        ),
    }
    return TeacherNotification(
        teacher_id=teacher_id,
        notification_type=NotificationType.STUDENT_ADDED_TO_CLASS,
        payload=payload,
        correlation_id=correlation_id,
        timestamp=timestamp,
        class_id=class_id,
    )


def student_matches_suggested(
    *,
    teacher_id: str,
    batch_id: UUID,
    class_id: UUID,
    class_name: str,
    course_code: CourseCode | str,
    essay_count: int,
    matched_count: int,
    correlation_id: UUID,
    timestamp: datetime,
    timeout_hours: float,
) -> TeacherNotification:
    """Counts are of the rows stored from one suggestion event; ``timestamp`` is their
    ``created_at`` and the deadline is ``timestamp + timeout_hours``."""
    if not 0 <= matched_count <= essay_count:
        raise ValueError("matched_count must be between 0 and essay_count")
    payload = {
        "batch_id": str(batch_id),
        "class_id": str(class_id),
        "class_designation": class_name,
        "course_code": str(CourseCode(course_code)),
        "essay_count": essay_count,
        "matched_count": matched_count,
        "unmatched_count": essay_count - matched_count,
        "message": MATCHES_SUGGESTED_MESSAGE.format(
            class_name=class_name, matched_count=matched_count, essay_count=essay_count
        ),
    }
    return TeacherNotification(
        teacher_id=teacher_id,
        notification_type=NotificationType.STUDENT_MATCHES_SUGGESTED,
        payload=payload,
        correlation_id=correlation_id,
        timestamp=timestamp,
        batch_id=batch_id,
        class_id=class_id,
        deadline=timestamp + timedelta(hours=timeout_hours),
    )


def student_associations_confirmed(
    *,
    teacher_id: str,
    batch_id: UUID,
    class_id: UUID,
    class_name: str,
    associations: Sequence[StudentAssociationConfirmation],
    rejected_count: int,
    timeout_triggered: bool,
    correlation_id: UUID,
    timestamp: datetime,
    timeout_hours: float | None = None,
) -> TeacherNotification:
    """``associations`` are the confirmed rows of the event; ``timeout_hours`` is required
    when ``timeout_triggered`` (it appears in the message)."""
    confirmed_count = len(associations)
    if timeout_triggered:
        if timeout_hours is None:
            raise ValueError("timeout_hours is required when timeout_triggered")
        message = ASSOCIATIONS_TIMEOUT_MESSAGE.format(
            confirmed_count=confirmed_count,
            hours=format_hours(timeout_hours),
            class_name=class_name,
        )
    else:
        message = ASSOCIATIONS_CONFIRMED_MESSAGE.format(
            confirmed_count=confirmed_count, class_name=class_name
        )
    payload = {
        "batch_id": str(batch_id),
        "class_id": str(class_id),
        "confirmed_count": confirmed_count,
        "rejected_count": rejected_count,
        # Same order as the event (ascending essay_id), reduced to the keys the UI needs.
        "associations": [
            {
                "essay_id": str(row.essay_id),
                "student_id": str(row.student_id) if row.student_id is not None else None,
                "validation_method": str(row.validation_method),
                "confidence_score": row.confidence_score,
            }
            for row in sorted(associations, key=lambda row: row.essay_id)
        ],
        "validation_summary": {
            "total_associations": confirmed_count + rejected_count,
            "confirmed": confirmed_count,
            "rejected": rejected_count,
        },
        "timeout_triggered": timeout_triggered,
        "message": message,
    }
    return TeacherNotification(
        teacher_id=teacher_id,
        notification_type=NotificationType.STUDENT_ASSOCIATIONS_CONFIRMED,
        payload=payload,
        correlation_id=correlation_id,
        timestamp=timestamp,
        batch_id=batch_id,
        class_id=class_id,
    )


def student_associations_confirmed_from_event(
    event: StudentAssociationsConfirmedV1,
    *,
    teacher_id: str,
    class_name: str,
    correlation_id: UUID,
    timeout_hours: float | None = None,
) -> TeacherNotification:
    """The notification that accompanies ``event`` (same rows, counts and timestamp)."""
    return student_associations_confirmed(
        teacher_id=teacher_id,
        batch_id=event.batch_id,
        class_id=event.class_id,
        class_name=class_name,
        associations=event.associations,
        rejected_count=event.validation_summary.rejected,
        timeout_triggered=event.timeout_triggered,
        correlation_id=correlation_id,
        timestamp=event.timestamp,
        timeout_hours=timeout_hours,
    )
