"""Storing the NLP service's author suggestions: one transaction per consumed event."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from class_management_service.application.association_messages import matches_suggested
from class_management_service.application.matching import MatchingRules, pending_association
from class_management_service.application.outbox_messages import OutboxMessages
from class_management_service.domain.associations import BatchClass, EssayAssociation
from class_management_service.protocols import (
    ClassRepositoryProtocol,
    ClockProtocol,
    ProcessedEvent,
)
from common_core.dlq import DlqReason
from common_core.suggestions import SuggestionMessage
from huleedu_service_libs.kafka.handling import HandlingResult, PoisonMessage


@dataclass(frozen=True, slots=True)
class RecordPosition:
    """Where the event was read from (kept in the inbox row for operators)."""

    topic: str
    partition: int
    offset: int


class StoreSuggestions:
    """matching.md §2.2 step 5: inbox row, checks, one row per new essay, notification."""

    def __init__(
        self,
        repository: ClassRepositoryProtocol,
        clock: ClockProtocol,
        messages: OutboxMessages,
        rules: MatchingRules,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._messages = messages
        self._rules = rules

    async def store(self, message: SuggestionMessage, position: RecordPosition) -> HandlingResult:
        """Raises ``PoisonMessage`` for ``class_not_found`` / ``batch_class_mismatch``; any
        other exception leaves nothing behind (the unit of work rolls back)."""
        payload = message.payload
        now = self._clock.now()
        async with self._repository as uow:
            # First, so a redelivered event stops before touching anything else.
            recorded = await uow.inbox.add(
                ProcessedEvent(
                    event_id=message.event_id,
                    event_type=message.event_type,
                    topic=position.topic,
                    partition=position.partition,
                    offset=position.offset,
                    correlation_id=message.correlation_id,
                    processed_at=now,
                )
            )
            if not recorded:
                return HandlingResult.DUPLICATE
            school_class = await uow.classes.get_for_share(payload.class_id)
            if school_class is None:
                raise PoisonMessage(
                    DlqReason.CLASS_NOT_FOUND, f"class {payload.class_id} does not exist"
                )
            if await uow.associations.batch_has_other_class(payload.batch_id, payload.class_id):
                raise PoisonMessage(
                    DlqReason.BATCH_CLASS_MISMATCH,
                    f"batch {payload.batch_id} is stored under a class other than "
                    f"{payload.class_id}",
                )
            enrolled = await uow.classes.enrolled_student_ids(payload.class_id)
            already = await uow.associations.existing_essay_ids(
                {result.essay_id for result in payload.match_results}
            )
            stored: list[EssayAssociation] = []
            seen: set[UUID] = set(already)
            for result in payload.match_results:
                if result.essay_id in seen:
                    continue
                seen.add(result.essay_id)
                stored.append(
                    pending_association(
                        result,
                        batch_id=payload.batch_id,
                        class_id=payload.class_id,
                        enrolled=enrolled,
                        now=now,
                    )
                )
            if stored:
                await uow.associations.add_many(stored)
                batch_class = BatchClass.of(payload.batch_id, school_class)
                await uow.events.publish(
                    matches_suggested(
                        self._messages,
                        batch_class,
                        stored,
                        correlation_id=message.correlation_id,
                        now=now,
                        timeout_hours=self._rules.timeout_hours,
                    )
                )
            await uow.commit()
        return HandlingResult.PROCESSED
