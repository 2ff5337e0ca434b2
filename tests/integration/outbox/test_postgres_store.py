"""PostgresOutboxStore: the claim rules of data-model.md §7.3, recording, stats and purging."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from huleedu_service_libs.outbox.postgres_store import HEADS_SQL, PostgresOutboxStore
from tests.integration.outbox.support import (
    insert,
    kafka_message,
    outbox_rows,
    redis_message,
)

pytestmark = pytest.mark.integration

TOPIC = "huleedu.class.created.v1"


async def _execute(engine: AsyncEngine, sql: str, **params: object) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), params)


async def _claimed_seqs(store: PostgresOutboxStore, destination: str = "kafka") -> list[int]:
    async with store.claim(destination, 100) as claim:
        return [record.seq for record in claim.records]


async def test_claim_takes_each_due_keys_pending_rows_in_seq_order(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    a1, b1, a2, c1, d1, e1 = await insert(
        clean_database,
        [
            kafka_message(TOPIC, "a"),
            kafka_message(TOPIC, "b"),
            kafka_message(TOPIC, "a"),
            kafka_message(TOPIC, "c"),
            kafka_message(TOPIC, "d"),
            kafka_message(TOPIC, "e"),
        ],
    )
    await insert(clean_database, [redis_message("teacher-1")])
    await _execute(
        clean_database,
        "UPDATE event_outbox SET next_attempt_at = now() + interval '1 hour' WHERE seq = :seq",
        seq=c1,
    )
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'published', published_at = now() WHERE seq = :seq",
        seq=d1,
    )

    assert await _claimed_seqs(store) == [a1, b1, a2, e1]


async def test_a_one_key_backlog_is_claimed_a_batch_at_a_time_up_to_its_first_row_not_due(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    seqs = await insert(clean_database, [kafka_message(TOPIC, "teacher")] * 250)
    await _execute(
        clean_database,
        "UPDATE event_outbox SET next_attempt_at = now() + interval '1 hour' WHERE seq = :seq",
        seq=seqs[150],
    )

    async with store.claim("kafka", 100) as claim:
        first = [record.seq for record in claim.records]
        for record in claim.records:
            await claim.mark_published(record)
    second = await _claimed_seqs(store)

    assert (first, second) == (seqs[:100], seqs[100:150])


async def test_heads_beyond_a_window_of_blocked_rows_are_still_claimed(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    # A head waiting an hour for its retry, 300 due rows of its key behind it (more than the
    # claim's window of due rows), then another key's row.
    blocked = await insert(clean_database, [kafka_message(TOPIC, "stuck")] * 301)
    [other] = await insert(clean_database, [kafka_message(TOPIC, "other")])
    await _execute(
        clean_database,
        "UPDATE event_outbox SET next_attempt_at = now() + interval '1 hour' WHERE seq = :seq",
        seq=blocked[0],
    )

    assert await _claimed_seqs(store) == [other]


async def test_a_second_claim_leaves_a_key_whose_run_the_first_holds(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    held = await insert(clean_database, [kafka_message(TOPIC, "a")] * 5)
    [free] = await insert(clean_database, [kafka_message(TOPIC, "b")])
    async with store.claim("kafka", 4) as first:
        # Two heads, then an equal share (1) of the room for each key's rows behind it.
        assert [record.seq for record in first.records] == [*held[:2], free]
        async with asyncio.timeout(5), store.claim("kafka", 100) as second:
            assert list(second.records) == []


async def test_claimed_record_carries_the_stored_row(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    message = kafka_message(TOPIC, "key-1")
    [seq] = await insert(clean_database, [message])

    async with store.claim("kafka", 10) as claim:
        [record] = claim.records

    assert (record.seq, record.destination, record.topic) == (seq, "kafka", TOPIC)
    assert (record.event_key, record.event_type, record.retry_count) == ("key-1", TOPIC, 0)
    assert record.event_data == message.event_data


async def test_claim_respects_the_limit(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    seqs = await insert(clean_database, [kafka_message(TOPIC, f"k{n}") for n in range(5)])
    async with store.claim("kafka", 2) as claim:
        assert [record.seq for record in claim.records] == seqs[:2]


async def test_a_second_claim_skips_locked_rows_and_their_keys(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    a1, b1, a2, c1 = await insert(
        clean_database,
        [
            kafka_message(TOPIC, "a"),
            kafka_message(TOPIC, "b"),
            kafka_message(TOPIC, "a"),
            kafka_message(TOPIC, "c"),
        ],
    )
    async with store.claim("kafka", 1) as first:
        assert [record.seq for record in first.records] == [a1]
        # a2 must wait for a1 even though a1 is locked, not pending-and-free.
        async with asyncio.timeout(5), store.claim("kafka", 100) as second:
            assert [record.seq for record in second.records] == [b1, c1]
    assert a2 not in (b1, c1)


async def test_published_rows_are_recorded_when_the_claim_commits(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    await insert(clean_database, [kafka_message(TOPIC, "a"), kafka_message(TOPIC, "b")])
    async with store.claim("kafka", 100) as claim:
        for record in claim.records:
            await claim.mark_published(record)

    rows = await outbox_rows(clean_database)
    assert [row["status"] for row in rows] == ["published", "published"]
    assert all(row["published_at"] >= row["created_at"] for row in rows)
    assert await _claimed_seqs(store) == []


async def test_a_claim_left_by_an_exception_records_nothing(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    await insert(clean_database, [kafka_message(TOPIC, "a")])

    async def publish_then_crash() -> None:
        async with store.claim("kafka", 100) as claim:
            await claim.mark_published(claim.records[0])
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError, match="crash"):
        await publish_then_crash()

    [row] = await outbox_rows(clean_database)
    assert (row["status"], row["published_at"]) == ("pending", None)


async def test_a_failure_counts_an_attempt_and_schedules_the_retry(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    await insert(clean_database, [kafka_message(TOPIC, "a"), kafka_message(TOPIC, "a")])
    before = datetime.now(UTC)
    async with store.claim("kafka", 100) as claim:
        record, _behind = claim.records
        await claim.mark_failed(record, error="x" * 1500, retry_delay_seconds=60, park=False)

    first, second = await outbox_rows(clean_database)
    assert (first["status"], first["retry_count"], first["failed_at"]) == ("pending", 1, None)
    assert first["last_error"] == "x" * 1000
    delay = (first["next_attempt_at"] - before).total_seconds()
    assert 59 < delay < 65
    # The failed row still holds back the later row of its key.
    async with store.claim("kafka", 100) as claim:
        assert claim.records == []
        assert claim.next_due_seconds is not None
        assert 55 < claim.next_due_seconds <= 60
    assert second["retry_count"] == 0


async def test_a_parked_row_is_failed_and_no_longer_blocks_its_key(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    _, later = await insert(clean_database, [kafka_message(TOPIC, "a"), kafka_message(TOPIC, "a")])
    async with store.claim("kafka", 100) as claim:
        await claim.mark_failed(claim.records[0], error="boom", retry_delay_seconds=1, park=True)

    parked = (await outbox_rows(clean_database))[0]
    assert (parked["status"], parked["retry_count"], parked["last_error"]) == ("failed", 1, "boom")
    assert parked["failed_at"] is not None
    assert await _claimed_seqs(store) == [later]


async def test_an_empty_outbox_reports_no_next_due_time(store: PostgresOutboxStore) -> None:
    async with store.claim("kafka", 100) as claim:
        assert (claim.records, claim.next_due_seconds) == ([], None)


async def test_stats_count_pending_and_failed_rows_per_destination(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    assert (await store.stats()).pending == 0
    await insert(
        clean_database,
        [kafka_message(TOPIC, "a"), kafka_message(TOPIC, "b"), redis_message("t1")],
    )
    await _execute(
        clean_database,
        "UPDATE event_outbox SET created_at = now() - interval '90 seconds' WHERE event_key = 'a'",
    )
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'failed', failed_at = now() WHERE event_key = 'b'",
    )

    stats = await store.stats()

    kafka, redis = stats.destinations["kafka"], stats.destinations["redis"]
    assert (kafka.pending, kafka.failed, redis.pending, redis.failed) == (1, 1, 1, 0)
    assert kafka.oldest_pending_age_seconds is not None
    assert 89 < kafka.oldest_pending_age_seconds < 120
    assert redis.oldest_pending_age_seconds is not None
    assert redis.oldest_pending_age_seconds < 30
    assert (stats.pending, stats.failed) == (2, 1)
    assert stats.oldest_pending_age_seconds == kafka.oldest_pending_age_seconds


async def test_requeue_makes_parked_rows_pending_and_due_with_a_fresh_budget(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    await insert(clean_database, [kafka_message(TOPIC, "a"), redis_message("t1")])
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'failed', failed_at = now(), retry_count = 20, "
        "next_attempt_at = now() + interval '1 day'",
    )

    assert await store.requeue_failed("redis") == 1
    assert await store.requeue_failed() == 1
    assert await store.requeue_failed() == 0

    rows = await outbox_rows(clean_database)
    assert {(row["status"], row["retry_count"], row["failed_at"]) for row in rows} == {
        ("pending", 0, None)
    }
    assert len(await _claimed_seqs(store, "kafka")) == 1


async def test_housekeeping_deletes_only_old_published_rows_in_chunks(
    clean_database: AsyncEngine,
) -> None:
    store = PostgresOutboxStore(clean_database, delete_chunk_rows=3)
    await insert(clean_database, [kafka_message(TOPIC, f"k{n}") for n in range(10)])
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'published', published_at = now() - interval '8 days' "
        "WHERE seq <= 7",
    )
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'published', published_at = now() WHERE seq = 8",
    )
    await _execute(
        clean_database,
        "UPDATE event_outbox SET status = 'failed', failed_at = now() - interval '9 days', "
        "created_at = now() - interval '9 days' WHERE seq = 9",
    )

    deleted = await store.delete_published_before(datetime.now(UTC) - timedelta(days=7))

    assert deleted == 7
    assert [row["seq"] for row in await outbox_rows(clean_database)] == [8, 9, 10]


async def test_housekeeping_deletes_old_processed_events(clean_database: AsyncEngine) -> None:
    store = PostgresOutboxStore(clean_database, delete_chunk_rows=2)
    for age_hours in (800, 750, 721, 10):
        await _execute(
            clean_database,
            "INSERT INTO processed_events (event_id, event_type, topic, kafka_partition, "
            "kafka_offset, processed_at) VALUES (:id, 't', 't', 0, 0, "
            "now() - make_interval(hours => :hours))",
            id=uuid4(),
            hours=age_hours,
        )

    deleted = await store.delete_processed_events_before(datetime.now(UTC) - timedelta(hours=720))

    assert deleted == 3
    async with clean_database.connect() as connection:
        left = (await connection.execute(text("SELECT count(*) FROM processed_events"))).scalar()
    assert left == 1


async def test_claim_query_is_served_by_the_partial_indexes(clean_database: AsyncEngine) -> None:
    # A realistic table: mostly published history, a few pending rows.
    await _execute(
        clean_database,
        """
        INSERT INTO event_outbox (id, aggregate_type, aggregate_id, event_type, topic,
                                  destination, event_key, event_data, status, published_at)
        SELECT gen_random_uuid(), 'class', 'k' || n, 't', 't', 'kafka', 'k' || (n % 500),
               '{}'::json, CASE WHEN n % 100 = 0 THEN 'pending' ELSE 'published' END,
               CASE WHEN n % 100 = 0 THEN NULL ELSE now() END
        FROM generate_series(1, 20000) AS n
        """,
    )
    async with clean_database.begin() as connection:
        await connection.execute(text("ANALYZE event_outbox"))
        plan = "\n".join(
            row[0]
            for row in await connection.execute(
                text("EXPLAIN " + HEADS_SQL),
                {"destination": "kafka", "window": 200, "limit": 100},
            )
        )

    assert "Seq Scan" not in plan, plan
    assert "ix_event_outbox_pending" in plan, plan


async def test_a_burst_after_a_quiet_analyze_is_claimed_through_the_indexes(
    store: PostgresOutboxStore, clean_database: AsyncEngine
) -> None:
    # The statistics say "nothing pending" (the last ANALYZE saw only published rows), then a
    # bulk import writes thousands: the moment a claim planned on statistics went wrong.
    await _execute(
        clean_database,
        """
        INSERT INTO event_outbox (id, aggregate_type, aggregate_id, event_type, topic,
                                  destination, event_key, event_data, status, published_at)
        SELECT gen_random_uuid(), 'class', 'h' || n, 't', 't', 'kafka', 'h' || n, '{}'::json,
               'published', now()
        FROM generate_series(1, 2000) AS n
        """,
    )
    await _execute(clean_database, "ANALYZE event_outbox")
    await _execute(
        clean_database,
        """
        INSERT INTO event_outbox (id, aggregate_type, aggregate_id, event_type, topic,
                                  destination, event_key, event_data, status)
        SELECT gen_random_uuid(), 'student', 's' || n, 't', 't', 'kafka', 's' || (n % 3000),
               '{}'::json, 'pending'
        FROM generate_series(1, 6000) AS n
        """,
    )
    async with clean_database.begin() as connection:
        plan = "\n".join(
            row[0]
            for row in await connection.execute(
                text("EXPLAIN " + HEADS_SQL),
                {"destination": "kafka", "window": 200, "limit": 100},
            )
        )
    first_row_probe = plan[plan.index("SubPlan") :]

    assert "Seq Scan" not in plan, plan
    assert "ix_event_outbox_pending_key" in first_row_probe, plan
    assert "event_key = " in first_row_probe, plan
    # And the claim itself: 100 heads of distinct keys, the earliest first.
    async with store.claim("kafka", 100) as claim:
        keys = [record.event_key for record in claim.records]
    assert keys == [f"s{n}" for n in range(1, 101)]
