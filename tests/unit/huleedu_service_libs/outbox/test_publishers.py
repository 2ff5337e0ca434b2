"""Publishers fail rows they cannot render without touching the broker."""

from __future__ import annotations

from uuid import uuid4

from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.records import OutboxRecord


async def test_a_row_without_envelope_headers_fails_without_contacting_kafka() -> None:
    # Nothing listens on port 1: reaching the network would give a connection error instead.
    publisher = KafkaPublisher("127.0.0.1:1")
    record = OutboxRecord(uuid4(), 1, "kafka", "t", "t", "key", {"data": {}}, 0)

    (outcome,) = await publisher.publish_batch([record])

    assert isinstance(outcome, KeyError)
    assert "event_id" in str(outcome)
    await publisher.close()
