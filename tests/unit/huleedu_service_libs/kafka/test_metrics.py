"""The Prometheus series of the consumer, by their contract names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from huleedu_service_libs.kafka.metrics import ConsumerResult, PrometheusConsumerMetrics


def test_outcomes_retries_and_lag_are_exposed_under_contract_names() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusConsumerMetrics(registry)

    metrics.consumer_message("topic-a", ConsumerResult.DEAD_LETTERED)
    metrics.consumer_message("topic-a", ConsumerResult.PROCESSED)
    metrics.consumer_message("topic-a", ConsumerResult.PROCESSED)
    metrics.consumer_retry("topic-a")
    metrics.consumer_lag("topic-a", 2, 7)

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("cms_consumer_messages_total", topic="topic-a", result="processed") == 2
    assert sample("cms_consumer_messages_total", topic="topic-a", result="dead_lettered") == 1
    assert sample("cms_consumer_retries_total", topic="topic-a") == 1
    assert sample("cms_consumer_lag", topic="topic-a", partition="2") == 7
