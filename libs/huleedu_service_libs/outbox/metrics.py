"""Prometheus series of the outbox (``http-api.md`` §11.2), shared by the writer and the relays."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from huleedu_service_libs.outbox.records import OutboxStats

_EVENT_LABELS = ("service", "destination", "event_type")
_DESTINATION_LABELS = ("service", "destination")


class OutboxMetrics:
    """Registered once per registry; ``service`` fills the ``service`` label of every series."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.added = Counter(
            "outbox_events_added_total",
            "Outbox rows written",
            _EVENT_LABELS,
            registry=registry,
        )
        self.published = Counter(
            "outbox_events_published_total",
            "Outbox rows published and acknowledged",
            _EVENT_LABELS,
            registry=registry,
        )
        self.failed = Counter(
            "outbox_events_failed_total",
            "Failed publish attempts of outbox rows",
            _EVENT_LABELS,
            registry=registry,
        )
        self.parked = Counter(
            "outbox_events_parked_total",
            "Outbox rows parked as failed after their last allowed attempt",
            _EVENT_LABELS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "outbox_queue_depth",
            "Pending outbox rows",
            _DESTINATION_LABELS,
            registry=registry,
        )
        self.failed_rows = Gauge(
            "outbox_failed_rows",
            "Parked (failed) outbox rows",
            _DESTINATION_LABELS,
            registry=registry,
        )
        self.oldest_pending_age = Gauge(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none)",
            _DESTINATION_LABELS,
            registry=registry,
        )

    def event_added(self, destination: str, event_type: str, count: int = 1) -> None:
        self.added.labels(self.service, destination, event_type).inc(count)

    def event_published(self, destination: str, event_type: str) -> None:
        self.published.labels(self.service, destination, event_type).inc()

    def event_failed(self, destination: str, event_type: str, *, parked: bool) -> None:
        """One failed attempt; ``parked`` when it was the row's last allowed one."""
        self.failed.labels(self.service, destination, event_type).inc()
        if parked:
            self.parked.labels(self.service, destination, event_type).inc()

    def observe(self, stats: OutboxStats) -> None:
        """Refresh the gauges from a fresh ``OutboxStore.stats()``."""
        for destination, counts in stats.destinations.items():
            self.queue_depth.labels(self.service, destination).set(counts.pending)
            self.failed_rows.labels(self.service, destination).set(counts.failed)
            self.oldest_pending_age.labels(self.service, destination).set(
                counts.oldest_pending_age_seconds or 0.0
            )
