"""A Kafka relay process that SIGKILLs itself mid-claim (run by ``test_relay_crash``).

Usage: ``python -m tests.integration.outbox.crashing_relay DATABASE_URL BOOTSTRAP KILL_AFTER``
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy.ext.asyncio import create_async_engine

from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore
from huleedu_service_libs.outbox.relay import OutboxRelay, RelayConfig
from tests.integration.outbox.doubles import KillAfter


async def main(database_url: str, bootstrap_servers: str, kill_after: int) -> None:
    engine = create_async_engine(database_url)
    relay = OutboxRelay(
        store=PostgresOutboxStore(engine),
        publisher=KillAfter(KafkaPublisher(bootstrap_servers), kill_after),
        config=RelayConfig(batch_size=100, poll_interval_seconds=0.2),
    )
    # Never stopped: the publisher kills the process.
    await relay.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
