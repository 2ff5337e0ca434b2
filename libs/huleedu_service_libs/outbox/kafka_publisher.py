"""Publishes Kafka outbox rows with one idempotent producer, replaced after any failure."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from common_core.envelope import kafka_headers
from common_core.topics import PRODUCER_CLIENT_ID
from common_core.wire import encode_json
from huleedu_service_libs.kafka.client_backoff import RETRY_BACKOFF_MS, bound_metadata_refreshes
from huleedu_service_libs.outbox.ports import PublishOutcome
from huleedu_service_libs.outbox.records import OutboxRecord

logger = structlog.get_logger(__name__)

# Half the broker's default message.max.bytes (1 MiB), which bounds a whole record batch.
MAX_BATCH_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class _Rendered:
    """A row as its Kafka record (``events.md`` §3)."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, record: OutboxRecord) -> _Rendered:
        return cls(
            topic=record.topic,
            key=record.event_key.encode("utf-8"),
            value=encode_json(record.event_data),
            headers=kafka_headers(record.event_data),
        )


def _ack_error(ack: asyncio.Future[Any] | None, failure: Exception | None) -> PublishOutcome:
    """A record counts as published only when its acknowledgement arrived without error."""
    if ack is not None and ack.done() and not ack.cancelled():
        error = ack.exception()
        if error is None:
            return None
        return error if isinstance(error, Exception) else RuntimeError(repr(error))
    return failure or KafkaConnectionError("no acknowledgement")


def _consume_later(acknowledgements: list[asyncio.Future[Any]]) -> None:
    # Acknowledgements left pending fail when the producer is discarded; retrieving their
    # errors keeps asyncio from logging "exception was never retrieved" for each of them.
    for ack in acknowledgements:
        ack.add_done_callback(lambda done: done.cancelled() or done.exception())


class KafkaPublisher:
    """``events.md`` §3 records: key = ``event_key``, headers from the envelope, value = the
    stored envelope as UTF-8 JSON; a row counts as published once the broker acknowledged it
    (acks=all).

    The producer starts lazily, so a broker outage at startup only fails publishes. After a
    failure the producer is discarded and the next batch starts a fresh one: an idempotent
    producer retries an unacknowledged batch forever, and a fresh producer fails fast while the
    broker is down instead of queueing copies behind the stuck batch.
    """

    destination = "kafka"

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = PRODUCER_CLIENT_ID,
        send_timeout_seconds: float = 30.0,
        close_timeout_seconds: float = 5.0,
        request_timeout_ms: int = 30_000,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._send_timeout = send_timeout_seconds
        self._close_timeout = close_timeout_seconds
        self._request_timeout_ms = request_timeout_ms
        self._producer: Any = None
        # Set when a publish was cancelled mid-send; the producer is replaced before the next one.
        self._suspect = False

    async def publish_batch(self, records: Sequence[OutboxRecord]) -> list[PublishOutcome]:
        outcomes: list[PublishOutcome] = [None] * len(records)
        rendered: list[tuple[int, _Rendered]] = []
        for index, record in enumerate(records):
            try:
                rendered.append((index, _Rendered.of(record)))
            except Exception as exc:
                # A row that cannot be rendered fails alone, without costing the producer.
                outcomes[index] = exc
        if not rendered:
            return outcomes
        if self._suspect:
            await self._discard()
        acknowledgements: list[asyncio.Future[Any]] = []
        failure: Exception | None = None
        try:
            async with asyncio.timeout(self._send_timeout):
                producer = await self._started_producer()
                for _, row in rendered:
                    # send() only queues the record (waiting only while the buffer is full);
                    # the returned future is the broker's acknowledgement. Every record is
                    # queued before any ack is awaited, so a claim costs one round of batches.
                    acknowledgements.append(
                        await producer.send(
                            row.topic, value=row.value, key=row.key, headers=row.headers
                        )
                    )
                await asyncio.wait(acknowledgements)
        except asyncio.CancelledError:
            self._suspect = True
            _consume_later(acknowledgements)
            raise
        except Exception as exc:
            failure = exc
        failed = failure is not None
        for position, (index, _) in enumerate(rendered):
            ack = acknowledgements[position] if position < len(acknowledgements) else None
            error = _ack_error(ack, failure)
            outcomes[index] = error
            failed = failed or error is not None
        if failed:
            _consume_later(acknowledgements)
            await self._discard()
        return outcomes

    async def close(self) -> None:
        """Stop the producer, flushing what it still holds (bounded by the close timeout)."""
        await self._discard()

    async def _started_producer(self) -> Any:
        if self._producer is None:
            # One batch at a time reaches here (the relay awaits each claim), so no lock.
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                client_id=self._client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=self._request_timeout_ms,
                # A claim (up to OUTBOX_BATCH_SIZE envelopes of about 1 kB) fits one batch per
                # partition, so it costs one produce round trip instead of one per 16 kB.
                max_batch_size=MAX_BATCH_BYTES,
                retry_backoff_ms=RETRY_BACKOFF_MS,
            )
            bound_metadata_refreshes(producer.client)
            self._producer = producer
            await producer.start()
            logger.info("kafka_producer_started", client_id=self._client_id)
        return self._producer

    async def _discard(self) -> None:
        producer, self._producer = self._producer, None
        self._suspect = False
        if producer is None:
            return
        stopping = asyncio.ensure_future(producer.stop())
        done, _ = await asyncio.wait([stopping], timeout=self._close_timeout)
        if not done:
            # stop() flushes first, and an idempotent producer never gives up on a batch, so with
            # the broker gone it would wait for the broker's return. Failing the held batches lets
            # it finish closing; their rows are still pending and will be sent again.
            producer._message_accumulator.fail_all(
                KafkaConnectionError("producer discarded after a failed publish")
            )
            await asyncio.wait([stopping], timeout=self._close_timeout)
        if stopping.done():
            with contextlib.suppress(Exception):
                stopping.result()
            return
        stopping.cancel()
        await asyncio.wait([stopping])
        logger.warning("kafka_producer_abandoned", client_id=self._client_id)
