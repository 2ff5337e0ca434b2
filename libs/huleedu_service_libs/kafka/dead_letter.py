"""Copying a record that can never be processed to the dead-letter topic (``events.md`` §6)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer

from common_core.dlq import DlqReason, dlq_headers
from common_core.topics import PRODUCER_CLIENT_ID
from huleedu_service_libs.kafka.client_backoff import RETRY_BACKOFF_MS, bound_metadata_refreshes
from huleedu_service_libs.kafka.handling import ConsumedRecord, PoisonMessage

logger = structlog.get_logger(__name__)


class Clock(Protocol):
    def now(self) -> datetime: ...


def describe_error(exc: BaseException) -> str:
    """``Type: message`` on one line; never a stack trace."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if not text or text == name:
        return name
    # Some libraries (aiokafka) already start the message with the class name.
    return text if text.startswith(f"{name}:") else f"{name}: {text}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why a record goes to the dead-letter topic."""

    reason: DlqReason
    error: str

    @classmethod
    def from_poison(cls, exc: PoisonMessage) -> DeadLetter:
        try:
            reason = DlqReason(exc.reason)
        except ValueError:
            # Only the contract's reasons may appear in dlq_reason; keep the handler's in the text.
            return cls(DlqReason.PROCESSING_FAILED, f"{exc.reason}: {exc.error}")
        return cls(reason, exc.error)

    @classmethod
    def from_failure(cls, exc: BaseException) -> DeadLetter:
        return cls(DlqReason.PROCESSING_FAILED, describe_error(exc))


class DeadLetterPublisher:
    """Produces the original key, value and headers plus the ``dlq_*`` headers, and returns only
    once the broker acknowledged them (``acks="all"``).

    The producer starts on first use and is replaced after any failure, so a broken connection
    is not reused. It is not idempotent: a duplicate dead letter is allowed (``matching.md``
    §2.4), while an idempotent producer would retry an unacknowledged batch forever.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        consumer_group: str,
        clock: Clock,
        client_id: str = PRODUCER_CLIENT_ID,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._consumer_group = consumer_group
        self._clock = clock
        self._client_id = client_id
        self._timeout = timeout_seconds
        self._producer: Any = None

    async def publish(self, record: ConsumedRecord, letter: DeadLetter) -> None:
        """Raises on any failure (the caller retries); the record may then exist twice."""
        headers = dlq_headers(
            original_headers=record.headers,
            reason=letter.reason,
            error=letter.error,
            partition=record.partition,
            offset=record.offset,
            consumer_group=self._consumer_group,
            failed_at=self._clock.now(),
            original_topic=record.topic,
        )
        try:
            async with asyncio.timeout(self._timeout):
                producer = await self._started()
                await producer.send_and_wait(
                    self._topic, value=record.value, key=record.key, headers=headers
                )
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Stop the producer; bounded, because stopping waits for unacknowledged batches."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        stopping = asyncio.ensure_future(producer.stop())
        done, _ = await asyncio.wait([stopping], timeout=self._timeout)
        if not done:
            stopping.cancel()
            await asyncio.wait([stopping])
            logger.warning("dead_letter_producer_abandoned", client_id=self._client_id)
        elif stopping.exception() is not None:
            logger.warning("dead_letter_producer_stop_failed", error=repr(stopping.exception()))

    async def _started(self) -> Any:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                client_id=self._client_id,
                acks="all",
                enable_idempotence=False,
                request_timeout_ms=int(self._timeout * 1000),
                retry_backoff_ms=RETRY_BACKOFF_MS,
            )
            bound_metadata_refreshes(producer.client)
            self._producer = producer
            await producer.start()
        return self._producer
