"""Rules of Phase 1 matching shared by the consumer, the confirm endpoint and the monitor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from class_management_service.domain.associations import EssayAssociation
from class_management_service.protocols import DecisionMetricsProtocol
from common_core.suggestions import EssayMatchResult, StudentMatchSuggestion

NO_SUGGESTIONS = "no_suggestions"
NO_SUGGESTION_IN_CLASS = "no_suggestion_in_class"


@dataclass(frozen=True, slots=True)
class MatchingRules:
    """``ASSOCIATION_TIMEOUT_HOURS`` and ``ASSOCIATION_CONFIDENCE_THRESHOLD``."""

    timeout_hours: float = 24.0
    confidence_threshold: float = 0.7


def choose_suggestion(
    suggestions: Sequence[StudentMatchSuggestion], enrolled: set[UUID]
) -> StudentMatchSuggestion | None:
    """The enrolled candidate with the highest confidence; the first listed wins a tie."""
    chosen: StudentMatchSuggestion | None = None
    for suggestion in suggestions:
        if suggestion.student_id is None or suggestion.student_id not in enrolled:
            continue
        # Strictly greater, so an equal later candidate never displaces an earlier one.
        if chosen is None or suggestion.confidence_score > chosen.confidence_score:
            chosen = suggestion
    return chosen


def pending_association(
    result: EssayMatchResult,
    *,
    batch_id: UUID,
    class_id: UUID,
    enrolled: set[UUID],
    now: datetime,
) -> EssayAssociation:
    """The stored suggestion for one essay (matching.md §2.3)."""
    chosen = choose_suggestion(result.suggestions, enrolled)
    if chosen is not None:
        return EssayAssociation(
            id=uuid4(),
            essay_id=result.essay_id,
            batch_id=batch_id,
            class_id=class_id,
            student_id=chosen.student_id,
            suggested_student_id=chosen.student_id,
            confidence_score=chosen.confidence_score,
            match_reasons=tuple(chosen.match_reasons),
            no_match_reason=None,
            created_at=now,
        )
    # PostgreSQL text cannot hold U+0000; the reason is only a hint, so the character is dropped
    # instead of failing the whole event.
    given = (result.no_match_reason or "").replace("\x00", "")
    reason = given or (NO_SUGGESTION_IN_CLASS if result.suggestions else NO_SUGGESTIONS)
    return EssayAssociation(
        id=uuid4(),
        essay_id=result.essay_id,
        batch_id=batch_id,
        class_id=class_id,
        student_id=None,
        suggested_student_id=None,
        confidence_score=None,
        match_reasons=None,
        no_match_reason=reason,
        created_at=now,
    )


def count_decisions(
    metrics: DecisionMetricsProtocol | None, decided: Iterable[EssayAssociation]
) -> None:
    """Count committed decisions (call only after the commit succeeded)."""
    if metrics is None:
        return
    for row in decided:
        if row.validation_method is not None:
            metrics.association_decided(row.validation_method.value, row.validation_status.value)
