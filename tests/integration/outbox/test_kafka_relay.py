"""The Kafka relay against real PostgreSQL and Kafka: records, wake-ups, concurrency, parking."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from common_core.topics import SERVICE_NAME
from huleedu_service_libs.outbox.kafka_publisher import KafkaPublisher
from huleedu_service_libs.outbox.listener import OutboxListener
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore
from tests.fixtures.infrastructure import KafkaTopicFactory
from tests.integration.outbox.conftest import RelayFactory
from tests.integration.outbox.doubles import Counting
from tests.integration.outbox.support import (
    all_published,
    fast_config,
    first_seen_seqs_per_key,
    insert,
    kafka_message,
    outbox_rows,
    read_topic,
    running,
    wait_until,
)

pytestmark = pytest.mark.integration


async def test_each_row_arrives_on_its_topic_with_key_headers_and_value_as_stored(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    created, updated = await kafka_topic_factory(), await kafka_topic_factory()
    messages = [
        kafka_message(created, "06978b2f-241d-4018-a94f-a7c67fc7d1c7", 0),
        kafka_message(updated, "06978b2f-241d-4018-a94f-a7c67fc7d1c7", 1),
        kafka_message(created, "teacher-Åsa", 2),
    ]
    await insert(clean_database, messages)
    relay = make_relay(KafkaPublisher(kafka_bootstrap_servers))

    async with running(relay):
        await wait_until(all_published(clean_database, 3), within=30, what="3 published rows")

    arrived = await read_topic(kafka_bootstrap_servers, created) + await read_topic(
        kafka_bootstrap_servers, updated
    )
    assert len(arrived) == 3
    by_event = {record.value["event_id"]: record for record in arrived}
    for message in messages:
        record = by_event[message.event_data["event_id"]]
        assert record.key == message.event_key
        assert record.value == message.event_data
        assert record.headers == {
            "event_id": message.event_data["event_id"],
            "event_type": message.topic,
            "correlation_id": message.event_data["correlation_id"],
            "source_service": SERVICE_NAME,
        }
    for row in await outbox_rows(clean_database):
        assert row["published_at"] is not None
        assert row["retry_count"] == 0


async def test_notify_wakes_the_relay_long_before_the_poll_interval(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory()
    relay = make_relay(
        KafkaPublisher(kafka_bootstrap_servers), fast_config(poll_interval_seconds=30.0)
    )
    listener = relay.wakeups
    assert isinstance(listener, OutboxListener)

    async with running(relay):
        await wait_until(lambda: listener.connected, within=10, what="LISTEN")
        # The first row may ride on the wake-up that follows LISTEN; the second needs a NOTIFY.
        for n in (1, 2):
            await insert(clean_database, [kafka_message(topic, "k", n)])
            took = await wait_until(
                all_published(clean_database, n), within=5, what=f"row {n} after NOTIFY"
            )
            assert took < 5

    assert len(await read_topic(kafka_bootstrap_servers, topic)) == 2


async def test_a_lost_listen_connection_is_reestablished(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory()
    relay = make_relay(
        KafkaPublisher(kafka_bootstrap_servers), fast_config(poll_interval_seconds=30.0)
    )
    listener = relay.wakeups
    assert isinstance(listener, OutboxListener)

    async with running(relay):
        await wait_until(lambda: listener.connected, within=10, what="LISTEN")
        async with clean_database.begin() as connection:
            killed = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'outbox-listener' AND datname = current_database()"
                )
            )
            assert killed.scalars().all() == [True]
        await wait_until(lambda: not listener.connected, within=10, what="loss noticed")
        await wait_until(lambda: listener.connected, within=10, what="LISTEN again")
        await insert(clean_database, [kafka_message(topic, "k")])
        await wait_until(all_published(clean_database, 1), within=5, what="row after reconnect")


async def test_rows_are_still_polled_while_listen_is_impossible(
    clean_database: AsyncEngine,
    store: PostgresOutboxStore,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    from huleedu_service_libs.outbox.relay import OutboxRelay

    topic = await kafka_topic_factory()
    publisher = KafkaPublisher(kafka_bootstrap_servers)
    unreachable = OutboxListener(
        "postgresql://nobody@127.0.0.1:1/none", "kafka", reconnect_initial_seconds=0.1
    )
    relay = OutboxRelay(
        store=store,
        publisher=publisher,
        config=fast_config(poll_interval_seconds=0.5),
        wakeups=unreachable,
    )
    try:
        async with running(relay):
            await insert(clean_database, [kafka_message(topic, "k")])
            await wait_until(all_published(clean_database, 1), within=10, what="polled row")
            assert not unreachable.connected
    finally:
        await publisher.close()


async def test_two_relays_on_one_database_publish_no_row_twice(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory(3)
    config = fast_config(batch_size=7)
    first_publisher = Counting(KafkaPublisher(kafka_bootstrap_servers))
    second_publisher = Counting(KafkaPublisher(kafka_bootstrap_servers))
    first = make_relay(first_publisher, config)
    second = make_relay(second_publisher, config)
    total = 0
    seq_of_event: dict[str, int] = {}

    async with running(first, second):
        # Written while both relays run, in many small transactions, like live traffic.
        for batch in range(20):
            messages = [kafka_message(topic, f"key-{n % 12}", batch * 15 + n) for n in range(15)]
            seqs = await insert(clean_database, messages)
            seq_of_event |= {
                m.event_data["event_id"]: seq for m, seq in zip(messages, seqs, strict=True)
            }
            total += len(messages)
        await wait_until(all_published(clean_database, total), within=60, what="all rows")

    arrived = await read_topic(kafka_bootstrap_servers, topic, partitions=3)
    event_ids = [record.value["event_id"] for record in arrived]
    assert len(event_ids) == total
    assert set(event_ids) == set(seq_of_event)
    for key, seqs in first_seen_seqs_per_key(arrived, seq_of_event).items():
        assert seqs == sorted(seqs), f"order broken for {key}"
    assert first.status == second.status == "stopped"
    # Both took part, so the absence of duplicates means something.
    assert first_publisher.published > 0
    assert second_publisher.published > 0
    assert first_publisher.published + second_publisher.published == total


async def test_a_row_that_keeps_failing_is_parked_and_does_not_block_its_key(
    clean_database: AsyncEngine,
    make_relay: RelayFactory,
    store: PostgresOutboxStore,
    registry: CollectorRegistry,
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    topic = await kafka_topic_factory()
    # An illegal topic name: the broker refuses it, so every attempt fails for real.
    poison = replace(kafka_message(topic, "k", 0), topic="not a valid topic!")
    later = [kafka_message(topic, "k", 1), kafka_message(topic, "k", 2)]
    poison_seq, *later_seqs = await insert(clean_database, [poison, *later])
    relay = make_relay(
        KafkaPublisher(kafka_bootstrap_servers, send_timeout_seconds=2, request_timeout_ms=1000),
        fast_config(max_attempts=3, backoff_initial_seconds=0.05, backoff_max_seconds=0.2),
    )

    async with running(relay):
        await wait_until(
            all_published(clean_database, 2), within=40, what="rows behind the parked one"
        )
        labels = {"service": SERVICE_NAME, "destination": "kafka"}
        await wait_until(
            lambda: registry.get_sample_value("outbox_failed_rows", labels) == 1,
            within=5,
            what="outbox_failed_rows gauge",
        )

    parked = (await outbox_rows(clean_database))[0]
    assert parked["seq"] == poison_seq
    assert (parked["status"], parked["retry_count"]) == ("failed", 3)
    assert parked["failed_at"] is not None
    assert parked["last_error"]
    stats = await store.stats()
    assert (stats.destinations["kafka"].failed, stats.failed, stats.pending) == (1, 1, 0)
    event = {"service": SERVICE_NAME, "destination": "kafka", "event_type": topic}
    assert registry.get_sample_value("outbox_events_failed_total", event) == 3
    assert registry.get_sample_value("outbox_events_parked_total", event) == 1
    assert registry.get_sample_value("outbox_events_published_total", event) == 2
    arrived = await read_topic(kafka_bootstrap_servers, topic)
    assert [record.value["data"]["n"] for record in arrived] == [1, 2]
    assert later_seqs == sorted(later_seqs)


async def test_relay_stops_promptly_and_reports_its_status(
    make_relay: RelayFactory, kafka_bootstrap_servers: str
) -> None:
    relay = make_relay(
        KafkaPublisher(kafka_bootstrap_servers), fast_config(poll_interval_seconds=30.0)
    )
    assert relay.status == "stopped"
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await wait_until(lambda: relay.status == "running", within=5, what="running")
    await asyncio.sleep(0.2)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 2
    assert relay.status == "stopped"
