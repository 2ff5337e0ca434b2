"""The association value: decisions happen once and report the contract's confidence."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from class_management_service.domain.associations import EssayAssociation, ValidationStatus

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
ANNA, LEA, UNKNOWN = uuid4(), uuid4(), uuid4()


def pending(suggested: UUID | None = ANNA, score: float = 0.55) -> EssayAssociation:
    return EssayAssociation(
        id=uuid4(),
        essay_id=uuid4(),
        batch_id=uuid4(),
        class_id=uuid4(),
        student_id=suggested,
        suggested_student_id=suggested,
        confidence_score=score if suggested else None,
        match_reasons=("x",) if suggested else None,
        no_match_reason=None if suggested else "no_suggestions",
        created_at=NOW,
    )


def test_event_confidence_follows_the_decision() -> None:
    assert pending().confirmed(ANNA, by="t", at=NOW).event_confidence() == 0.55
    assert pending().confirmed(LEA, by="t", at=NOW).event_confidence() == 1.0
    assert pending(None).confirmed(LEA, by="t", at=NOW).event_confidence() == 1.0
    assert pending(score=0.9).timed_out(ANNA, at=NOW).event_confidence() == 0.9
    assert pending().timed_out(UNKNOWN, at=NOW).event_confidence() == 0.0
    assert pending(None).timed_out(UNKNOWN, at=NOW).event_confidence() == 0.0


def test_a_decided_row_cannot_be_decided_again() -> None:
    rejected = pending().rejected(by="t", at=NOW)
    assert rejected.validation_status is ValidationStatus.REJECTED
    assert (rejected.student_id, rejected.suggested_student_id) == (None, ANNA)
    with pytest.raises(ValueError, match="already rejected"):
        rejected.timed_out(UNKNOWN, at=NOW)


def test_deleting_a_student_clears_only_its_references() -> None:
    confirmed = pending().confirmed(LEA, by="t", at=NOW)
    assert confirmed.without_student(ANNA).student_id == LEA
    assert confirmed.without_student(ANNA).suggested_student_id is None
    assert confirmed.without_student(LEA).student_id is None
    assert confirmed.without_student(LEA).suggested_student_id == ANNA
