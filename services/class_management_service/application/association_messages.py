"""Outbox rows of Phase 1 matching: the confirmation event and the two teacher notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from class_management_service.application.outbox_messages import OutboxMessages, event_row
from class_management_service.domain.associations import (
    BatchClass,
    EssayAssociation,
    ValidationStatus,
)
from common_core import notifications
from common_core.events import (
    StudentAssociationConfirmation,
    StudentAssociationsConfirmedV1,
    ValidationSummary,
)
from huleedu_service_libs.outbox.message import OutboxMessage


def matches_suggested(
    messages: OutboxMessages,
    batch_class: BatchClass,
    stored: Sequence[EssayAssociation],
    *,
    correlation_id: UUID,
    now: datetime,
    timeout_hours: float,
) -> list[OutboxMessage]:
    """``student_matches_suggested`` to the class owner, counting the rows just stored."""
    notification = notifications.student_matches_suggested(
        teacher_id=batch_class.owner_id,
        batch_id=batch_class.batch_id,
        class_id=batch_class.class_id,
        class_name=batch_class.class_name,
        course_code=batch_class.course.code,
        essay_count=len(stored),
        matched_count=sum(1 for row in stored if row.suggested_student_id is not None),
        correlation_id=correlation_id,
        timestamp=now,
        timeout_hours=timeout_hours,
    )
    return messages.notification_rows(notification)


def associations_confirmed(
    messages: OutboxMessages,
    batch_class: BatchClass,
    decided: Sequence[EssayAssociation],
    *,
    recipient: str,
    correlation_id: UUID,
    now: datetime,
    timeout_hours: float | None = None,
) -> list[OutboxMessage]:
    """One ``StudentAssociationsConfirmedV1`` for the rows decided in this transaction, and
    its notification to ``recipient``; ``timeout_hours`` marks a monitor decision."""
    confirmed = [
        StudentAssociationConfirmation(
            essay_id=row.essay_id,
            student_id=row.student_id,
            confidence_score=row.event_confidence(),
            validation_method=row.validation_method,
            validated_by=row.validated_by,
            validated_at=row.validated_at,
        )
        for row in decided
        if row.validation_status is not ValidationStatus.REJECTED
    ]
    rejected = len(decided) - len(confirmed)
    event = StudentAssociationsConfirmedV1(
        timestamp=now,
        batch_id=batch_class.batch_id,
        class_id=batch_class.class_id,
        course_code=batch_class.course.code,
        associations=tuple(confirmed),
        timeout_triggered=timeout_hours is not None,
        validation_summary=ValidationSummary(
            total_associations=len(decided), confirmed=len(confirmed), rejected=rejected
        ),
    )
    notification = notifications.student_associations_confirmed_from_event(
        event,
        teacher_id=recipient,
        class_name=batch_class.class_name,
        correlation_id=correlation_id,
        timeout_hours=timeout_hours,
    )
    return [event_row(event, correlation_id), *messages.notification_rows(notification)]
