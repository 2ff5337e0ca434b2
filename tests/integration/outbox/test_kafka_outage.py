"""Kafka goes down while rows are written: after it returns every row arrives, in key order."""

from __future__ import annotations

from collections import Counter

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.topics import SERVICE_NAME
from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from tests.fixtures.infrastructure import KafkaTopicFactory
from tests.integration.outbox.conftest import RelayFactory
from tests.integration.outbox.support import (
    all_published,
    count_rows,
    fast_config,
    first_seen_seqs_per_key,
    insert,
    kafka_message,
    outage,
    read_topic,
    running,
    some_rows,
    wait_until,
)

pytestmark = pytest.mark.integration

ROWS = 200
KEYS = 20


async def test_rows_written_while_kafka_is_down_all_arrive_in_key_order(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    registry: CollectorRegistry,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory(3)
    publisher = KafkaPublisher(
        kafka_bootstrap_servers,
        send_timeout_seconds=3,
        close_timeout_seconds=1,
        request_timeout_ms=3000,
    )
    relay = make_relay(publisher, fast_config(backoff_initial_seconds=0.2, backoff_max_seconds=2.0))
    seq_of_event: dict[str, int] = {}

    async with running(relay):
        # A first row makes the producer live, so the outage hits an established connection.
        warm_up = kafka_message(topic, "warm-up")
        [seq] = await insert(clean_database, [warm_up])
        seq_of_event[warm_up.event_data["event_id"]] = seq
        await wait_until(all_published(clean_database, 1), within=30, what="warm-up row")

        # The outage (stop, writes, recorded failures, restart) lasts about 15 s, not the
        # 30 s of the acceptance scenario, to keep the suite fast; the failure path is the same.
        async with outage("kafka"):
            for batch in range(10):
                messages = [
                    kafka_message(topic, f"key-{n % KEYS}", batch * 20 + n) for n in range(20)
                ]
                seqs = await insert(clean_database, messages)
                seq_of_event |= {
                    m.event_data["event_id"]: s for m, s in zip(messages, seqs, strict=True)
                }
            await wait_until(
                some_rows(clean_database, "retry_count >= 2"),
                within=60,
                what="failed attempts recorded while Kafka is down",
            )
            assert await count_rows(clean_database, "status = 'published'") == 1
            assert await count_rows(clean_database, "status = 'failed'") == 0

        await wait_until(
            all_published(clean_database, ROWS + 1), within=120, what="all rows after recovery"
        )

    received = await read_topic(kafka_bootstrap_servers, topic, partitions=3)
    copies = Counter(record.value["event_id"] for record in received)
    assert set(copies) == set(seq_of_event)
    for record in received:
        assert record.headers["event_id"] == record.value["event_id"]
    for key, seqs in first_seen_seqs_per_key(received, seq_of_event).items():
        assert seqs == sorted(seqs), f"order broken for {key}"
    failed = registry.get_sample_value(
        "outbox_events_failed_total",
        {"service": SERVICE_NAME, "destination": "kafka", "event_type": topic},
    )
    assert failed is not None
    assert failed >= 2
