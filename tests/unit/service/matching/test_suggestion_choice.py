"""Which suggestion is stored for an essay (matching.md §2.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from class_management_service.application.matching import (
    NO_SUGGESTION_IN_CLASS,
    NO_SUGGESTIONS,
    choose_suggestion,
    pending_association,
)
from class_management_service.domain.associations import ValidationStatus
from common_core.suggestions import EssayMatchResult
from tests.fixtures.suggestions import essay, suggestion

NOW = datetime(2026, 11, 26, 10, 2, 11, 500000, tzinfo=UTC)


def _result(data: dict[str, object]) -> EssayMatchResult:
    return EssayMatchResult.model_validate(data)


def test_highest_enrolled_confidence_wins_and_outsiders_are_ignored() -> None:
    low, high, outsider = uuid4(), uuid4(), uuid4()
    result = _result(
        essay(suggestions=[suggestion(outsider, 0.99), suggestion(low, 0.4), suggestion(high, 0.8)])
    )
    chosen = choose_suggestion(result.suggestions, {low, high})
    assert chosen is not None
    assert chosen.student_id == high


def test_tie_goes_to_the_first_listed_candidate() -> None:
    first, second = uuid4(), uuid4()
    result = _result(essay(suggestions=[suggestion(first, 0.6), suggestion(second, 0.6)]))
    chosen = choose_suggestion(result.suggestions, {first, second})
    assert chosen is not None
    assert chosen.student_id == first


def test_non_uuid_student_ids_are_skipped() -> None:
    valid = uuid4()
    result = _result(essay(suggestions=[suggestion("not-a-uuid", 0.9), suggestion(valid, 0.3)]))
    chosen = choose_suggestion(result.suggestions, {valid})
    assert chosen is not None
    assert chosen.student_id == valid


def test_row_with_a_choice_copies_the_suggestion() -> None:
    student, batch, klass = uuid4(), uuid4(), uuid4()
    result = _result(essay(suggestions=[suggestion(student, 0.92, ["Header", "E-mail"])]))
    row = pending_association(result, batch_id=batch, class_id=klass, enrolled={student}, now=NOW)
    assert (row.student_id, row.suggested_student_id) == (student, student)
    assert row.confidence_score == 0.92
    assert row.match_reasons == ("Header", "E-mail")
    assert row.no_match_reason is None
    assert row.validation_status is ValidationStatus.PENDING
    assert (row.batch_id, row.class_id, row.created_at) == (batch, klass, NOW)
    assert row.created_by_user_id == "nlp_service_phase1"


def _no_choice_reason(data: dict[str, object], enrolled: set[UUID]) -> str | None:
    row = pending_association(
        _result(data), batch_id=uuid4(), class_id=uuid4(), enrolled=enrolled, now=NOW
    )
    assert row.student_id is None
    assert row.suggested_student_id is None
    assert row.confidence_score is None
    assert row.match_reasons is None
    return row.no_match_reason


def test_no_match_reason_prefers_the_producers_text_then_explains_why() -> None:
    outsider = uuid4()
    assert _no_choice_reason(essay(no_match_reason="No name found"), set()) == "No name found"
    assert _no_choice_reason(essay(), set()) == NO_SUGGESTIONS
    assert _no_choice_reason(essay(no_match_reason=""), set()) == NO_SUGGESTIONS
    assert _no_choice_reason(essay(no_match_reason="\x00"), set()) == NO_SUGGESTIONS
    assert _no_choice_reason(essay(no_match_reason="a\x00b"), set()) == "ab"
    assert (
        _no_choice_reason(essay(suggestions=[suggestion(outsider, 0.9)]), set())
        == NO_SUGGESTION_IN_CLASS
    )
    assert (
        _no_choice_reason(
            essay(suggestions=[suggestion(outsider, 0.9)], no_match_reason="Ambiguous"), set()
        )
        == "Ambiguous"
    )
