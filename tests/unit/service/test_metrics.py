"""The service's counters carry the contract's names and labels (http-api.md §11.2)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from class_management_service.metrics import ServiceMetrics
from huleedu_service_libs.kafka.metrics import ConsumerLagObserver, ConsumerMetrics


def test_series_names_and_labels() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry)
    metrics.class_creations.inc()
    metrics.student_creations.inc(3)
    metrics.association_decided("human", "rejected")
    metrics.consumer_message("huleedu.batch.author.matches.suggested.v1", "duplicate")
    metrics.consumer_retry("huleedu.batch.author.matches.suggested.v1")

    sample = registry.get_sample_value
    assert sample("cms_class_creations_total") == 1
    assert sample("cms_student_creations_total") == 3
    decided = {"validation_method": "human", "validation_status": "rejected"}
    assert sample("cms_associations_decided_total", decided) == 1
    topic = "huleedu.batch.author.matches.suggested.v1"
    assert sample("cms_consumer_messages_total", {"topic": topic, "result": "duplicate"}) == 1
    assert sample("cms_consumer_retries_total", {"topic": topic}) == 1
    assert b"# TYPE cms_associations_decided_total counter" in generate_latest(registry)


def test_it_serves_the_consumer_loop_without_registering_twice() -> None:
    registry = CollectorRegistry()
    metrics = ServiceMetrics(registry)
    # Statically checked: the consumer loop's protocols are satisfied.
    as_consumer: ConsumerMetrics = metrics
    as_lag: ConsumerLagObserver = metrics
    as_consumer.consumer_retry("t")
    as_lag.consumer_lag("t", 0, 7)
    assert registry.get_sample_value("cms_consumer_lag", {"topic": "t", "partition": "0"}) == 7
