"""Teacher notifications match the Redis examples of events.md §7.4 and the Kafka form §4.6."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest

from common_core.courses import CourseCode
from common_core.enums import NotificationType, ValidationMethod
from common_core.envelope import kafka_headers
from common_core.events import StudentAssociationConfirmation
from common_core.notifications import (
    NOTIFICATION_SPECS,
    TeacherNotification,
    class_created,
    class_updated,
    format_hours,
    student_added_to_class,
    student_associations_confirmed,
    student_associations_confirmed_from_event,
    student_matches_suggested,
)
from common_core.topics import SYSTEM_TIMEOUT

from .example_data import (
    BATCH_ID,
    CLASS_ID,
    ESSAY_1,
    ESSAY_2,
    OMAR_ID,
    STUDENT_ID,
    TEACHER,
    at,
    teacher_confirmed_event,
)

CLASS_CREATED_REDIS = """{"event": "class_created", "data": {"class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7", "class_designation": "9B English", "course_codes": ["ENG5"], "message": "Class '9B English' created successfully", "category": "class_management", "priority": "standard", "action_required": false, "deadline": null, "batch_id": null, "correlation_id": "1dadebc3-de19-442c-bd92-c7a1c7eae297", "timestamp": "2026-11-26T09:15:02.481516Z"}}"""  # noqa: E501

CLASS_UPDATED_REDIS = """{"event": "class_updated", "data": {"class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7", "class_designation": "9B English (spring)", "course_codes": ["ENG5"], "message": "Class '9B English (spring)' updated successfully", "category": "class_management", "priority": "standard", "action_required": false, "deadline": null, "batch_id": null, "correlation_id": "3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583", "timestamp": "2026-11-26T09:40:18.020304Z"}}"""  # noqa: E501

STUDENT_ADDED_REDIS = """{"event": "student_added_to_class", "data": {"student_id": "adc494a1-efad-4a8a-b45d-59c28b431469", "student_name": "Anna Lindqvist", "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7", "class_designation": "9B English", "message": "Student 'Anna Lindqvist' added to class '9B English'", "category": "class_management", "priority": "low", "action_required": false, "deadline": null, "batch_id": null, "correlation_id": "9e0a6f25-0184-4f25-9685-817ad285ce34", "timestamp": "2026-11-26T09:16:40.112233Z"}}"""  # noqa: E501

MATCHES_SUGGESTED_REDIS = """{"event": "student_matches_suggested", "data": {"batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5", "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7", "class_designation": "9B English", "course_code": "ENG5", "essay_count": 3, "matched_count": 2, "unmatched_count": 1, "message": "Student matches ready for review in class '9B English': 2 of 3 essays matched", "category": "student_workflow", "priority": "immediate", "action_required": true, "deadline": "2026-11-27T10:02:11.500000Z", "correlation_id": "a00c7c85-24b9-4f79-924b-54e7681ca802", "timestamp": "2026-11-26T10:02:11.500000Z"}}"""  # noqa: E501

ASSOCIATIONS_CONFIRMED_REDIS = """{"event": "student_associations_confirmed", "data": {"batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5", "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7", "confirmed_count": 2, "rejected_count": 1, "associations": [{"essay_id": "50fb4250-26f8-4206-bec0-9167fbe84389", "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469", "validation_method": "human", "confidence_score": 0.92}, {"essay_id": "c41b6097-846c-4475-b8c1-62ed488afc63", "student_id": "95228ffe-c76c-4e97-89ac-ea6091140682", "validation_method": "human", "confidence_score": 0.55}], "validation_summary": {"total_associations": 3, "confirmed": 2, "rejected": 1}, "timeout_triggered": false, "message": "2 student associations confirmed for class '9B English'", "category": "student_workflow", "priority": "high", "action_required": false, "deadline": null, "correlation_id": "f7327a61-b69c-4142-ab88-9523b1bbfee2", "timestamp": "2026-11-26T11:20:45.310000Z"}}"""  # noqa: E501

TEACHER_NOTIFICATION_KAFKA = """
{
  "event_id": "f290d6cf-3e05-4098-af51-49a7023e37c4",
  "event_type": "huleedu.notification.teacher.requested.v1",
  "event_timestamp": "2026-11-26T09:15:02.481516Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "1dadebc3-de19-442c-bd92-c7a1c7eae297",
  "data_schema_uri": null,
  "data": {
    "teacher_id": "d5918e0d-7655-4456-a123-f0049d22768c",
    "notification_type": "class_created",
    "category": "class_management",
    "priority": "standard",
    "payload": {
      "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
      "class_designation": "9B English",
      "course_codes": ["ENG5"],
      "message": "Class '9B English' created successfully"
    },
    "action_required": false,
    "deadline_timestamp": null,
    "correlation_id": "1dadebc3-de19-442c-bd92-c7a1c7eae297",
    "batch_id": null,
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "timestamp": "2026-11-26T09:15:02.481516Z"
  },
  "metadata": null
}
"""


def created_notification() -> TeacherNotification:
    return class_created(
        teacher_id=TEACHER,
        class_id=CLASS_ID,
        class_name="9B English",
        course_code=CourseCode.ENG5,
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        timestamp=at("2026-11-26T09:15:02.481516Z"),
    )


def assert_redis(notification: TeacherNotification, example_text: str) -> None:
    example = json.loads(example_text)
    assert notification.redis_message == example
    assert json.loads(notification.redis_message_bytes()) == example
    assert notification.channel == f"ws:{TEACHER}"
    assert notification.notification_type == example["event"]


def test_class_created_redis_message() -> None:
    assert_redis(created_notification(), CLASS_CREATED_REDIS)


def test_class_updated_redis_message() -> None:
    notification = class_updated(
        teacher_id=TEACHER,
        class_id=CLASS_ID,
        class_name="9B English (spring)",
        course_code="ENG5",
        correlation_id=UUID("3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583"),
        timestamp=at("2026-11-26T09:40:18.020304Z"),
    )
    assert_redis(notification, CLASS_UPDATED_REDIS)


def test_student_added_redis_message() -> None:
    notification = student_added_to_class(
        teacher_id=TEACHER,
        student_id=STUDENT_ID,
        first_name="Anna",
        last_name="Lindqvist",
        class_id=CLASS_ID,
        class_name="9B English",
        correlation_id=UUID("9e0a6f25-0184-4f25-9685-817ad285ce34"),
        timestamp=at("2026-11-26T09:16:40.112233Z"),
    )
    assert_redis(notification, STUDENT_ADDED_REDIS)


def test_student_matches_suggested_redis_message() -> None:
    notification = student_matches_suggested(
        teacher_id=TEACHER,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        class_name="9B English",
        course_code=CourseCode.ENG5,
        essay_count=3,
        matched_count=2,
        correlation_id=UUID("a00c7c85-24b9-4f79-924b-54e7681ca802"),
        timestamp=at("2026-11-26T10:02:11.500000Z"),
        timeout_hours=24,
    )
    assert_redis(notification, MATCHES_SUGGESTED_REDIS)


def test_student_associations_confirmed_redis_message() -> None:
    rows = [
        StudentAssociationConfirmation(
            essay_id=essay,
            student_id=student,
            confidence_score=score,
            validation_method=ValidationMethod.HUMAN,
            validated_by=TEACHER,
            validated_at=at("2026-11-26T11:20:45.31Z"),
        )
        for essay, student, score in ((ESSAY_2, OMAR_ID, 0.55), (ESSAY_1, STUDENT_ID, 0.92))
    ]
    notification = student_associations_confirmed(
        teacher_id=TEACHER,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        class_name="9B English",
        associations=rows,
        rejected_count=1,
        timeout_triggered=False,
        correlation_id=UUID("f7327a61-b69c-4142-ab88-9523b1bbfee2"),
        timestamp=at("2026-11-26T11:20:45.310000Z"),
    )
    assert_redis(notification, ASSOCIATIONS_CONFIRMED_REDIS)


def test_associations_notification_from_event_equals_explicit_builder() -> None:
    notification = student_associations_confirmed_from_event(
        teacher_confirmed_event(),
        teacher_id=TEACHER,
        class_name="9B English",
        correlation_id=UUID("f7327a61-b69c-4142-ab88-9523b1bbfee2"),
    )
    assert_redis(notification, ASSOCIATIONS_CONFIRMED_REDIS)


def test_timeout_message_writes_whole_hours_without_fraction() -> None:
    rows = [
        StudentAssociationConfirmation(
            essay_id=ESSAY_1,
            student_id=STUDENT_ID,
            confidence_score=0.92,
            validation_method=ValidationMethod.TIMEOUT,
            validated_by=SYSTEM_TIMEOUT,
            validated_at=at("2026-11-27T10:30:00.204518Z"),
        )
    ]
    confirm = functools.partial(
        student_associations_confirmed,
        teacher_id=TEACHER,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        class_name="9B English",
        associations=rows,
        rejected_count=0,
        timeout_triggered=True,
        correlation_id=UUID("67712f0f-3ae3-4dea-9aa1-9f763e33e1f2"),
        timestamp=at("2026-11-27T10:30:00.204518Z"),
    )
    whole = confirm(timeout_hours=24.0)
    assert whole.redis_message["data"]["message"] == (
        "1 student associations confirmed automatically after 24 hours for class '9B English'"
    )
    assert whole.redis_message["data"]["timeout_triggered"] is True
    assert "after 1.5 hours" in confirm(timeout_hours=1.5).redis_message["data"]["message"]
    with pytest.raises(ValueError, match="timeout_hours"):
        confirm()


@pytest.mark.parametrize(
    ("hours", "text"), [(24, "24"), (24.0, "24"), (1.5, "1.5"), (0.25, "0.25"), (48.0, "48")]
)
def test_format_hours(hours: float, text: str) -> None:
    assert format_hours(hours) == text


def test_kafka_form_matches_example() -> None:
    notification = created_notification()
    envelope = notification.to_kafka_envelope(event_id=UUID("f290d6cf-3e05-4098-af51-49a7023e37c4"))
    example = json.loads(TEACHER_NOTIFICATION_KAFKA)
    assert envelope.to_wire_dict() == example
    assert envelope.data.kafka_key() == TEACHER
    assert kafka_headers(envelope)[2] == ("correlation_id", example["correlation_id"].encode())
    assert notification.to_kafka_payload().to_wire_dict() == example["data"]


def test_kafka_form_of_suggestion_carries_deadline_and_batch() -> None:
    notification = student_matches_suggested(
        teacher_id=TEACHER,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        class_name="9B English",
        course_code="ENG5",
        essay_count=3,
        matched_count=2,
        correlation_id=UUID("a00c7c85-24b9-4f79-924b-54e7681ca802"),
        timestamp=at("2026-11-26T10:02:11.5Z"),
        timeout_hours=24,
    )
    data = notification.to_kafka_payload().to_wire_dict()
    redis = notification.redis_message["data"]
    assert data["deadline_timestamp"] == redis["deadline"] == "2026-11-27T10:02:11.500000Z"
    assert data["batch_id"] == str(BATCH_ID)
    assert data["action_required"] is True
    assert data["payload"] == {key: redis[key] for key in data["payload"]}
    assert "category" not in data["payload"]


def test_specs_match_the_notification_table() -> None:
    table = {
        "class_created": ("class_management", "standard", False),
        "class_updated": ("class_management", "standard", False),
        "student_added_to_class": ("class_management", "low", False),
        "student_matches_suggested": ("student_workflow", "immediate", True),
        "student_associations_confirmed": ("student_workflow", "high", False),
    }
    assert {
        str(kind): (str(spec.category), str(spec.priority), spec.action_required)
        for kind, spec in NOTIFICATION_SPECS.items()
    } == table
    assert set(NOTIFICATION_SPECS) == set(NotificationType)


def test_common_keys_win_over_payload_keys() -> None:
    notification = TeacherNotification(
        teacher_id=TEACHER,
        notification_type=NotificationType.CLASS_CREATED,
        payload={"class_id": "stale", "priority": "bogus", "message": "m"},
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        timestamp=at("2026-11-26T09:15:02Z"),
        class_id=CLASS_ID,
    )
    data = notification.redis_message["data"]
    assert data["class_id"] == str(CLASS_ID)
    assert data["priority"] == "standard"


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        class_created(
            teacher_id=TEACHER,
            class_id=CLASS_ID,
            class_name="9B English",
            course_code="ENG5",
            correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
            timestamp=datetime(2026, 11, 26, 9, 15, 2),
        )


def test_redis_message_is_a_fresh_copy() -> None:
    notification = created_notification()
    notification.redis_message["data"]["course_codes"].append("SV1")
    assert notification.redis_message["data"]["course_codes"] == ["ENG5"]
    assert notification.timestamp.tzinfo is not None
    assert notification.timestamp == datetime(2026, 11, 26, 9, 15, 2, 481516, tzinfo=UTC)
