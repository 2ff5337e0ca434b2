"""Timestamp and UUID encoding, the course catalogue and the fixed names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from common_core import topics
from common_core.courses import (
    COURSES,
    Course,
    CourseCode,
    Language,
    course_by_code,
    course_by_id,
)
from common_core.timeutil import to_iso_z
from common_core.wire import CanonicalUuid, UtcDatetime, encode_json, parse_uuid


class Stamped(BaseModel):
    at: UtcDatetime
    id: CanonicalUuid | None = None


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 26, 9, 15, 2, tzinfo=UTC), "2026-11-26T09:15:02Z"),
        (datetime(2026, 11, 26, 9, 15, 2, 481516, tzinfo=UTC), "2026-11-26T09:15:02.481516Z"),
        (datetime(2026, 11, 26, 11, 20, 45, 310000, tzinfo=UTC), "2026-11-26T11:20:45.310000Z"),
        (
            datetime(2026, 11, 26, 11, 20, 45, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-26T09:20:45Z",
        ),
    ],
)
def test_timestamps_end_in_z_with_fraction_only_when_non_zero(moment: datetime, text: str) -> None:
    assert to_iso_z(moment) == text
    dumped = Stamped(at=moment).model_dump(mode="json")["at"]
    assert dumped == text
    assert "+00:00" not in Stamped(at=moment).model_dump_json()
    assert Stamped(at=moment).at.tzinfo is UTC


def test_timestamp_strings_are_parsed_from_z_or_offset() -> None:
    assert Stamped(at="2026-11-26T09:15:02Z").at == datetime(2026, 11, 26, 9, 15, 2, tzinfo=UTC)
    assert Stamped(at="2026-11-26T11:15:02+02:00").model_dump(mode="json")["at"] == (
        "2026-11-26T09:15:02Z"
    )


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Stamped(at=datetime(2026, 11, 26, 9, 15, 2))
    with pytest.raises(ValidationError):
        Stamped(at="2026-11-26T09:15:02")


def test_uuids_are_lowercase_canonical() -> None:
    upper = "ADC494A1-EFAD-4A8A-B45D-59C28B431469"
    assert Stamped(at="2026-11-26T09:15:02Z", id=upper).model_dump(mode="json")["id"] == (
        upper.lower()
    )
    assert parse_uuid(upper) == UUID(upper)
    for bad in ("adc494a1efad4a8ab45d59c28b431469", "{adc494a1-efad-4a8a-b45d-59c28b431469}", 7):
        assert parse_uuid(bad) is None
    with pytest.raises(ValidationError, match="not a valid UUID"):
        Stamped(at="2026-11-26T09:15:02Z", id="nope")


def test_encode_json_is_compact_utf8_and_refuses_nan() -> None:
    assert encode_json({"a": "Å", "b": [1, None]}) == '{"a":"Å","b":[1,null]}'.encode()
    with pytest.raises(ValueError, match="JSON"):
        encode_json({"x": float("nan")})


def test_course_catalogue() -> None:
    expected = {
        ("ENG5", "c48e526d-99e0-4be9-8d79-0c3eec060b20", "English 5", "en"),
        ("ENG6", "e513fe6f-214f-428d-9aaa-dcc9bda0dd51", "English 6", "en"),
        ("ENG7", "9de916a0-ea6e-47b3-b283-b7e3ae50b3c4", "English 7", "en"),
        ("SV1", "cb663a51-d287-44b5-8974-a6b6ac50df4a", "Svenska 1", "sv"),
        ("SV2", "6d4ba959-99a0-45e7-8437-bed12bebfb64", "Svenska 2", "sv"),
        ("SV3", "20cee185-b9b1-4fcb-bb3f-5f67d8120214", "Svenska 3", "sv"),
    }
    assert {(c.code, str(c.id), c.name, c.language) for c in COURSES} == expected
    assert [c.code for c in COURSES] == list(CourseCode)
    sv2 = course_by_code("SV2")
    assert sv2 == Course(
        UUID("6d4ba959-99a0-45e7-8437-bed12bebfb64"), CourseCode.SV2, "Svenska 2", Language.SV
    )
    assert course_by_code(CourseCode.SV2) is sv2
    assert course_by_id(sv2.id) is sv2
    with pytest.raises(KeyError):
        course_by_code("eng5")
    with pytest.raises(KeyError):
        course_by_id(UUID(int=0))


def test_fixed_names() -> None:
    assert topics.SERVICE_NAME == "class_management_service"
    assert topics.teacher_channel("d5918e0d-7655-4456-a123-f0049d22768c") == (
        "ws:d5918e0d-7655-4456-a123-f0049d22768c"
    )
    assert topics.SYSTEM_TIMEOUT == "SYSTEM_TIMEOUT"
    assert topics.NLP_SERVICE_PHASE1 == "nlp_service_phase1"
    assert {
        "huleedu.class.created.v1",
        "huleedu.class.updated.v1",
        "huleedu.class.student.created.v1",
        "huleedu.class.student.updated.v1",
        "huleedu.class.student.associations.confirmed.v1",
        "huleedu.notification.teacher.requested.v1",
    } == topics.PUBLISHED_TOPICS
    assert topics.BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC == (
        "huleedu.batch.author.matches.suggested.v1"
    )
    assert topics.BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC == (
        "huleedu.batch.author.matches.suggested.v1.dlq"
    )
    assert topics.PRODUCER_CLIENT_ID == "class_management_service-producer"
    assert topics.CONSUMER_CLIENT_ID == "class_management_service-consumer"
    assert topics.DEFAULT_CONSUMER_GROUP_ID == "class_management_service-consumer-group"
