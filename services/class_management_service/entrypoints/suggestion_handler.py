"""The Kafka record handler for ``BatchAuthorMatchesSuggestedV1`` (a ``RecordHandler``)."""

from __future__ import annotations

from structlog.contextvars import bound_contextvars

from class_management_service.application.suggestions import RecordPosition, StoreSuggestions
from common_core.suggestions import RejectedMessage, parse_suggestion_message
from huleedu_service_libs.kafka.handling import ConsumedRecord, HandlingResult, PoisonMessage


class SuggestionRecordHandler:
    """Decodes a record (matching.md §2.2 steps 1-4) and stores it (step 5).

    Raises ``PoisonMessage`` for records to dead-letter; any other exception is for the
    consumer loop to retry. Records are handled one at a time: the use case's unit of work is
    re-entered per record, each time in a fresh transaction."""

    def __init__(self, store: StoreSuggestions) -> None:
        self._store = store

    async def __call__(self, record: ConsumedRecord) -> HandlingResult:
        message = parse_suggestion_message(record.value)
        if isinstance(message, RejectedMessage):
            raise PoisonMessage(message.reason, message.error)
        position = RecordPosition(record.topic, record.partition, record.offset)
        # Log lines written while storing carry the event's correlation chain.
        with bound_contextvars(
            correlation_id=str(message.correlation_id), event_id=str(message.event_id)
        ):
            return await self._store.store(message, position)
