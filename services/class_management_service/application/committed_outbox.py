"""Counts what a transaction really committed to the outbox (metrics must not count rollbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from class_management_service.protocols import ClassEventPublisherProtocol
from huleedu_service_libs.outbox.message import OutboxMessage


class CommitObserver(Protocol):
    def committed(self, messages: Sequence[OutboxMessage]) -> None:
        """Called once per successful commit with the outbox rows it wrote."""
        ...


class RecordingEventPublisher:
    """An event publisher that remembers the rows written in the current transaction."""

    def __init__(self, inner: ClassEventPublisherProtocol) -> None:
        self._inner = inner
        self._written: list[OutboxMessage] = []

    async def publish(self, messages: Sequence[OutboxMessage]) -> None:
        await self._inner.publish(messages)
        self._written.extend(messages)

    def drain(self) -> list[OutboxMessage]:
        written, self._written = self._written, []
        return written
