"""Publishers send a whole claim at once and report each row's outcome on its own."""

from __future__ import annotations

from uuid import uuid4

import pytest

from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.message import OutboxMessage
from huleedu_service_libs.outbox.records import OutboxRecord
from huleedu_service_libs.outbox.redis_publisher import RedisPublisher
from tests.fixtures.infrastructure import KafkaTopicFactory
from tests.integration.outbox.support import kafka_message, read_topic, redis_message
from tests.integration.outbox.test_redis_relay import receive, subscribed

pytestmark = pytest.mark.integration


def record_of(message: OutboxMessage, seq: int) -> OutboxRecord:
    return OutboxRecord(
        id=uuid4(),
        seq=seq,
        destination=message.destination,
        event_type=message.event_type,
        topic=message.topic,
        event_key=message.event_key,
        event_data=message.event_data,
        retry_count=0,
    )


async def test_a_batch_of_500_rows_is_acknowledged_row_by_row_and_all_arrive(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    topic = await kafka_topic_factory(3)
    records = [record_of(kafka_message(topic, f"class-{n}", n), n) for n in range(500)]
    publisher = KafkaPublisher(kafka_bootstrap_servers)
    try:
        outcomes = await publisher.publish_batch(records)
    finally:
        await publisher.close()

    assert outcomes == [None] * 500
    arrived = await read_topic(kafka_bootstrap_servers, topic, partitions=3)
    assert sorted(r.value["event_id"] for r in arrived) == sorted(
        r.event_data["event_id"] for r in records
    )


async def test_an_unrenderable_row_fails_alone_and_its_batch_mates_arrive(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    topic = await kafka_topic_factory()
    good = [record_of(kafka_message(topic, f"class-{n}", n), n) for n in range(3)]
    broken = record_of(kafka_message(topic, "class-broken"), 9)
    broken.event_data["data"]["score"] = float("nan")  # refused by the JSON encoder
    publisher = KafkaPublisher(kafka_bootstrap_servers)
    try:
        outcomes = await publisher.publish_batch([good[0], broken, good[1], good[2]])
    finally:
        await publisher.close()

    assert [outcome is None for outcome in outcomes] == [True, False, True, True]
    assert isinstance(outcomes[1], ValueError)
    arrived = await read_topic(kafka_bootstrap_servers, topic)
    assert [r.value["event_id"] for r in arrived] == [r.event_data["event_id"] for r in good]


async def test_an_unreachable_broker_fails_every_row_of_the_batch_within_the_send_timeout() -> None:
    # Nothing listens on port 1.
    records = [record_of(kafka_message("t", f"class-{n}", n), n) for n in range(5)]
    publisher = KafkaPublisher("127.0.0.1:1", send_timeout_seconds=2.0, request_timeout_ms=1000)
    try:
        outcomes = await publisher.publish_batch(records)
    finally:
        await publisher.close()

    assert len(outcomes) == 5
    assert all(isinstance(outcome, Exception) for outcome in outcomes)


async def test_a_redis_batch_reaches_each_channel_in_order(redis_url: str) -> None:
    teacher = f"teacher-{uuid4()}"
    other = f"teacher-{uuid4()}"
    mine = [record_of(redis_message(teacher, n), n) for n in range(3)]
    theirs = record_of(redis_message(other, 7), 3)
    publisher = RedisPublisher.from_url(redis_url)
    try:
        async with subscribed(redis_url, mine[0].topic) as pubsub:
            outcomes = await publisher.publish_batch([mine[0], theirs, mine[1], mine[2]])
            received = await receive(pubsub, 3)
    finally:
        await publisher.close()

    assert outcomes == [None] * 4
    assert received == [record.event_data for record in mine]
