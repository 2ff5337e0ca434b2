"""Outbox series carry the exact names and labels of http-api.md §11.2."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.records import DestinationStats, OutboxStats

SERVICE = "class_management_service"


def test_counters_are_labelled_by_service_destination_and_event_type() -> None:
    registry = CollectorRegistry()
    metrics = OutboxMetrics(registry, SERVICE)

    metrics.event_added("kafka", "huleedu.class.created.v1", 2)
    metrics.event_published("kafka", "huleedu.class.created.v1")
    metrics.event_failed("redis", "class_created", parked=False)
    metrics.event_failed("redis", "class_created", parked=True)

    def value(name: str, destination: str, event_type: str) -> float | None:
        labels = {"service": SERVICE, "destination": destination, "event_type": event_type}
        return registry.get_sample_value(name, labels)

    assert value("outbox_events_added_total", "kafka", "huleedu.class.created.v1") == 2
    assert value("outbox_events_published_total", "kafka", "huleedu.class.created.v1") == 1
    assert value("outbox_events_failed_total", "redis", "class_created") == 2
    assert value("outbox_events_parked_total", "redis", "class_created") == 1


def test_gauges_follow_the_latest_stats_with_zero_age_when_nothing_is_pending() -> None:
    registry = CollectorRegistry()
    metrics = OutboxMetrics(registry, SERVICE)

    metrics.observe(OutboxStats.of({"kafka": DestinationStats(3, 1, 12.5)}))

    def value(name: str, destination: str) -> float | None:
        return registry.get_sample_value(name, {"service": SERVICE, "destination": destination})

    assert value("outbox_queue_depth", "kafka") == 3
    assert value("outbox_failed_rows", "kafka") == 1
    assert value("outbox_oldest_pending_age_seconds", "kafka") == 12.5
    assert value("outbox_queue_depth", "redis") == 0
    assert value("outbox_oldest_pending_age_seconds", "redis") == 0
    exposition = generate_latest(registry).decode()
    assert "# TYPE outbox_queue_depth gauge" in exposition
    assert "# TYPE outbox_events_published_total counter" in exposition
