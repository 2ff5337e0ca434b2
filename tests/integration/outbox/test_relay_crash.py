"""A relay that dies mid-claim loses nothing; what it re-sends carries the same event_id."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.message import OutboxMessage
from tests.fixtures.infrastructure import KafkaTopicFactory
from tests.integration.outbox.conftest import RelayFactory
from tests.integration.outbox.doubles import StallAfter
from tests.integration.outbox.support import (
    ROOT,
    Received,
    all_published,
    count_rows,
    first_seen_seqs_per_key,
    insert,
    kafka_message,
    read_topic,
    running,
    wait_until,
)

pytestmark = pytest.mark.integration


ROWS = 150
# A claim takes only the first pending row of each key, so with 75 keys the first claim holds
# rows 1-75 and dies after acknowledging rows 1-40.
KEYS = 75
SENT_BEFORE_DEATH = 40


async def _write_rows(engine: AsyncEngine, topic: str) -> dict[str, int]:
    messages: list[OutboxMessage] = [
        kafka_message(topic, f"key-{n % KEYS}", n) for n in range(ROWS)
    ]
    seqs = await insert(engine, messages)
    return {m.event_data["event_id"]: seq for m, seq in zip(messages, seqs, strict=True)}


def _assert_nothing_lost(received: list[Received], seq_of_event: dict[str, int]) -> None:
    copies = Counter(record.value["event_id"] for record in received)
    assert set(copies) == set(seq_of_event)
    # The rows acknowledged before the death were sent again by the next relay, nothing else.
    first_rows = sorted(seq_of_event, key=seq_of_event.__getitem__)[:SENT_BEFORE_DEATH]
    assert {event for event, n in copies.items() if n > 1} == set(first_rows)
    assert max(copies.values()) == 2
    for record in received:
        assert record.headers["event_id"] == record.value["event_id"]
    for key, seqs in first_seen_seqs_per_key(received, seq_of_event).items():
        assert seqs == sorted(seqs), f"order broken for {key}"


async def test_relay_cancelled_mid_claim_loses_nothing(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory(2)
    seq_of_event = await _write_rows(clean_database, topic)
    stalling = StallAfter(KafkaPublisher(kafka_bootstrap_servers), SENT_BEFORE_DEATH)
    doomed = make_relay(stalling, listen=False)

    task = asyncio.create_task(doomed.run(asyncio.Event()))
    await asyncio.wait_for(stalling.stalled.wait(), 30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert doomed.status == "stopped"
    # The claim rolled back: the acknowledged rows are not recorded as published.
    assert await count_rows(clean_database, "status = 'pending'") == ROWS

    async with running(make_relay(KafkaPublisher(kafka_bootstrap_servers))):
        await wait_until(all_published(clean_database, ROWS), within=30, what="all rows")

    received = await read_topic(kafka_bootstrap_servers, topic, partitions=2)
    _assert_nothing_lost(received, seq_of_event)


async def test_relay_process_killed_mid_claim_loses_nothing(
    clean_database: AsyncEngine,
    migrated_database_url: str,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory(2)
    seq_of_event = await _write_rows(clean_database, topic)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.outbox.crashing_relay",
        migrated_database_url,
        kafka_bootstrap_servers,
        str(SENT_BEFORE_DEATH),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(["libs", "services", "."])},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == -signal.SIGKILL, stderr.decode(errors="replace")[-2000:]
    # The dead relay's claim never committed.
    assert await count_rows(clean_database, "status = 'pending'") == ROWS

    async with running(make_relay(KafkaPublisher(kafka_bootstrap_servers))):
        await wait_until(all_published(clean_database, ROWS), within=30, what="all rows")

    received = await read_topic(kafka_bootstrap_servers, topic, partitions=2)
    _assert_nothing_lost(received, seq_of_event)
