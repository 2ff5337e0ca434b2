"""The real servers the integration tests run against behave as the service needs them to."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.infrastructure import KafkaTopicFactory

pytestmark = pytest.mark.integration

TIMEOUT_S = 30


async def test_postgres_round_trip_through_sqlalchemy(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text("CREATE TEMP TABLE probe (id serial PRIMARY KEY, name text NOT NULL)")
            )
            await conn.execute(
                text("INSERT INTO probe (name) VALUES (:a), (:b)"), {"a": "Åsa", "b": "Örjan"}
            )
            rows = (await conn.execute(text("SELECT id, name FROM probe ORDER BY id"))).all()
            database = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    finally:
        await engine.dispose()

    assert [tuple(row) for row in rows] == [(1, "Åsa"), (2, "Örjan")]
    assert database == database_url.rsplit("/", 1)[-1].split("?")[0]


async def test_postgres_round_trip_through_asyncpg(database_dsn: str) -> None:
    conn = await asyncpg.connect(database_dsn)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE probe (k uuid PRIMARY KEY, v jsonb)")
            key = uuid.uuid4()
            await conn.execute("INSERT INTO probe VALUES ($1, $2::jsonb)", key, '{"n": 1}')
            value = await conn.fetchval("SELECT v ->> 'n' FROM probe WHERE k = $1", key)
    finally:
        await conn.close()

    assert value == "1"


async def test_redis_publish_reaches_subscriber(redis_url: str) -> None:
    channel = f"probe-{uuid.uuid4().hex}"
    client = aioredis.from_url(redis_url, decode_responses=True)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        async with asyncio.timeout(TIMEOUT_S):
            # The subscription is confirmed by the server before anything is published.
            confirmation = None
            while confirmation is None:
                confirmation = await pubsub.get_message(timeout=1.0)
            assert confirmation["type"] == "subscribe"

            receivers = await client.publish(channel, "hello from the test")

            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
    finally:
        await pubsub.aclose()
        await client.aclose()

    assert receivers == 1
    assert message["channel"] == channel
    assert message["data"] == "hello from the test"


async def test_kafka_topic_factory_creates_partitions(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    topic = await kafka_topic_factory(num_partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        partitions = await producer.partitions_for(topic)
        # Every partition has a leader that takes writes.
        written = {
            (await producer.send_and_wait(topic, b"x", partition=p)).partition for p in partitions
        }
    finally:
        await producer.stop()

    assert written == {0, 1, 2}


async def test_kafka_idempotent_produce_and_group_resumes_after_committed_offset(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    topic = await kafka_topic_factory(num_partitions=1)
    partition = TopicPartition(topic, 0)
    group_id = f"probe-group-{uuid.uuid4().hex}"
    payloads = [f"event-{i}".encode() for i in range(6)]

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        offsets = [
            (await producer.send_and_wait(topic, payload, key=b"class-1")).offset
            for payload in payloads
        ]
    finally:
        await producer.stop()
    assert offsets == list(range(len(payloads)))

    def group_consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )

    # First member: reads half of the records, commits after the third one, leaves the group.
    first = group_consumer()
    await first.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            seen_first = [await first.getone() for _ in range(3)]
            await first.commit({partition: seen_first[-1].offset + 1})
            committed = await first.committed(partition)
    finally:
        await first.stop()

    assert [record.value for record in seen_first] == payloads[:3]
    assert committed == 3

    # Second member of the same group: starts at the committed offset, not at the beginning.
    second = group_consumer()
    await second.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            seen_second = [await second.getone() for _ in range(3)]
    finally:
        await second.stop()

    assert [record.offset for record in seen_second] == [3, 4, 5]
    assert [record.value for record in seen_second] == payloads[3:]
    assert all(record.key == b"class-1" for record in seen_first + seen_second)
