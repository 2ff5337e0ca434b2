"""The workers of configuration.md §3.4, built for this process's settings and storage."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from dishka import AsyncContainer
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.config import Settings
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.entrypoints.timeout_monitor import timeout_monitor_loop
from class_management_service.implementations.postgres.transient import is_transient
from class_management_service.metrics import ServiceMetrics
from class_management_service.protocols import ClockProtocol
from common_core.topics import (
    BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC,
    BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
)
from huleedu_service_libs.kafka.consumer import ResilientConsumer
from huleedu_service_libs.outbox.housekeeping import Housekeeper
from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.listener import OutboxListener
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxStore, Publisher
from huleedu_service_libs.outbox.redis_publisher import RedisPublisher
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig
from huleedu_service_libs.workers import Worker, WorkerLoop, WorkerSet

# Stop order of configuration.md §6: consumer, relays, monitor, then housekeeping.
WORKER_NAMES = ("consumer", "kafka_relay", "redis_relay", "timeout_monitor", "housekeeping")


@dataclass
class Background:
    """The process's workers plus the publishers they own (closed after the workers stop)."""

    workers: WorkerSet
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def start(self) -> None:
        self.workers.start()

    async def stop(self, timeout_seconds: float) -> None:
        await self.workers.stop(timeout_seconds)
        for close in self.closers:
            await close()


def disabled_background() -> Background:
    """Every worker reported as ``disabled`` (in-process test apps run none)."""
    return Background(WorkerSet([Worker(name, None) for name in WORKER_NAMES]))


def _relay_config(settings: Settings) -> RelayConfig:
    return RelayConfig(
        batch_size=settings.outbox_batch_size,
        poll_interval_seconds=settings.outbox_poll_interval_seconds,
        max_attempts=settings.outbox_max_attempts,
        backoff_initial_seconds=settings.outbox_backoff_initial_seconds,
        backoff_max_seconds=settings.outbox_backoff_max_seconds,
    )


def _relay_loop(
    store: OutboxStore,
    publisher: Publisher,
    settings: Settings,
    metrics: OutboxMetrics,
    engine: AsyncEngine | None,
) -> WorkerLoop:
    wakeups = (
        OutboxListener.for_engine(engine, publisher.destination) if engine is not None else None
    )
    relay = OutboxRelay(
        store=store,
        publisher=publisher,
        config=_relay_config(settings),
        metrics=metrics,
        wakeups=wakeups,
    )
    return relay.run


def _consumer_loop(
    container: AsyncContainer, settings: Settings, clock: ClockProtocol, metrics: ServiceMetrics
) -> WorkerLoop:
    assert settings.kafka_bootstrap_servers is not None

    async def loop(stop: asyncio.Event) -> None:
        # One DI scope for the consumer's life; the handler's unit of work opens a fresh
        # transaction per record.
        async with container() as scope:
            handler = await scope.get(SuggestionRecordHandler)
            consumer = ResilientConsumer(
                bootstrap_servers=settings.kafka_bootstrap_servers or "",
                topic=BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
                group_id=settings.kafka_consumer_group_id,
                handler=handler,
                is_transient=is_transient,
                dlq_topic=BATCH_AUTHOR_MATCHES_SUGGESTED_DLQ_TOPIC,
                retry_initial=settings.consumer_retry_initial_seconds,
                retry_max=settings.consumer_retry_max_seconds,
                max_attempts=settings.consumer_max_attempts,
                metrics=metrics,
                lag_observer=metrics,
                clock=clock,
            )
            await consumer.run(stop)

    return loop


async def build_background(
    container: AsyncContainer, settings: Settings, engine: AsyncEngine | None
) -> Background:
    store = await container.get(OutboxStore)
    metrics = await container.get(OutboxMetrics)
    service_metrics = await container.get(ServiceMetrics)
    clock = await container.get(ClockProtocol)
    closers: list[Callable[[], Awaitable[None]]] = []

    consumer: WorkerLoop | None = None
    kafka_relay: WorkerLoop | None = None
    if settings.kafka_bootstrap_servers is not None:
        kafka = KafkaPublisher(settings.kafka_bootstrap_servers)
        closers.append(kafka.close)
        kafka_relay = _relay_loop(store, kafka, settings, metrics, engine)
        consumer = _consumer_loop(container, settings, clock, service_metrics)

    redis_relay: WorkerLoop | None = None
    if settings.redis_url is not None:
        redis = RedisPublisher.from_url(settings.redis_url.get_secret_value())
        closers.append(redis.close)
        redis_relay = _relay_loop(store, redis, settings, metrics, engine)

    monitor = timeout_monitor_loop(container) if settings.association_monitor_enabled else None
    housekeeper = Housekeeper(
        store,
        clock,
        outbox_retention_hours=settings.outbox_retention_hours,
        inbox_retention_hours=settings.inbox_retention_hours,
        interval_seconds=settings.housekeeping_interval_seconds,
    )
    loops = {
        "consumer": consumer,
        "kafka_relay": kafka_relay,
        "redis_relay": redis_relay,
        "timeout_monitor": monitor,
        "housekeeping": housekeeper.run,
    }
    return Background(WorkerSet([Worker(name, loops[name]) for name in WORKER_NAMES]), closers)
