"""A reusable at-least-once Kafka consumer that never exits on broker trouble."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from common_core.topics import CONSUMER_CLIENT_ID, PRODUCER_CLIENT_ID
from huleedu_service_libs.kafka.backoff import Backoff, sleep_unless_stopped
from huleedu_service_libs.kafka.client_backoff import RETRY_BACKOFF_MS, bound_metadata_refreshes
from huleedu_service_libs.kafka.dead_letter import Clock, DeadLetterPublisher, describe_error
from huleedu_service_libs.kafka.handling import RecordHandler, TransientPredicate
from huleedu_service_libs.kafka.metrics import ConsumerLagObserver, ConsumerMetrics
from huleedu_service_libs.kafka.record_loop import AssignmentCounter, ProcessingPolicy, RecordLoop

logger = structlog.get_logger(__name__)

ConsumerStatus = Literal["running", "stopped"]


class ResilientConsumer:
    """Consumes ``topic`` in ``group_id`` one record at a time (``matching.md`` §2.1, §2.4).

    Each record is handled until it is finished (processed, duplicate or dead-lettered), then
    ``{tp: offset + 1}`` is committed for its partition alone. Poison records and records that
    failed ``max_attempts`` times with unexpected errors go to ``dlq_topic``; transient errors
    are retried forever while the partition waits. Connection problems restart the connection
    with backoff; ``run`` only returns once ``stop`` is set.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        handler: RecordHandler,
        is_transient: TransientPredicate,
        dlq_topic: str,
        retry_initial: float,
        retry_max: float,
        max_attempts: int,
        metrics: ConsumerMetrics,
        clock: Clock,
        client_id: str = CONSUMER_CLIENT_ID,
        dlq_client_id: str = PRODUCER_CLIENT_ID,
        lag_observer: ConsumerLagObserver | None = None,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        max_poll_interval_ms: int = 300_000,
        poll_seconds: float = 0.25,
        max_batch_records: int = 20,
        io_timeout_seconds: float = 10.0,
        close_timeout_seconds: float = 2.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._bootstrap_servers = bootstrap_servers
        self._group_id = group_id
        self._client_id = client_id
        self._dlq_topic = dlq_topic
        self._dlq_client_id = dlq_client_id
        self._clock = clock
        self._kafka_options: dict[str, Any] = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_interval_ms": max_poll_interval_ms,
            "retry_backoff_ms": RETRY_BACKOFF_MS,
        }
        self._policy = ProcessingPolicy(
            topic=topic,
            handler=handler,
            is_transient=is_transient,
            retry_initial=retry_initial,
            retry_max=retry_max,
            max_attempts=max_attempts,
            metrics=metrics,
            lag_observer=lag_observer,
            poll_seconds=poll_seconds,
            max_batch_records=max_batch_records,
            io_timeout_seconds=io_timeout_seconds,
        )
        self._policy.backoff()  # rejects bad retry bounds now rather than at the first failure
        self._close_timeout_seconds = close_timeout_seconds
        self._running = False

    @property
    def status(self) -> ConsumerStatus:
        return "running" if self._running else "stopped"

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the record in hand is finished first, nothing after it
        is committed, and the consumer and dead-letter producer are closed."""
        self._running = True
        reconnect = self._policy.backoff()
        try:
            while not stop.is_set():
                try:
                    await self._connection(stop, reconnect)
                except Exception as exc:
                    delay = reconnect.next_delay()
                    logger.warning(
                        "kafka_consumer_reconnecting",
                        topic=self._policy.topic,
                        error=describe_error(exc),
                        retry_in_seconds=delay,
                        # Broker trouble is expected here; anything else is a bug worth a trace.
                        exc_info=not isinstance(exc, KafkaError | OSError),
                    )
                    await sleep_unless_stopped(stop, delay)
        finally:
            self._running = False
            logger.info("kafka_consumer_stopped", topic=self._policy.topic)

    async def _connection(self, stop: asyncio.Event, reconnect: Backoff) -> None:
        """One consumer from start to stop; raises when Kafka fails it."""
        listener = AssignmentCounter()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            group_id=self._group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self._kafka_options,
        )
        bound_metadata_refreshes(consumer._client)
        dead_letters = DeadLetterPublisher(
            bootstrap_servers=self._bootstrap_servers,
            topic=self._dlq_topic,
            consumer_group=self._group_id,
            clock=self._clock,
            client_id=self._dlq_client_id,
            timeout_seconds=self._policy.io_timeout_seconds,
        )
        try:
            if not await _unless_stopped(consumer.start(), stop):
                return
            # Subscribing after start keeps start() from waiting for the first assignment.
            consumer.subscribe([self._policy.topic], listener=listener)
            reconnect.reset()
            logger.info(
                "kafka_consumer_started",
                topic=self._policy.topic,
                group_id=self._group_id,
                client_id=self._client_id,
            )
            await RecordLoop(consumer, listener, dead_letters, self._policy, stop).run()
        finally:
            await dead_letters.close()
            # Auto-commit is off, so stopping commits nothing that was not finished. Stopping only
            # leaves the group; it waits for a join in flight, which during a rebalance can take a
            # session timeout, so it gets a short bound and the broker evicts us if it lapses.
            await _bounded(consumer.stop(), self._close_timeout_seconds)


async def _unless_stopped(awaitable: Awaitable[None], stop: asyncio.Event) -> bool:
    """Await ``awaitable`` unless ``stop`` is set first, which cancels it; True if it finished."""
    task = asyncio.ensure_future(awaitable)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
    if task.cancelled():
        return False
    task.result()
    return True


async def _bounded(awaitable: Awaitable[None], seconds: float) -> None:
    """Await a clean-up step for at most ``seconds``; its failure is logged, not raised."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait([task], timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.wait([task])
        logger.warning("kafka_consumer_close_timed_out")
        return
    error = None if task.cancelled() else task.exception()
    if error is not None:
        logger.warning("kafka_consumer_close_failed", error=describe_error(error))
