"""Fixtures of the relay tests: a store on the cleaned migrated database, metrics, relays."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from huleedu_service_libs.outbox.listener import OutboxListener
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import Publisher
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig
from tests.integration.outbox.support import fast_config


@pytest.fixture
def store(clean_database: AsyncEngine) -> PostgresOutboxStore:
    return PostgresOutboxStore(clean_database)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> OutboxMetrics:
    return OutboxMetrics(registry, "class_management_service")


RelayFactory = Callable[..., OutboxRelay]


@pytest.fixture
async def make_relay(
    clean_database: AsyncEngine, store: PostgresOutboxStore, metrics: OutboxMetrics
) -> AsyncIterator[RelayFactory]:
    """``make_relay(publisher, config=None, *, listen=True)``: a relay on the test database
    whose publisher is closed after the test. ``relay.wakeups`` is its listener (or None)."""
    publishers: list[Publisher] = []

    def make(
        publisher: Publisher, config: RelayConfig | None = None, *, listen: bool = True
    ) -> OutboxRelay:
        publishers.append(publisher)
        listener = (
            OutboxListener.for_engine(
                clean_database, publisher.destination, reconnect_initial_seconds=0.1
            )
            if listen
            else None
        )
        return OutboxRelay(
            store=store,
            publisher=publisher,
            config=config or fast_config(),
            metrics=metrics,
            wakeups=listener,
        )

    yield make
    for publisher in publishers:
        with contextlib.suppress(Exception):
            await publisher.close()
