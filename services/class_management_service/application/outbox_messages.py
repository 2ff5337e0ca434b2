"""Renders domain changes as outbox rows: Kafka envelopes and teacher notifications."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from class_management_service.application.context import Actor
from class_management_service.domain.models import ClassReference, SchoolClass, Student
from common_core import notifications
from common_core.events import (
    ClassCreatedV1,
    ClassUpdatedV1,
    PublishedEvent,
    StudentCreatedV1,
    StudentUpdatedV1,
)
from common_core.notifications import TeacherNotification
from huleedu_service_libs.outbox.message import OutboxMessage


@dataclass(frozen=True)
class NotificationPolicy:
    """Which outbox rows a notification becomes (``NOTIFICATIONS_*_ENABLED``)."""

    redis: bool = True
    kafka: bool = False


def event_row(event: PublishedEvent, correlation_id: UUID) -> OutboxMessage:
    """A Kafka outbox row; ``event_id`` is minted here, once, with the row."""
    key = event.kafka_key()
    return OutboxMessage(
        destination="kafka",
        aggregate_type=event.route.aggregate_type.value,
        aggregate_id=key,
        event_type=event.route.topic,
        topic=event.route.topic,
        event_key=key,
        event_data=event.to_envelope(correlation_id=correlation_id).to_wire_dict(),
    )


class OutboxMessages:
    def __init__(self, policy: NotificationPolicy) -> None:
        self._policy = policy

    def notification_rows(self, notification: TeacherNotification) -> list[OutboxMessage]:
        rows: list[OutboxMessage] = []
        if self._policy.redis:
            rows.append(
                OutboxMessage(
                    destination="redis",
                    aggregate_type="teacher",
                    aggregate_id=notification.teacher_id,
                    event_type=notification.notification_type.value,
                    topic=notification.channel,
                    event_key=notification.teacher_id,
                    event_data=notification.redis_message,
                )
            )
        if self._policy.kafka:
            rows.append(event_row(notification.to_kafka_payload(), notification.correlation_id))
        return rows

    def class_created(
        self, school_class: SchoolClass, actor: Actor, now: datetime
    ) -> list[OutboxMessage]:
        return self._class_rows(
            ClassCreatedV1, notifications.class_created, school_class, actor, now
        )

    def class_updated(
        self, school_class: SchoolClass, actor: Actor, now: datetime
    ) -> list[OutboxMessage]:
        return self._class_rows(
            ClassUpdatedV1, notifications.class_updated, school_class, actor, now
        )

    def _class_rows(
        self,
        event_type: type[ClassCreatedV1] | type[ClassUpdatedV1],
        notify: Callable[..., TeacherNotification],
        school_class: SchoolClass,
        actor: Actor,
        now: datetime,
    ) -> list[OutboxMessage]:
        """Created and updated carry the same fields: the class as it is after the change."""
        event = event_type(
            class_id=school_class.id,
            class_designation=school_class.name,
            course_codes=(school_class.course.code,),
            user_id=actor.teacher_id,
            correlation_id=actor.correlation_id,
            timestamp=now,
        )
        notification = notify(
            teacher_id=actor.teacher_id,
            class_id=school_class.id,
            class_name=school_class.name,
            course_code=school_class.course.code,
            correlation_id=actor.correlation_id,
            timestamp=now,
        )
        return [event_row(event, actor.correlation_id), *self.notification_rows(notification)]

    def student_created(
        self,
        student: Student,
        actor: Actor,
        now: datetime,
        joined: Sequence[ClassReference],
        *,
        notify: bool = True,
    ) -> list[OutboxMessage]:
        event = StudentCreatedV1(
            student_id=student.id,
            first_name=student.first_name,
            last_name=student.last_name,
            student_email=student.email,
            class_ids=tuple(student.class_ids),
            created_by_user_id=actor.teacher_id,
            correlation_id=actor.correlation_id,
            timestamp=now,
        )
        rows = [event_row(event, actor.correlation_id)]
        if notify:
            rows += self._added_to_classes(student, actor, now, joined)
        return rows

    def student_updated(
        self,
        student: Student,
        actor: Actor,
        now: datetime,
        *,
        added: Sequence[UUID],
        removed: Sequence[UUID],
        joined: Sequence[ClassReference],
        notify: bool = True,
    ) -> list[OutboxMessage]:
        event = StudentUpdatedV1(
            student_id=student.id,
            first_name=student.first_name,
            last_name=student.last_name,
            student_email=student.email,
            add_class_ids=tuple(added) or None,
            remove_class_ids=tuple(removed) or None,
            updated_by_user_id=actor.teacher_id,
            correlation_id=actor.correlation_id,
            timestamp=now,
        )
        rows = [event_row(event, actor.correlation_id)]
        if notify:
            rows += self._added_to_classes(student, actor, now, joined)
        return rows

    def _added_to_classes(
        self, student: Student, actor: Actor, now: datetime, joined: Sequence[ClassReference]
    ) -> list[OutboxMessage]:
        rows: list[OutboxMessage] = []
        for school_class in sorted(joined, key=lambda c: c.id):
            rows += self.notification_rows(
                notifications.student_added_to_class(
                    teacher_id=actor.teacher_id,
                    student_id=student.id,
                    first_name=student.first_name,
                    last_name=student.last_name,
                    class_id=school_class.id,
                    class_name=school_class.name,
                    correlation_id=actor.correlation_id,
                    timestamp=now,
                )
            )
        return rows
