"""Validation of the consumed suggestion event (events.md §5) and dead-letter headers (§6)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from common_core.courses import CourseCode
from common_core.dlq import DlqReason, dlq_headers, truncate_error
from common_core.suggestions import (
    BatchAuthorMatchesSuggestedV1,
    RejectedMessage,
    SuggestionMessage,
    format_validation_error,
    parse_suggestion_message,
)

SUGGESTION_EXAMPLE = """
{
  "event_id": "051afc0b-7bac-4eb6-ab69-c990894f6cef",
  "event_type": "huleedu.batch.author.matches.suggested.v1",
  "event_timestamp": "2026-11-26T10:02:10.998877Z",
  "source_service": "nlp_service",
  "schema_version": 1,
  "correlation_id": "a00c7c85-24b9-4f79-924b-54e7681ca802",
  "data_schema_uri": null,
  "data": {
    "event_name": "batch.author.matches.suggested",
    "entity_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "entity_type": "batch",
    "parent_id": null,
    "timestamp": "2026-11-26T10:02:10.998877Z",
    "batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "class_id": "06978b2f-241d-4018-a94f-a7c67fc7d1c7",
    "course_code": "ENG5",
    "match_results": [
      {
        "essay_id": "50fb4250-26f8-4206-bec0-9167fbe84389",
        "text_storage_id": "txt-8c1f2e",
        "filename": "anna_essay.docx",
        "suggestions": [
          {
            "student_id": "adc494a1-efad-4a8a-b45d-59c28b431469",
            "student_name": "Anna Lindqvist",
            "student_email": "anna.lindqvist@example.com",
            "confidence_score": 0.92,
            "match_reasons": ["Full name found in essay header", "E-mail matches roster"],
            "extraction_metadata": {"strategy": "header"}
          }
        ],
        "no_match_reason": null,
        "extraction_metadata": {}
      },
      {
        "essay_id": "c41b6097-846c-4475-b8c1-62ed488afc63",
        "text_storage_id": "txt-41aa90",
        "filename": "essay2.pdf",
        "suggestions": [
          {
            "student_id": "95228ffe-c76c-4e97-89ac-ea6091140682",
            "student_name": "Omar Haddad",
            "student_email": null,
            "confidence_score": 0.55,
            "match_reasons": ["First name found in essay text"],
            "extraction_metadata": {}
          }
        ],
        "no_match_reason": null,
        "extraction_metadata": {}
      },
      {
        "essay_id": "eb2399a7-5152-4f06-a0dd-2f643cb6454f",
        "text_storage_id": "txt-77b301",
        "filename": "untitled.txt",
        "suggestions": [],
        "no_match_reason": "No name found in essay",
        "extraction_metadata": {}
      }
    ],
    "processing_summary": {"total_essays": 3, "matched": 2, "no_match": 1, "errors": 0},
    "processing_metadata": {}
  },
  "metadata": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
}
"""

DLQ_EXAMPLE_VALUE = """
{
  "event_id": "09da21cc-650c-4484-bfe4-5b47501feb4d",
  "event_type": "huleedu.batch.author.matches.suggested.v1",
  "event_timestamp": "2026-11-26T10:02:11.900000Z",
  "source_service": "nlp_service",
  "schema_version": 1,
  "correlation_id": "a00c7c85-24b9-4f79-924b-54e7681ca802",
  "data_schema_uri": null,
  "data": {
    "event_name": "batch.author.matches.suggested",
    "batch_id": "d383dbd3-3206-4d63-8ccd-8d57d6b984c5",
    "course_code": "ENG5",
    "match_results": [],
    "processing_summary": {}
  },
  "metadata": null
}
"""


def example() -> dict[str, Any]:
    return copy.deepcopy(json.loads(SUGGESTION_EXAMPLE))


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def accepted(document: object) -> SuggestionMessage:
    result = parse_suggestion_message(encode(document))
    assert isinstance(result, SuggestionMessage), result
    return result


def rejected(value: bytes | None) -> RejectedMessage:
    result = parse_suggestion_message(value)
    assert isinstance(result, RejectedMessage), result
    return result


def test_valid_example_is_accepted() -> None:
    message = accepted(example())
    assert message.event_id == UUID("051afc0b-7bac-4eb6-ab69-c990894f6cef")
    assert message.correlation_id == UUID("a00c7c85-24b9-4f79-924b-54e7681ca802")
    payload = message.payload
    assert payload.batch_id == UUID("d383dbd3-3206-4d63-8ccd-8d57d6b984c5")
    assert payload.class_id == UUID("06978b2f-241d-4018-a94f-a7c67fc7d1c7")
    assert payload.course_code is CourseCode.ENG5
    first, second, third = payload.match_results
    assert first.suggestions[0].student_id == UUID("adc494a1-efad-4a8a-b45d-59c28b431469")
    assert first.suggestions[0].confidence_score == 0.92
    assert first.suggestions[0].match_reasons == [
        "Full name found in essay header",
        "E-mail matches roster",
    ]
    assert second.suggestions[0].confidence_score == 0.55
    assert third.suggestions == []
    assert third.no_match_reason == "No name found in essay"


def test_dlq_example_missing_class_id_is_schema_invalid() -> None:
    result = rejected(DLQ_EXAMPLE_VALUE.encode())
    assert result.reason is DlqReason.SCHEMA_INVALID
    assert result.error == "data.class_id: field required"


def test_validation_error_text_names_the_field() -> None:
    data = example()["data"]
    del data["class_id"]
    with pytest.raises(ValidationError) as caught:
        BatchAuthorMatchesSuggestedV1.model_validate(data)
    assert format_validation_error(caught.value) == "data.class_id: field required"


def test_non_uuid_suggestion_student_id_is_tolerated() -> None:
    document = example()
    suggestion = document["data"]["match_results"][0]["suggestions"][0]
    suggestion["student_id"] = "student-42"
    message = accepted(document)
    kept = message.payload.match_results[0].suggestions[0]
    assert kept.student_id is None
    assert kept.confidence_score == 0.92


def test_missing_suggestion_student_id_is_tolerated() -> None:
    document = example()
    del document["data"]["match_results"][1]["suggestions"][0]["student_id"]
    assert accepted(document).payload.match_results[1].suggestions[0].student_id is None


def test_uppercase_ids_are_normalised() -> None:
    document = example()
    document["data"]["batch_id"] = document["data"]["batch_id"].upper()
    suggestion = document["data"]["match_results"][0]["suggestions"][0]
    suggestion["student_id"] = suggestion["student_id"].upper()
    payload = accepted(document).payload
    assert str(payload.batch_id) == "d383dbd3-3206-4d63-8ccd-8d57d6b984c5"
    assert str(payload.match_results[0].suggestions[0].student_id) == (
        "adc494a1-efad-4a8a-b45d-59c28b431469"
    )


@pytest.mark.parametrize("score", [1.5, -0.1, "0.5", True, None])
def test_confidence_out_of_range_or_not_a_number_fails(score: object) -> None:
    document = example()
    document["data"]["match_results"][0]["suggestions"][0]["confidence_score"] = score
    result = rejected(encode(document))
    assert result.reason is DlqReason.SCHEMA_INVALID
    assert "data.match_results.0.suggestions.0.confidence_score" in result.error


@pytest.mark.parametrize("score", [0, 1, 0.0, 1.0])
def test_confidence_bounds_are_inclusive(score: float) -> None:
    document = example()
    document["data"]["match_results"][0]["suggestions"][0]["confidence_score"] = score
    assert accepted(document).payload.match_results[0].suggestions[0].confidence_score == score


def test_unknown_and_ignored_fields_are_tolerated() -> None:
    document = example()
    data = document["data"]
    data["brand_new_field"] = {"anything": [1, 2]}
    data["event_name"] = 17
    data["timestamp"] = "not a timestamp"
    del data["processing_summary"]
    essay = data["match_results"][0]
    del essay["text_storage_id"]
    del essay["filename"]
    essay["extraction_metadata"] = "not an object"
    suggestion = essay["suggestions"][0]
    suggestion["student_name"] = None
    suggestion["unexpected"] = True
    document["unknown_envelope_field"] = 1
    assert len(accepted(document).payload.match_results) == 3


def test_suggestions_may_be_absent_but_must_be_an_array_when_present() -> None:
    document = example()
    del document["data"]["match_results"][2]["suggestions"]
    assert accepted(document).payload.match_results[2].suggestions == []
    document["data"]["match_results"][2]["suggestions"] = {"student_id": "x"}
    assert rejected(encode(document)).reason is DlqReason.SCHEMA_INVALID


@pytest.mark.parametrize(
    ("mutate", "location"),
    [
        (lambda d: d.update(batch_id="batch-1"), "data.batch_id"),
        (lambda d: d.update(class_id=None), "data.class_id"),
        (lambda d: d.update(course_code="ENG9"), "data.course_code"),
        (lambda d: d.update(course_code="eng5"), "data.course_code"),
        (lambda d: d.update(match_results={}), "data.match_results"),
        (lambda d: d.pop("match_results"), "data.match_results"),
        (lambda d: d["match_results"][1].update(essay_id="essay-2"), "data.match_results.1"),
        (
            lambda d: d["match_results"][0]["suggestions"][0].update(match_reasons="a"),
            "match_reasons",
        ),
        (
            lambda d: d["match_results"][0]["suggestions"][0].update(match_reasons=["a", 3]),
            "match_reasons.1",
        ),
    ],
)
def test_checked_fields_are_validated(mutate: Any, location: str) -> None:
    document = example()
    mutate(document["data"])
    result = rejected(encode(document))
    assert result.reason is DlqReason.SCHEMA_INVALID
    assert location in result.error


def test_empty_match_results_is_valid() -> None:
    document = example()
    document["data"]["match_results"] = []
    assert accepted(document).payload.match_results == []


@pytest.mark.parametrize("event_type", ["batch.author.matches.suggested"])
def test_short_event_type_is_accepted(event_type: str) -> None:
    document = example()
    document["event_type"] = event_type
    assert accepted(document).event_type == event_type


@pytest.mark.parametrize("correlation_id", [None, "not-a-uuid", 5, "MISSING"])
def test_bad_correlation_id_is_replaced_by_a_new_uuid(correlation_id: object) -> None:
    document = example()
    if correlation_id == "MISSING":
        del document["correlation_id"]
    else:
        document["correlation_id"] = correlation_id
    first = accepted(document).correlation_id
    assert first.version == 4
    assert first != UUID("a00c7c85-24b9-4f79-924b-54e7681ca802")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, DlqReason.INVALID_JSON),
        (b"", DlqReason.INVALID_JSON),
        (b"{not json", DlqReason.INVALID_JSON),
        (b"\xff\xfe", DlqReason.INVALID_JSON),
        (b"[1, 2]", DlqReason.INVALID_JSON),
        (b'"text"', DlqReason.INVALID_JSON),
        (b"{}", DlqReason.INVALID_ENVELOPE),
        (b'{"event_id": "x", "event_type": "t", "data": {}}', DlqReason.INVALID_ENVELOPE),
        (
            b'{"event_id": "051afc0b-7bac-4eb6-ab69-c990894f6cef", "event_type": 5, "data": {}}',
            DlqReason.INVALID_ENVELOPE,
        ),
        (
            b'{"event_id": "051afc0b-7bac-4eb6-ab69-c990894f6cef", "event_type": "t", "data": []}',
            DlqReason.INVALID_ENVELOPE,
        ),
        (
            b'{"event_id": "051afc0b-7bac-4eb6-ab69-c990894f6cef", '
            b'"event_type": "huleedu.class.created.v1", "data": {}}',
            DlqReason.UNEXPECTED_EVENT_TYPE,
        ),
        (
            b'{"event_id": "051afc0b-7bac-4eb6-ab69-c990894f6cef", '
            b'"event_type": "batch.author.matches.suggested", "data": {}}',
            DlqReason.SCHEMA_INVALID,
        ),
    ],
)
def test_poison_messages_are_classified(value: bytes | None, reason: DlqReason) -> None:
    result = rejected(value)
    assert result.reason is reason
    assert 0 < len(result.error) <= 1000
    assert "\n" not in result.error


def test_error_text_is_capped_at_1000_characters() -> None:
    document = example()
    document["data"]["match_results"] = [{"essay_id": f"bad-{n}"} for n in range(500)]
    result = rejected(encode(document))
    assert result.reason is DlqReason.SCHEMA_INVALID
    assert len(result.error) == 1000
    assert result.error.startswith("data.match_results.0.essay_id: value is not a valid UUID")


def test_truncate_error_flattens_lines() -> None:
    assert truncate_error("a\n  b\tc") == "a b c"
    assert truncate_error("x" * 1001) == "x" * 999 + "…"


def test_dlq_headers_match_example() -> None:
    original = [("traceparent", b"00-abc-01")]
    headers = dlq_headers(
        original_headers=original,
        reason=DlqReason.SCHEMA_INVALID,
        error="data.class_id: field required",
        partition=2,
        offset=4711,
        consumer_group="class_management_service-consumer-group",
        failed_at=datetime(2026, 11, 26, 10, 2, 12, 31000, tzinfo=UTC),
    )
    assert headers == [
        ("traceparent", b"00-abc-01"),
        ("dlq_reason", b"schema_invalid"),
        ("dlq_error", b"data.class_id: field required"),
        ("dlq_original_topic", b"huleedu.batch.author.matches.suggested.v1"),
        ("dlq_original_partition", b"2"),
        ("dlq_original_offset", b"4711"),
        ("dlq_consumer_group", b"class_management_service-consumer-group"),
        ("dlq_failed_at", b"2026-11-26T10:02:12.031000Z"),
        ("dlq_source_service", b"class_management_service"),
    ]
    assert original == [("traceparent", b"00-abc-01")]
    assert dlq_headers(
        original_headers=None,
        reason=DlqReason.INVALID_JSON,
        error="x",
        partition=0,
        offset=0,
        consumer_group="g",
        failed_at=datetime(2026, 11, 26, tzinfo=UTC),
    )[0] == ("dlq_reason", b"invalid_json")
