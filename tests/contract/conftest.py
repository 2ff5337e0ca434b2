"""The service as a client sees it: one real process on PostgreSQL, Kafka and Redis per module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from class_management_service.implementations.postgres.migrations import upgrade_to_head
from tests.e2e.matching_fixtures import SUGGESTED_TOPIC, ensure_topics, start_group_near_end
from tests.e2e.operations_support import REPO_ROOT, ServiceProcess, running
from tests.fixtures.database import scratch_database
from tests.fixtures.infrastructure import unique_name

SERVICE_KEY = "contract-test-key"
SERVICE_ID = "contract_tests"
# Where the tests leave what a person may want to look at (reports, screenshots).
ARTIFACTS = REPO_ROOT / ".local" / "test-artifacts"


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api_service(
    database_url: str,
    kafka_bootstrap_servers: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> AsyncIterator[ServiceProcess]:
    """``python -m class_management_service serve`` on a database of its own, with its workers,
    the shared internal key, and a consumer group that starts near the suggestion topic's end."""
    group = unique_name("cms-contract", request.module.__name__.rsplit(".", 1)[-1])
    await ensure_topics(kafka_bootstrap_servers, [SUGGESTED_TOPIC])
    await start_group_near_end(kafka_bootstrap_servers, group, SUGGESTED_TOPIC)
    async with scratch_database(database_url, prefix="cms_contract") as url:
        await upgrade_to_head(url)
        async with running(
            tmp_path_factory.mktemp("contract"),
            "service",
            DATABASE_URL=url,
            KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap_servers,
            KAFKA_CONSUMER_GROUP_ID=group,
            REDIS_URL=redis_url,
            INTERNAL_API_KEY=SERVICE_KEY,
            LOG_LEVEL="WARNING",
        ) as service:
            yield service
