"""What the consumer loop reports, and a Prometheus implementation of it."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge


class ConsumerResult(StrEnum):
    """The ``result`` label of ``cms_consumer_messages_total``."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


class ConsumerMetrics(Protocol):
    """Outcome and retry counts; the service's own metrics object may implement it."""

    def consumer_message(self, topic: str, result: str) -> None: ...

    def consumer_retry(self, topic: str) -> None: ...


class ConsumerLagObserver(Protocol):
    """Records behind the log end of a partition, as seen after each finished record."""

    def consumer_lag(self, topic: str, partition: int, lag: int) -> None: ...


class PrometheusConsumerMetrics:
    """Both protocols on one registry (register once per registry)."""

    def __init__(self, registry: CollectorRegistry, *, prefix: str = "cms") -> None:
        self.messages = Counter(
            f"{prefix}_consumer_messages_total",
            "Consumed records by outcome (processed, duplicate, dead_lettered)",
            ["topic", "result"],
            registry=registry,
        )
        self.retries = Counter(
            f"{prefix}_consumer_retries_total",
            "Retries of a consumed record after a failed attempt",
            ["topic"],
            registry=registry,
        )
        self.lag = Gauge(
            f"{prefix}_consumer_lag",
            "Records between the last finished record and the partition's log end",
            ["topic", "partition"],
            registry=registry,
        )

    def consumer_message(self, topic: str, result: str) -> None:
        self.messages.labels(topic, str(result)).inc()

    def consumer_retry(self, topic: str) -> None:
        self.retries.labels(topic).inc()

    def consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(topic, str(partition)).set(lag)
