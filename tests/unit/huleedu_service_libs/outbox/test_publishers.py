"""Publishers refuse rows they cannot render before touching the broker."""

from __future__ import annotations

from uuid import uuid4

import pytest

from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.records import OutboxRecord


async def test_a_row_without_envelope_headers_fails_without_contacting_kafka() -> None:
    # Nothing listens on port 1: reaching the network would raise a connection error instead.
    publisher = KafkaPublisher("127.0.0.1:1")
    record = OutboxRecord(uuid4(), 1, "kafka", "t", "t", "key", {"data": {}}, 0)

    with pytest.raises(KeyError, match="event_id"):
        await publisher.publish(record)
    await publisher.close()
