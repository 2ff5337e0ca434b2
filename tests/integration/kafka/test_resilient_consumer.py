"""ResilientConsumer against the real broker: ordering, commits, retries, dead letters, stop."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest

from huleedu_service_libs.kafka.handling import ConsumedRecord, HandlingResult, PoisonMessage
from tests.fixtures.infrastructure import KafkaTopicFactory, unique_name
from tests.integration.kafka.support import (
    TIMEOUT_S,
    GatedProxy,
    Outgoing,
    Recorder,
    TransientError,
    committed_offsets,
    consumer_under_test,
    produce,
    read_topic,
    wait_until,
)

pytestmark = pytest.mark.integration


async def test_records_are_processed_in_partition_order_and_each_committed(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory(num_partitions=2)
    group = unique_name("group")
    await produce(
        servers,
        topic,
        [Outgoing(f"p{p}-{i}".encode(), partition=p) for i in range(3) for p in (0, 1)],
    )
    recorder = Recorder()

    run = consumer_under_test(servers, topic, group, recorder).start()
    await wait_until(lambda: len(recorder.finished) == 6, "six records processed")
    status_while_running = run.consumer.status
    await run.stopped()

    for partition in (0, 1):
        seen = [(r.offset, r.value) for r in recorder.finished if r.partition == partition]
        assert seen == [(i, f"p{partition}-{i}".encode()) for i in range(3)]
    assert await committed_offsets(servers, group) == {0: 3, 1: 3}
    assert run.count("processed", topic) == 6
    assert (
        run.registry.get_sample_value("cms_consumer_lag", {"topic": topic, "partition": "1"}) == 0
    )
    assert (status_while_running, run.consumer.status) == ("running", "stopped")

    # A new member starts from the commits: on each partition, a record produced now comes first.
    await produce(
        servers, topic, [Outgoing(b"later-0", partition=0), Outgoing(b"later-1", partition=1)]
    )
    second_recorder = Recorder()
    second = consumer_under_test(servers, topic, group, second_recorder).start()
    await wait_until(lambda: len(second_recorder.finished) == 2, "the two new records")
    await second.stopped()

    assert set(second_recorder.values()) == {b"later-0", b"later-1"}
    assert await committed_offsets(servers, group) == {0: 4, 1: 4}


async def test_poison_record_is_dead_lettered_verbatim_and_the_next_one_processed(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    dlq_topic = await kafka_topic_factory(prefix="dlq")
    group = unique_name("group")
    original_headers = [("event_id", b"e-1"), ("binary", b"\x00\xff")]
    await produce(
        servers,
        topic,
        [Outgoing(b"{not json", key=b"batch-1", headers=original_headers), Outgoing(b"valid")],
    )

    def poison_on_bad_json(record: ConsumedRecord) -> None:
        if record.value == b"{not json":
            raise PoisonMessage("invalid_json", "value is not a JSON object")

    recorder = Recorder(poison_on_bad_json)
    run = consumer_under_test(servers, topic, group, recorder, dlq_topic=dlq_topic).start()
    await wait_until(lambda: recorder.values() == [b"valid"], "the valid record processed")
    await run.stopped()

    [letter] = await read_topic(servers, dlq_topic, 1)
    assert letter.key == b"batch-1"
    assert letter.value == b"{not json"
    assert list(letter.headers) == [
        *original_headers,
        ("dlq_reason", b"invalid_json"),
        ("dlq_error", b"value is not a JSON object"),
        ("dlq_original_topic", topic.encode()),
        ("dlq_original_partition", b"0"),
        ("dlq_original_offset", b"0"),
        ("dlq_consumer_group", group.encode()),
        ("dlq_failed_at", b"2026-11-26T10:02:12.031000Z"),
        ("dlq_source_service", b"class_management_service"),
    ]
    assert await committed_offsets(servers, group) == {0: 2}
    assert run.count("dead_lettered", topic) == 1
    assert run.count("processed", topic) == 1
    assert run.retries(topic) == 0


async def test_transient_error_is_retried_with_backoff_while_the_partition_waits(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(b"first"), Outgoing(b"second")])
    failures_left = 3
    call_times: list[float] = []

    def fail_first_three_times(record: ConsumedRecord) -> None:
        nonlocal failures_left
        call_times.append(time.monotonic())
        if record.value == b"first" and failures_left:
            failures_left -= 1
            raise TransientError("database unavailable")

    recorder = Recorder(fail_first_three_times)
    # Fewer attempts than failures: transient errors are not bounded by max_attempts.
    run = consumer_under_test(servers, topic, group, recorder, max_attempts=2).start()
    await wait_until(lambda: len(recorder.finished) == 2, "both records processed")
    await run.stopped()

    assert [r.value for r in recorder.calls] == [b"first"] * 4 + [b"second"]
    assert recorder.values() == [b"first", b"second"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(call_times[:4])]
    assert all(
        round(gap, 2) >= expected for gap, expected in zip(gaps, [0.05, 0.1, 0.2], strict=True)
    )
    assert run.retries(topic) == 3
    assert run.count("processed", topic) == 2
    assert run.count("dead_lettered", topic) == 0
    assert await committed_offsets(servers, group) == {0: 2}


async def test_unexpected_error_is_dead_lettered_as_processing_failed_after_max_attempts(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    dlq_topic = await kafka_topic_factory(prefix="dlq")
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(b"broken", key=b"k"), Outgoing(b"fine")])

    def break_on_broken(record: ConsumedRecord) -> None:
        if record.value == b"broken":
            raise ValueError("boom\nsecond line")

    recorder = Recorder(break_on_broken)
    run = consumer_under_test(
        servers, topic, group, recorder, dlq_topic=dlq_topic, max_attempts=3
    ).start()
    await wait_until(lambda: recorder.values() == [b"fine"], "the next record processed")
    await run.stopped()

    assert [r.value for r in recorder.calls] == [b"broken"] * 3 + [b"fine"]
    [letter] = await read_topic(servers, dlq_topic, 1)
    headers = dict(letter.headers)
    assert (letter.key, letter.value) == (b"k", b"broken")
    assert headers["dlq_reason"] == b"processing_failed"
    assert headers["dlq_error"] == b"ValueError: boom second line"
    assert headers["dlq_original_offset"] == b"0"
    assert run.retries(topic) == 2
    assert run.count("dead_lettered", topic) == 1
    assert run.count("processed", topic) == 1
    assert await committed_offsets(servers, group) == {0: 2}


async def test_stop_finishes_the_record_in_hand_and_leaves_the_rest_uncommitted(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(v) for v in (b"a", b"slow", b"b", b"c")])
    entered, release = asyncio.Event(), asyncio.Event()

    async def block_on_slow(record: ConsumedRecord) -> None:
        if record.value == b"slow":
            entered.set()
            await release.wait()

    recorder = Recorder(block_on_slow)
    run = consumer_under_test(servers, topic, group, recorder).start()
    await asyncio.wait_for(entered.wait(), TIMEOUT_S)
    run.stop.set()
    assert run.task is not None
    done, _ = await asyncio.wait({run.task}, timeout=0.3)
    assert not done, "run() must wait for the handler in progress"
    release.set()
    assert await run.stopped() < 2.0

    assert recorder.values() == [b"a", b"slow"]
    assert await committed_offsets(servers, group) == {0: 2}

    successor_recorder = Recorder()
    successor = consumer_under_test(servers, topic, group, successor_recorder).start()
    await wait_until(lambda: len(successor_recorder.finished) == 2, "the unfinished records")
    await successor.stopped()
    assert successor_recorder.values() == [b"b", b"c"]


async def test_stop_while_retrying_returns_promptly_without_committing(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(b"stuck"), Outgoing(b"behind")])

    def always_transient(record: ConsumedRecord) -> None:
        raise TransientError("database unavailable")

    recorder = Recorder(always_transient)
    run = consumer_under_test(servers, topic, group, recorder, retry_max=0.1).start()
    await wait_until(lambda: run.retries(topic) >= 4, "four retries")
    assert await run.stopped() < 1.0

    assert {r.value for r in recorder.calls} == {b"stuck"}
    assert await committed_offsets(servers, group) == {}
    assert run.count("processed", topic) == 0


async def test_duplicate_delivery_is_committed_and_counted_as_duplicate(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(
        servers,
        topic,
        [
            Outgoing(b"event 1", headers=[("event_id", b"1")]),
            Outgoing(b"event 1 again", headers=[("event_id", b"1")]),
            Outgoing(b"event 2", headers=[("event_id", b"2")]),
        ],
    )
    inbox: set[bytes] = set()

    def deduplicate(record: ConsumedRecord) -> HandlingResult:
        event_id = dict(record.headers)["event_id"]
        if event_id in inbox:
            return HandlingResult.DUPLICATE
        inbox.add(event_id)
        return HandlingResult.PROCESSED

    recorder = Recorder(deduplicate)
    run = consumer_under_test(servers, topic, group, recorder).start()
    await wait_until(lambda: len(recorder.finished) == 3, "three records handled")
    await run.stopped()

    assert run.count("processed", topic) == 2
    assert run.count("duplicate", topic) == 1
    assert await committed_offsets(servers, group) == {0: 3}


async def test_unreachable_broker_at_start_is_retried_until_it_answers(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    proxy = GatedProxy(servers)
    recorder = Recorder()
    try:
        run = consumer_under_test(await proxy.start(), topic, group, recorder).start()
        await wait_until(lambda: proxy.refused >= 3, "three refused connection attempts")
        assert run.task is not None
        assert not run.task.done()
        assert run.consumer.status == "running"

        proxy.open = True
        await produce(servers, topic, [Outgoing(b"after the outage")])
        await wait_until(lambda: recorder.values() == [b"after the outage"], "the record")
        await run.stopped()
    finally:
        await proxy.close()
    assert await committed_offsets(servers, group) == {0: 1}


async def test_dead_letter_produce_failure_is_retried_and_nothing_is_committed(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(b"poison"), Outgoing(b"behind")])

    def always_poison(record: ConsumedRecord) -> None:
        raise PoisonMessage("schema_invalid", "data.class_id: field required")

    recorder = Recorder(always_poison)
    # A topic name Kafka rejects, so every dead-letter produce fails.
    run = consumer_under_test(
        servers, topic, group, recorder, dlq_topic="not a topic!", io_timeout_seconds=0.5
    ).start()
    await wait_until(lambda: run.retries(topic) >= 2, "two retries of the dead letter")
    await run.stopped()

    # The verdict stands: only the produce is retried, and the partition waits for it.
    assert [r.value for r in recorder.calls] == [b"poison"]
    assert await committed_offsets(servers, group) == {}
    assert run.count("dead_lettered", topic) == 0


async def test_long_retry_keeps_polling_so_the_group_keeps_the_member(
    kafka_bootstrap_servers: str,
    kafka_topic_factory: KafkaTopicFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory()
    group = unique_name("group")
    await produce(servers, topic, [Outgoing(b"first"), Outgoing(b"second")])
    first_call: list[float] = []

    def fail_for_two_seconds(record: ConsumedRecord) -> None:
        first_call.append(first_call[0] if first_call else time.monotonic())
        if record.value == b"first" and time.monotonic() - first_call[0] < 2.0:
            raise TransientError("database unavailable")

    caplog.set_level(logging.INFO, logger="aiokafka")
    recorder = Recorder(fail_for_two_seconds)
    # Retrying outlasts max_poll_interval: only polling during the backoff keeps the member in.
    run = consumer_under_test(
        servers, topic, group, recorder, max_poll_interval_ms=1000, retry_max=0.1
    ).start()
    await wait_until(lambda: len(recorder.finished) == 2, "both records processed")
    await run.stopped()

    joins = [r for r in caplog.records if r.getMessage().startswith(f"Joined group '{group}'")]
    assert len(joins) == 1
    assert recorder.values() == [b"first", b"second"]
    assert await committed_offsets(servers, group) == {0: 2}


async def test_partitions_moving_to_a_new_member_lose_no_record(
    kafka_bootstrap_servers: str, kafka_topic_factory: KafkaTopicFactory
) -> None:
    servers = kafka_bootstrap_servers
    topic = await kafka_topic_factory(num_partitions=2)
    group = unique_name("group")
    sent = [Outgoing(f"p{p}-{i}".encode(), partition=p) for i in range(20) for p in (0, 1)]
    await produce(servers, topic, sent)

    async def slowly(record: ConsumedRecord) -> None:
        await asyncio.sleep(0.05)

    first_recorder, second_recorder = Recorder(slowly), Recorder(slowly)
    first = consumer_under_test(servers, topic, group, first_recorder).start()
    await wait_until(lambda: len(first_recorder.finished) >= 5, "the first member under way")
    second = consumer_under_test(servers, topic, group, second_recorder).start()

    def everything_handled() -> bool:
        handled = set(first_recorder.values()) | set(second_recorder.values())
        return handled == {record.value for record in sent}

    await wait_until(everything_handled, "every record handled by one of the members")
    await asyncio.gather(first.stopped(), second.stopped())

    assert second_recorder.finished, "the rebalance gave the new member a partition"
    assert await committed_offsets(servers, group) == {0: 20, 1: 20}
