"""What a service hands to its outbox: one row to publish later, fully rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Destination = Literal["kafka", "redis"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One ``event_outbox`` row before insertion.

    ``event_data`` is exactly what the relay publishes: the complete envelope for Kafka rows,
    the ``{"event", "data"}`` message for Redis rows. Nothing is re-rendered at publish time, so
    ``event_id`` and timestamps are fixed when the row is written.
    """

    destination: Destination
    aggregate_type: str
    aggregate_id: str
    event_type: str
    topic: str
    event_key: str
    event_data: dict[str, Any]
