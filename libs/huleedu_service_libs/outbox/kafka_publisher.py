"""Publishes Kafka outbox rows with one idempotent producer, replaced after any failure."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from common_core.envelope import kafka_headers
from common_core.topics import PRODUCER_CLIENT_ID
from common_core.wire import encode_json
from huleedu_service_libs.outbox.records import OutboxRecord

logger = structlog.get_logger(__name__)


class KafkaPublisher:
    """``events.md`` §3 records: key = ``event_key``, headers from the envelope, value = the
    stored envelope as UTF-8 JSON; ``publish`` returns once the broker acknowledged (acks=all).

    The producer starts lazily, so a broker outage at startup only fails publishes. After a
    failure the producer is discarded and the next publish starts a fresh one: an idempotent
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

    async def publish(self, record: OutboxRecord) -> None:
        # A row that cannot be rendered fails here, without costing the producer.
        value = encode_json(record.event_data)
        key = record.event_key.encode("utf-8")
        headers = kafka_headers(record.event_data)
        if self._suspect:
            await self._discard()
        try:
            async with asyncio.timeout(self._send_timeout):
                producer = await self._started_producer()
                # Cancelling send() itself withdraws the record; the returned future is the ack.
                acknowledgement = await producer.send(
                    record.topic, value=value, key=key, headers=headers
                )
                await acknowledgement
        except asyncio.CancelledError:
            self._suspect = True
            raise
        except Exception:
            await self._discard()
            raise

    async def close(self) -> None:
        """Stop the producer, flushing what it still holds (bounded by the close timeout)."""
        await self._discard()

    async def _started_producer(self) -> Any:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                client_id=self._client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=self._request_timeout_ms,
            )
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
