"""The consumed ``BatchAuthorMatchesSuggestedV1`` event: validation and message decoding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, ValidationError
from pydantic.types import Strict

from common_core.courses import CourseCode
from common_core.dlq import DLQ_ERROR_MAX_CHARS, DlqReason, truncate_error
from common_core.topics import SUGGESTION_EVENT_TYPES
from common_core.wire import CanonicalUuid, parse_uuid


def _string_or_none(value: object) -> str | None:
    # Stored only as a hint; a malformed value is dropped instead of poisoning the message.
    return value if isinstance(value, str) else None


class _InboundModel(BaseModel):
    # Fields the service does not check are deliberately not declared, so any value (or
    # absence) of them is tolerated.
    model_config = ConfigDict(frozen=True, extra="ignore")


class StudentMatchSuggestion(_InboundModel):
    # A non-UUID student id is not an error: the suggestion is kept with ``None`` and callers
    # skip it when choosing candidates.
    student_id: Annotated[UUID | None, BeforeValidator(parse_uuid)] = None
    confidence_score: float = Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)
    match_reasons: Annotated[list[StrictStr], Strict()]


class EssayMatchResult(_InboundModel):
    essay_id: CanonicalUuid
    suggestions: Annotated[list[StudentMatchSuggestion], Strict()] = Field(default_factory=list)
    no_match_reason: Annotated[str | None, BeforeValidator(_string_or_none)] = None


class BatchAuthorMatchesSuggestedV1(_InboundModel):
    batch_id: CanonicalUuid
    class_id: CanonicalUuid
    course_code: CourseCode
    match_results: Annotated[list[EssayMatchResult], Strict()]


class _InboundEnvelope(_InboundModel):
    event_id: CanonicalUuid
    event_type: StrictStr
    data: Annotated[dict[str, Any], Strict()]


def format_validation_error(
    error: ValidationError, *, prefix: str = "data", limit: int = DLQ_ERROR_MAX_CHARS
) -> str:
    """Short text such as ``data.class_id: field required; ...`` for the ``dlq_error`` header."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        message = item["msg"]
        parts.append(f"{location or '(root)'}: {message[:1].lower()}{message[1:]}")
    return truncate_error("; ".join(parts), limit)


@dataclass(frozen=True, slots=True)
class SuggestionMessage:
    """A well-formed suggestion event, ready to be processed."""

    event_id: UUID
    event_type: str
    correlation_id: UUID
    payload: BatchAuthorMatchesSuggestedV1


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A record to dead-letter: ``reason`` and ``error`` become ``dlq_reason`` / ``dlq_error``."""

    reason: DlqReason
    error: str


def parse_suggestion_message(value: bytes | None) -> SuggestionMessage | RejectedMessage:
    """Steps 1-4 of the per-message procedure: decode, envelope, event type, payload."""
    if value is None:
        return RejectedMessage(DlqReason.INVALID_JSON, "record has no value")
    try:
        document = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return RejectedMessage(DlqReason.INVALID_JSON, truncate_error(f"invalid JSON: {exc}"))
    if not isinstance(document, dict):
        return RejectedMessage(DlqReason.INVALID_JSON, "value is not a JSON object")

    try:
        envelope = _InboundEnvelope.model_validate(document)
    except ValidationError as exc:
        return RejectedMessage(DlqReason.INVALID_ENVELOPE, format_validation_error(exc, prefix=""))
    if envelope.event_type not in SUGGESTION_EVENT_TYPES:
        return RejectedMessage(
            DlqReason.UNEXPECTED_EVENT_TYPE,
            truncate_error(f"unexpected event_type: {envelope.event_type}"),
        )

    try:
        payload = BatchAuthorMatchesSuggestedV1.model_validate(envelope.data)
    except ValidationError as exc:
        return RejectedMessage(DlqReason.SCHEMA_INVALID, format_validation_error(exc))

    # An absent or malformed correlation id must not poison the event; start a new chain.
    correlation_id = parse_uuid(document.get("correlation_id")) or uuid4()
    return SuggestionMessage(envelope.event_id, envelope.event_type, correlation_id, payload)
