"""Rows as the relay sees them, and the outbox statistics behind health and metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from huleedu_service_libs.outbox.message import Destination

DESTINATIONS: tuple[Destination, ...] = ("kafka", "redis")
LAST_ERROR_MAX_CHARS = 1000


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A claimed ``event_outbox`` row: what to publish and how often it has failed so far."""

    id: UUID
    seq: int
    destination: str
    event_type: str
    topic: str
    event_key: str
    event_data: dict[str, Any]
    retry_count: int


@dataclass(frozen=True, slots=True)
class DestinationStats:
    pending: int = 0
    failed: int = 0
    oldest_pending_age_seconds: float | None = None


def _every_destination() -> dict[str, DestinationStats]:
    return {destination: DestinationStats() for destination in DESTINATIONS}


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """Counts per destination; every known destination is present, with zeros when empty."""

    destinations: Mapping[str, DestinationStats] = field(default_factory=_every_destination)

    @classmethod
    def of(cls, found: Mapping[str, DestinationStats]) -> OutboxStats:
        return cls({**_every_destination(), **found})

    @property
    def pending(self) -> int:
        return sum(stats.pending for stats in self.destinations.values())

    @property
    def failed(self) -> int:
        return sum(stats.failed for stats in self.destinations.values())

    @property
    def oldest_pending_age_seconds(self) -> float | None:
        ages = [
            stats.oldest_pending_age_seconds
            for stats in self.destinations.values()
            if stats.oldest_pending_age_seconds is not None
        ]
        return max(ages, default=None)


def truncate_error(error: str) -> str:
    """``last_error`` holds at most 1,000 characters."""
    return error[:LAST_ERROR_MAX_CHARS]
