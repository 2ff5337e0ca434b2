"""The Redis relay against real PostgreSQL and Redis: delivery to ws:{teacher}, outage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.topics import teacher_channel
from huleedu_service_libs.outbox.redis_publisher import RedisPublisher
from tests.integration.outbox.conftest import RelayFactory
from tests.integration.outbox.doubles import Gate
from tests.integration.outbox.support import (
    all_published,
    count_rows,
    fast_config,
    insert,
    outage,
    redis_message,
    running,
    some_rows,
    wait_until,
)

pytestmark = pytest.mark.integration


@asynccontextmanager
async def subscribed(redis_url: str, channel: str) -> AsyncIterator[PubSub]:
    """A subscription the server has confirmed, so nothing published afterwards is missed."""
    client = Redis.from_url(redis_url)
    try:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            async with asyncio.timeout(10):
                while await pubsub.get_message(timeout=1.0) is None:
                    pass
            yield pubsub
    finally:
        await client.aclose()


async def receive(pubsub: PubSub, count: int, within: float = 20) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        while len(messages) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                messages.append(json.loads(message["data"]))
    return messages


async def test_redis_rows_arrive_at_the_teacher_channel_in_order(
    clean_database: AsyncEngine, make_relay: RelayFactory, redis_url: str
) -> None:
    teacher = f"teacher-{uuid4()}"
    messages = [redis_message(teacher, n) for n in range(5)]
    relay = make_relay(RedisPublisher.from_url(redis_url))

    async with subscribed(redis_url, teacher_channel(teacher)) as pubsub, running(relay):
        await insert(clean_database, messages)
        received = await receive(pubsub, 5)
        await wait_until(all_published(clean_database, 5), within=10, what="published rows")

    assert received == [message.event_data for message in messages]


async def test_publishing_with_no_subscriber_counts_as_published(
    clean_database: AsyncEngine, make_relay: RelayFactory, redis_url: str
) -> None:
    await insert(clean_database, [redis_message(f"nobody-{uuid4()}")])
    async with running(make_relay(RedisPublisher.from_url(redis_url))):
        await wait_until(all_published(clean_database, 1), within=10, what="published row")


async def test_rows_wait_while_redis_is_down_and_arrive_after_it_returns(
    clean_database: AsyncEngine, make_relay: RelayFactory, redis_url: str
) -> None:
    teacher = f"teacher-{uuid4()}"
    messages = [redis_message(teacher, n) for n in range(5)]
    # The gate holds publishing while the test re-subscribes after the restart, since pub/sub
    # only reaches subscribers present at publish time.
    gate = Gate(RedisPublisher.from_url(redis_url, publish_timeout_seconds=1.0))
    relay = make_relay(gate, fast_config(backoff_initial_seconds=0.1, backoff_max_seconds=0.5))

    async with running(relay):
        async with outage("redis"):
            await insert(clean_database, messages)
            await wait_until(
                some_rows(clean_database, "retry_count >= 2"),
                within=20,
                what="failed attempts recorded while Redis is down",
            )
            assert await count_rows(clean_database, "status = 'pending'") == 5
            gate.open.clear()
        async with subscribed(redis_url, teacher_channel(teacher)) as pubsub:
            gate.open.set()
            received = await receive(pubsub, 5)
        await wait_until(all_published(clean_database, 5), within=10, what="published rows")

    assert received == [message.event_data for message in messages]
