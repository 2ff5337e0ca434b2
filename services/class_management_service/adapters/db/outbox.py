"""PostgreSQL ``Outbox``: rows inserted in the caller's transaction, ordered by identity ``seq``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from class_management_service.adapters.db.orm import event_outbox
from huleedu_service_libs.outbox.message import OutboxMessage

# seq comes from the identity column and created_at / next_attempt_at from now(): the relay
# compares next_attempt_at with the database clock, so the database sets it.
_INSERT = insert(event_outbox)


def _values(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "destination": message.destination,
        "aggregate_type": message.aggregate_type,
        "aggregate_id": message.aggregate_id,
        "event_type": message.event_type,
        "topic": message.topic,
        "event_key": message.event_key,
        "event_data": message.event_data,
        "status": "pending",
    }


class SqlOutbox:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            await self._connection.execute(_INSERT, [_values(message) for message in messages])
