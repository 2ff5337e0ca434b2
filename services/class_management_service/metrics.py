"""The service's own Prometheus counters (http-api.md §11.2); HTTP metrics live in the libs."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter

from common_core.topics import CLASS_CREATED_TOPIC, STUDENT_CREATED_TOPIC
from huleedu_service_libs.kafka.metrics import PrometheusConsumerMetrics
from huleedu_service_libs.outbox.message import OutboxMessage
from huleedu_service_libs.outbox.metrics import OutboxMetrics


class ServiceMetrics:
    """Every ``cms_*`` series except ``cms_http_*`` and ``cms_api_errors_total``.

    Build one per registry (the container does). It is also the consumer loop's
    ``ConsumerMetrics`` and ``ConsumerLagObserver``: the consumer series are registered here,
    once, through the library's implementation, so nothing registers them a second time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.class_creations = Counter(
            "cms_class_creations_total", "Classes created", registry=registry
        )
        self.student_creations = Counter(
            "cms_student_creations_total",
            "Students created, bulk-imported ones included",
            registry=registry,
        )
        self.associations_decided = Counter(
            "cms_associations_decided_total",
            "Essay associations decided, by method and resulting status",
            ["validation_method", "validation_status"],
            registry=registry,
        )
        self.roster_requests = Counter(
            "cms_roster_requests_total",
            "Roster reads by caller kind (owner, service, anonymous_internal) and result",
            ["caller", "result"],
            registry=registry,
        )
        for caller in ("owner", "service", "anonymous_internal"):
            for result in ("served", "refused"):
                self.roster_requests.labels(caller, result)
        # cms_consumer_messages_total{topic,result}, cms_consumer_retries_total{topic} and
        # cms_consumer_lag{topic,partition}.
        self.consumer = PrometheusConsumerMetrics(registry, prefix="cms")

    def association_decided(self, validation_method: str, validation_status: str) -> None:
        self.associations_decided.labels(validation_method, validation_status).inc()

    def roster_request(self, caller: str, result: str) -> None:
        self.roster_requests.labels(caller, result).inc()

    def consumer_message(self, topic: str, result: str) -> None:
        self.consumer.consumer_message(topic, result)

    def consumer_retry(self, topic: str) -> None:
        self.consumer.consumer_retry(topic)

    def consumer_lag(self, topic: str, partition: int, lag: int) -> None:
        self.consumer.consumer_lag(topic, partition, lag)


class CommittedOutboxMetrics:
    """The ``CommitObserver`` of the units of work: counts committed rows and creations.

    Creations are read off the committed events, so bulk-created students count too and a
    rolled-back request counts nothing."""

    def __init__(self, outbox: OutboxMetrics, service: ServiceMetrics) -> None:
        self._outbox = outbox
        self._service = service

    def committed(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self._outbox.event_added(message.destination, message.event_type)
            if message.event_type == CLASS_CREATED_TOPIC:
                self._service.class_creations.inc()
            elif message.event_type == STUDENT_CREATED_TOPIC:
                self._service.student_creations.inc()
