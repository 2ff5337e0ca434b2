"""Published events serialise field-for-field as the wire examples of events.md §4."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from common_core.courses import CourseCode
from common_core.enums import AggregateType, ValidationMethod
from common_core.envelope import EventEnvelope, build_envelope, kafka_headers
from common_core.events import (
    EVENT_ROUTES,
    ClassCreatedV1,
    ClassUpdatedV1,
    PublishedEvent,
    StudentAssociationConfirmation,
    StudentAssociationsConfirmedV1,
    StudentCreatedV1,
    StudentUpdatedV1,
)
from common_core.topics import SYSTEM_TIMEOUT
from common_core.wire import encode_json

from .example_data import (
    BATCH_ID,
    CLASS_ID,
    ESSAY_1,
    ESSAY_2,
    ESSAY_3,
    STUDENT_ID,
    TEACHER,
    UNKNOWN_ID,
    at,
    teacher_confirmed_event,
)


def expected_headers(example: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [
        (name, str(example[name]).encode())
        for name in ("event_id", "event_type", "correlation_id", "source_service")
    ]


CLASS_CREATED_EXAMPLE = """
{
  "event_id": "7a04a675-f69e-4249-aa3c-899c34483bf1",
  "event_type": "huleedu.class.created.v1",
  "event_timestamp": "2026-11-26T09:15:02.481516Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "1dadebc3-de19-442c-bd92-c7a1c7eae297",
  "data_schema_uri": null,
  "data": {
    "event": "class.created",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "class_designation": "9B English",
    "course_codes": ["ENG5"],
    "user_id": "d5918e0d-7655-4456-a123-f0049d22768c",
    "correlation_id": "1dadebc3-de19-442c-bd92-c7a1c7eae297",
    "timestamp": "2026-11-26T09:15:02.481516Z"
  },
  "metadata": null
}
"""

CLASS_UPDATED_EXAMPLE = """
{
  "event_id": "bf5d15b4-148b-41cc-8042-85739a546aed",
  "event_type": "huleedu.class.updated.v1",
  "event_timestamp": "2026-11-26T09:40:18.020304Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583",
  "data_schema_uri": null,
  "data": {
    "event": "class.updated",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "class_designation": "9B English (spring)",
    "course_codes": ["ENG5"],
    "user_id": "d5918e0d-7655-4456-a123-f0049d22768c",
    "correlation_id": "3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583",
    "timestamp": "2026-11-26T09:40:18.020304Z"
  },
  "metadata": null
}
"""

STUDENT_CREATED_EXAMPLE = """
{
  "event_id": "5e43eb84-e62d-457f-afd0-6d40246236f6",
  "event_type": "huleedu.class.student.created.v1",
  "event_timestamp": "2026-11-26T09:16:40.112233Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "9e0a6f25-0184-4f25-9685-817ad285ce34",
  "data_schema_uri": null,
  "data": {
    "event": "student.created",
    "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469",
    "first_name": "Anna",
    "last_name": "Lindqvist",
    "student_email": "anna.lindqvist@example.com",
    "class_ids": ["06978b2f-241d-4018-a94f-a7c67fc7d1c7"],
    "created_by_user_id": "d5918e0d-7655-4456-a123-f0049d22768c",
    "correlation_id": "9e0a6f25-0184-4f25-9685-817ad285ce34",
    "timestamp": "2026-11-26T09:16:40.112233Z"
  },
  "metadata": null
}
"""

STUDENT_UPDATED_EXAMPLE = """
{
  "event_id": "8d19a8ef-2ef6-4c97-9d2b-079ec3a9d5f7",
  "event_type": "huleedu.class.student.updated.v1",
  "event_timestamp": "2026-11-26T09:52:07.700001Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "170b1ffb-4c8f-4c7a-bcdd-970a76fa5e22",
  "data_schema_uri": null,
  "data": {
    "event": "student.updated",
    "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469",
    "first_name": "Anna",
    "last_name": "Lindqvist",
    "student_email": "anna.lindqvist@example.se",
    "add_class_ids": null,
    "remove_class_ids": null,
    "updated_by_user_id": "d5918e0d-7655-4456-a123-f0049d22768c",
    "correlation_id": "170b1ffb-4c8f-4c7a-bcdd-970a76fa5e22",
    "timestamp": "2026-11-26T09:52:07.700001Z"
  },
  "metadata": null
}
"""

ASSOCIATIONS_CONFIRMED_EXAMPLE = """
{
  "event_id": "1d0cb45e-73e1-4281-9480-117beaf52ec8",
  "event_type": "huleedu.class.student.associations.confirmed.v1",
  "event_timestamp": "2026-11-26T11:20:45.310000Z",
  "source_service": "class_management_service",
  "schema_version": 1,
  "correlation_id": "f7327a61-b69c-4142-ab88-9523b1bbfee2",
  "data_schema_uri": null,
  "data": {
    "event_name": "student.associations.confirmed",
    "entity_id": null,
    "entity_type": null,
    "parent_id": null,
    "timestamp": "2026-11-26T11:20:45.310000Z",
    "batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "course_code": "ENG5",
    "associations": [
      {
        "essay_id": "50fb4250-26f8-4206-bec0-9167fbe84389",
        "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469",
        "confidence_score": 0.92,
        "validation_method": "human",
        "validated_by": "d5918e0d-7655-4456-a123-f0049d22768c",
        "validated_at": "2026-11-26T11:20:45.310000Z"
      },
      {
        "essay_id": "c41b6097-846c-4475-b8c1-62ed488afc63",
        "student_id": "95228ffe-c76c-4e97-89ac-ea6091140682",
        "confidence_score": 0.55,
        "validation_method": "human",
        "validated_by": "d5918e0d-7655-4456-a123-f0049d22768c",
        "validated_at": "2026-11-26T11:20:45.310000Z"
      }
    ],
    "timeout_triggered": false,
    "validation_summary": {"total_associations": 3, "confirmed": 2, "rejected": 1}
  },
  "metadata": {
    "batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "partition_key": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5"
  }
}
"""

# Only `data` and the changed envelope fields are shown in the spec (events.md §4.5).
ASSOCIATIONS_TIMEOUT_EXAMPLE = """
{
  "event_id": "d7520794-119f-4cbb-a156-064e668b6233",
  "event_timestamp": "2026-11-27T10:30:00.204518Z",
  "correlation_id": "67712f0f-3ae3-4dea-9aa1-9f763e33e1f2",
  "data": {
    "event_name": "student.associations.confirmed",
    "entity_id": null,
    "entity_type": null,
    "parent_id": null,
    "timestamp": "2026-11-27T10:30:00.204518Z",
    "batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "course_code": "ENG5",
    "associations": [
      {"essay_id": "50fb4250-26f8-4206-bec0-9167fbe84389", "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469", "confidence_score": 0.92, "validation_method": "timeout", "validated_by": "SYSTEM_TIMEOUT", "validated_at": "2026-11-27T10:30:00.204518Z"},
      {"essay_id": "c41b6097-846c-4475-b8c1-62ed488afc63", "student_id": "a46c278d-c0c7-4667-8744-422a4884801d", "confidence_score": 0.0, "validation_method": "timeout", "validated_by": "SYSTEM_TIMEOUT", "validated_at": "2026-11-27T10:30:00.204518Z"},
      {"essay_id": "eb2399a7-5152-4f06-a0dd-2f643cb6454f", "student_id": "a46c278d-c0c7-4667-8744-422a4884801d", "confidence_score": 0.0, "validation_method": "timeout", "validated_by": "SYSTEM_TIMEOUT", "validated_at": "2026-11-27T10:30:00.204518Z"}
    ],
    "timeout_triggered": true,
    "validation_summary": {"total_associations": 3, "confirmed": 3, "rejected": 0}
  }
}
"""  # noqa: E501


def assert_wire(envelope: EventEnvelope[Any], example_text: str, key: str) -> None:
    example = json.loads(example_text)
    assert envelope.to_wire_dict() == example
    assert json.loads(envelope.to_json_bytes()) == example
    assert kafka_headers(envelope) == expected_headers(example)
    # The relay only has the stored dict; it must derive the same headers from it.
    assert kafka_headers(example) == expected_headers(example)
    assert envelope.data.kafka_key() == key


def test_class_created_matches_example() -> None:
    payload = ClassCreatedV1(
        class_id=CLASS_ID,
        class_designation="9B English",
        course_codes=[CourseCode.ENG5],
        user_id=TEACHER,
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        timestamp=at("2026-11-26T09:15:02.481516Z"),
    )
    envelope = payload.to_envelope(
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        event_id=UUID("7a04a675-f69e-4249-aa3c-899c34483bf1"),
    )
    assert_wire(envelope, CLASS_CREATED_EXAMPLE, str(CLASS_ID))


def test_class_updated_matches_example() -> None:
    payload = ClassUpdatedV1(
        class_id=CLASS_ID,
        class_designation="9B English (spring)",
        course_codes=["ENG5"],
        user_id=TEACHER,
        correlation_id=UUID("3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583"),
        timestamp=at("2026-11-26T09:40:18.020304Z"),
    )
    envelope = payload.to_envelope(
        correlation_id=UUID("3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583"),
        event_id=UUID("bf5d15b4-148b-41cc-8042-85739a546aed"),
    )
    assert_wire(envelope, CLASS_UPDATED_EXAMPLE, str(CLASS_ID))


def test_student_created_matches_example() -> None:
    payload = StudentCreatedV1(
        student_id=STUDENT_ID,
        first_name="Anna",
        last_name="Lindqvist",
        student_email="anna.lindqvist@example.com",
        class_ids=[CLASS_ID],
        created_by_user_id=TEACHER,
        correlation_id=UUID("9e0a6f25-0184-4f25-9685-817ad285ce34"),
        timestamp=at("2026-11-26T09:16:40.112233Z"),
    )
    envelope = payload.to_envelope(
        correlation_id=UUID("9e0a6f25-0184-4f25-9685-817ad285ce34"),
        event_id=UUID("5e43eb84-e62d-457f-afd0-6d40246236f6"),
    )
    assert_wire(envelope, STUDENT_CREATED_EXAMPLE, str(STUDENT_ID))


def test_student_updated_matches_example() -> None:
    payload = StudentUpdatedV1(
        student_id=STUDENT_ID,
        first_name="Anna",
        last_name="Lindqvist",
        student_email="anna.lindqvist@example.se",
        add_class_ids=[],
        remove_class_ids=None,
        updated_by_user_id=TEACHER,
        correlation_id=UUID("170b1ffb-4c8f-4c7a-bcdd-970a76fa5e22"),
        timestamp=at("2026-11-26T09:52:07.700001Z"),
    )
    envelope = payload.to_envelope(
        correlation_id=UUID("170b1ffb-4c8f-4c7a-bcdd-970a76fa5e22"),
        event_id=UUID("8d19a8ef-2ef6-4c97-9d2b-079ec3a9d5f7"),
    )
    assert_wire(envelope, STUDENT_UPDATED_EXAMPLE, str(STUDENT_ID))


def test_associations_confirmed_matches_teacher_example() -> None:
    envelope = teacher_confirmed_event().to_envelope(
        correlation_id=UUID("f7327a61-b69c-4142-ab88-9523b1bbfee2"),
        event_id=UUID("1d0cb45e-73e1-4281-9480-117beaf52ec8"),
    )
    assert_wire(envelope, ASSOCIATIONS_CONFIRMED_EXAMPLE, str(BATCH_ID))


def test_associations_confirmed_matches_timeout_example() -> None:
    now = at("2026-11-27T10:30:00.204518Z")
    rows = [
        StudentAssociationConfirmation(
            essay_id=essay,
            student_id=student,
            confidence_score=score,
            validation_method=ValidationMethod.TIMEOUT,
            validated_by=SYSTEM_TIMEOUT,
            validated_at=now,
        )
        for essay, student, score in (
            (ESSAY_1, STUDENT_ID, 0.92),
            (ESSAY_2, UNKNOWN_ID, 0.0),
            (ESSAY_3, UNKNOWN_ID, 0.0),
        )
    ]
    event = StudentAssociationsConfirmedV1(
        timestamp=now,
        batch_id=BATCH_ID,
        class_id=CLASS_ID,
        course_code="ENG5",
        associations=rows,
        timeout_triggered=True,
        validation_summary={"total_associations": 3, "confirmed": 3, "rejected": 0},
    )
    envelope = event.to_envelope(
        correlation_id=UUID("67712f0f-3ae3-4dea-9aa1-9f763e33e1f2"),
        event_id=UUID("d7520794-119f-4cbb-a156-064e668b6233"),
    )
    example = json.loads(ASSOCIATIONS_TIMEOUT_EXAMPLE)
    wire = envelope.to_wire_dict()
    assert {key: wire[key] for key in example} == example
    assert wire["event_type"] == "huleedu.class.student.associations.confirmed.v1"
    assert wire["metadata"] == {
        "batch_id": str(BATCH_ID),
        "class_id": str(CLASS_ID),
        "partition_key": str(BATCH_ID),
    }


def test_routes_cover_every_published_event() -> None:
    assert {(r.topic, r.key_field, r.aggregate_type) for r in EVENT_ROUTES.values()} == {
        ("huleedu.class.created.v1", "class_id", AggregateType.CLASS),
        ("huleedu.class.updated.v1", "class_id", AggregateType.CLASS),
        ("huleedu.class.student.created.v1", "student_id", AggregateType.STUDENT),
        ("huleedu.class.student.updated.v1", "student_id", AggregateType.STUDENT),
        (
            "huleedu.class.student.associations.confirmed.v1",
            "batch_id",
            AggregateType.BATCH,
        ),
        ("huleedu.notification.teacher.requested.v1", "teacher_id", AggregateType.TEACHER),
    }
    for model, route in EVENT_ROUTES.items():
        assert issubclass(model, PublishedEvent)
        assert route.key_field in model.model_fields


def test_student_updated_sorts_ids_and_nulls_empty_lists() -> None:
    low, high = (
        UUID("0a000000-0000-4000-8000-000000000000"),
        UUID("f0000000-0000-4000-8000-000000000000"),
    )
    event = StudentUpdatedV1(
        student_id=STUDENT_ID,
        first_name="Anna",
        last_name="Lindqvist",
        student_email=None,
        add_class_ids=[str(high).upper(), low],
        remove_class_ids=[],
        updated_by_user_id=TEACHER,
        correlation_id=UUID("170b1ffb-4c8f-4c7a-bcdd-970a76fa5e22"),
        timestamp=at("2026-11-26T09:52:07Z"),
    )
    wire = event.to_wire_dict()
    assert wire["add_class_ids"] == [str(low), str(high)]
    assert wire["remove_class_ids"] is None
    assert wire["student_email"] is None


def test_student_created_requires_the_nullable_email_key() -> None:
    with pytest.raises(ValidationError, match="student_email"):
        StudentCreatedV1(  # type: ignore[call-arg]
            student_id=STUDENT_ID,
            first_name="Anna",
            last_name="Lindqvist",
            class_ids=[],
            created_by_user_id=TEACHER,
            correlation_id=UUID("9e0a6f25-0184-4f25-9685-817ad285ce34"),
            timestamp=at("2026-11-26T09:16:40Z"),
        )


def test_inconsistent_validation_summary_is_rejected() -> None:
    good = teacher_confirmed_event()
    with pytest.raises(ValidationError, match="confirmed"):
        StudentAssociationsConfirmedV1.model_validate(
            {
                **good.model_dump(),
                "validation_summary": {"total_associations": 3, "confirmed": 3, "rejected": 0},
            }
        )


def test_envelope_refuses_mismatched_timestamp_or_correlation_id() -> None:
    payload = teacher_confirmed_event()
    with pytest.raises(ValueError, match="timestamp"):
        build_envelope(
            event_type=payload.route.topic,
            payload=payload,
            correlation_id=UUID("f7327a61-b69c-4142-ab88-9523b1bbfee2"),
            event_timestamp=at("2026-11-26T11:20:46Z"),
        )
    created = ClassCreatedV1(
        class_id=CLASS_ID,
        class_designation="9B English",
        course_codes=["ENG5"],
        user_id=TEACHER,
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        timestamp=at("2026-11-26T09:15:02Z"),
    )
    with pytest.raises(ValueError, match="correlation_id"):
        created.to_envelope(correlation_id=UUID("3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583"))


def test_envelope_mints_event_id_and_encodes_compact_utf8() -> None:
    created = ClassCreatedV1(
        class_id=CLASS_ID,
        class_designation="Åk 9 Svenska",
        course_codes=["SV1"],
        user_id=TEACHER,
        correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
        timestamp=datetime(2026, 11, 26, 9, 15, 2, tzinfo=UTC),
    )
    first = created.to_envelope(correlation_id=created.correlation_id)
    second = created.to_envelope(correlation_id=created.correlation_id)
    assert first.event_id != second.event_id
    raw = first.to_json_bytes()
    assert "Åk 9 Svenska".encode() in raw
    assert raw == encode_json(json.loads(raw))
    assert b'"event_timestamp":"2026-11-26T09:15:02Z"' in raw


def test_unknown_course_code_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ClassCreatedV1(
            class_id=CLASS_ID,
            class_designation="9B",
            course_codes=["ENG9"],
            user_id=TEACHER,
            correlation_id=UUID("1dadebc3-de19-442c-bd92-c7a1c7eae297"),
            timestamp=at("2026-11-26T09:15:02Z"),
        )


@pytest.mark.parametrize(
    ("model", "example_text"),
    [
        (ClassCreatedV1, CLASS_CREATED_EXAMPLE),
        (ClassUpdatedV1, CLASS_UPDATED_EXAMPLE),
        (StudentCreatedV1, STUDENT_CREATED_EXAMPLE),
        (StudentUpdatedV1, STUDENT_UPDATED_EXAMPLE),
        (StudentAssociationsConfirmedV1, ASSOCIATIONS_CONFIRMED_EXAMPLE),
    ],
)
def test_examples_round_trip_through_the_models(
    model: type[PublishedEvent], example_text: str
) -> None:
    example = json.loads(example_text)
    parsed = EventEnvelope[model].model_validate(example)  # type: ignore[valid-type]
    assert isinstance(parsed.data, model)
    assert parsed.to_wire_dict() == example


def test_class_events_carry_exactly_one_course() -> None:
    with pytest.raises(ValidationError, match="course_codes"):
        ClassUpdatedV1(
            class_id=CLASS_ID,
            class_designation="9B",
            course_codes=["ENG5", "ENG6"],
            user_id=TEACHER,
            correlation_id=UUID("3caa13ca-d6ca-47ec-b1bd-5f67f6bfd583"),
            timestamp=at("2026-11-26T09:40:18Z"),
        )
