"""The contract between the generic Kafka consumer loop and a service's record handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    """The parts of a Kafka record a handler may use (no aiokafka types leak into services)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class HandlingResult(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"


class PoisonMessage(Exception):
    """The record can never be processed: dead-letter it with ``reason`` and move on."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


RecordHandler = Callable[[ConsumedRecord], Awaitable[HandlingResult]]
"""Handles one record in its own transaction; raises PoisonMessage or any other exception."""

TransientPredicate = Callable[[BaseException], bool]
"""True for errors worth retrying forever (database down, deadlock, concurrent duplicate)."""
