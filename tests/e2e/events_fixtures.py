"""Fixtures of the events end-to-end tests (a pytest plugin that ``test_events_e2e.py`` loads):
the service with its workers on the migrated test database and the real Kafka and Redis, a Kafka
reader in a fresh group, a teacher of one's own.

Kafka topics and Redis channels are shared by every test and every run on these servers, so each
test uses a teacher id of its own (the Redis channel and the notification key) and looks Kafka
records up by key. The service's consumer runs in a group of its own, started at the log end of
the suggestion topic so that it does not replay other runs' records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.topics import BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC, PUBLISHED_TOPICS
from tests.e2e.events_support import (
    CollectorFactory,
    KafkaCollector,
    RunningService,
    ServiceFactory,
    ensure_topics,
    running_service,
    start_group_at_end,
)
from tests.fixtures.infrastructure import unique_name


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def events_topics(kafka_bootstrap_servers: str) -> str:
    """Every published topic and the consumed one exist before anyone subscribes to them."""
    await ensure_topics(
        kafka_bootstrap_servers, [*sorted(PUBLISHED_TOPICS), BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC]
    )
    return kafka_bootstrap_servers


@pytest.fixture
def teacher_id() -> str:
    """A teacher of this test only: its Redis channel and notification key are private."""
    return str(uuid.uuid4())


@pytest.fixture
def started_at() -> float:
    """Wall-clock start of the test; Kafka records produced earlier cannot be the test's."""
    return time.time()


@pytest_asyncio.fixture(loop_scope="session")
async def start_service(
    migrated_database_url: str,
    clean_database: AsyncEngine,
    events_topics: str,
    redis_url: str,
    request: pytest.FixtureRequest,
) -> ServiceFactory:
    """``async with start_service(**settings_overrides) as service`` runs the app with its
    workers on the freshly truncated test database."""
    group_id = unique_name("cms-e2e-events", request.node.name)
    await start_group_at_end(events_topics, group_id, BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC)

    def start(**overrides: Any) -> AbstractAsyncContextManager[RunningService]:
        return running_service(
            database_url=migrated_database_url,
            bootstrap_servers=events_topics,
            redis_url=redis_url,
            group_id=group_id,
            **overrides,
        )

    return start


@pytest_asyncio.fixture(loop_scope="session")
async def events_service(start_service: ServiceFactory) -> AsyncIterator[RunningService]:
    """The service with the default notification settings (Redis only)."""
    async with start_service() as running:
        yield running


@pytest.fixture
def kafka_reader(events_topics: str, started_at: float) -> CollectorFactory:
    """``async with kafka_reader() as kafka``: a consumer in a fresh group reading every
    published topic from the earliest offset, keeping the records produced during this test."""

    def make() -> KafkaCollector:
        # A little slack for the clock of the producer's CreateTime (same host).
        return KafkaCollector(events_topics, sorted(PUBLISHED_TOPICS), since=started_at - 5)

    return make


@pytest_asyncio.fixture(loop_scope="session")
async def kafka_events(kafka_reader: CollectorFactory) -> AsyncIterator[KafkaCollector]:
    """A reader started with the test, so the topics' history is read while the test runs."""
    async with kafka_reader() as collector:
        yield collector
