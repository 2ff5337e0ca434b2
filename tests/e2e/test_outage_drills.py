"""Outage drills on the real servers, with the service as its own process (its CPU and its log
are measured from ``/proc`` and from what it wrote): a long Kafka outage under load, a crash
with a backlog, and a database that stops answering without refusing.

Each drill prints its figures; the bounds are resource bounds with a wide margin, not timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from class_management_service.implementations.postgres.migrations import upgrade_to_head
from common_core.topics import (
    BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC,
    CLASS_CREATED_TOPIC,
    CLASS_UPDATED_TOPIC,
)
from tests.e2e.matching_fixtures import TopicWatch, ensure_topics, start_group_near_end
from tests.e2e.operations_support import (
    TEACHER,
    eventually,
    running,
    services_script,
)
from tests.e2e.outage_support import (
    StallingProxy,
    SteadyWrites,
    Window,
    appended,
    watch_topics,
)
from tests.fixtures.database import scratch_database

pytestmark = pytest.mark.integration

CLASS_TOPICS = (CLASS_CREATED_TOPIC, CLASS_UPDATED_TOPIC)
KAFKA_OUTAGE_SECONDS = 90.0  # longer than the producer's 30 s delivery timeout
BASELINE_SECONDS = 20.0
UNITS_PER_SECOND = 3.0  # 9 requests/s: a create and two renames per unit
CPU_MARGIN_CORES = 0.10
MAX_OUTAGE_LOG_LINES = 200


@pytest_asyncio.fixture(loop_scope="session")
async def drill_database(database_url: str) -> AsyncIterator[str]:
    """A database of the drill's own, so every outbox row in it is the drill's."""
    async with scratch_database(database_url, prefix="cms_drill") as url:
        await upgrade_to_head(url)
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def drill_engine(drill_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(drill_database, pool_size=2, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql))).scalar_one()


def _kafka_address(bootstrap_servers: str) -> tuple[str, int]:
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    return host, int(port)


async def _group_at_log_end(bootstrap_servers: str) -> str:
    """A consumer group of the drill's that starts at the suggestion topic's end: the service
    replays no earlier test's records while its CPU and log are measured."""
    await ensure_topics(bootstrap_servers, [BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC, *CLASS_TOPICS])
    group = f"cms-drill-{uuid.uuid4().hex[:8]}"
    await start_group_near_end(bootstrap_servers, group, BATCH_AUTHOR_MATCHES_SUGGESTED_TOPIC, 0)
    return group


def _kafka_settings(database_url: str, bootstrap_servers: str, group: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_CONSUMER_GROUP_ID": group,
        "LOG_FORMAT": "json",
        "ASSOCIATION_MONITOR_ENABLED": "false",
    }


async def _expected_kafka_events(engine: AsyncEngine) -> dict[str, int]:
    """event_id → seq of every Kafka outbox row the drill's service wrote."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT event_data->>'event_id', seq FROM event_outbox"
                " WHERE destination = 'kafka' AND topic IN ('huleedu.class.created.v1',"
                " 'huleedu.class.updated.v1')"
            )
        )
        return {event_id: seq for event_id, seq in rows}


async def _all_kafka_rows_published(engine: AsyncEngine) -> bool:
    pending = await _scalar(
        engine,
        "SELECT count(*) FROM event_outbox WHERE destination = 'kafka' AND status <> 'published'",
    )
    return bool(pending == 0)


@dataclass(frozen=True)
class Received:
    topic: str
    offset: int
    event_id: str
    envelope: dict[str, Any]


async def _received(watches: list[TopicWatch]) -> list[Received]:
    records = await appended(watches)
    return [
        Received(
            record.topic,
            record.offset,
            {name: value.decode() for name, value in record.headers}["event_id"],
            json.loads(record.value),
        )
        for record in records
    ]


def _delivery(records: list[Received], expected: dict[str, int]) -> dict[str, int]:
    seen = Counter(r.event_id for r in records if r.event_id in expected)
    return {
        "expected": len(expected),
        "seen": len(seen),
        "duplicated": sum(count - 1 for count in seen.values()),
        "lost": len(set(expected) - set(seen)),
    }


async def test_a_90_second_kafka_outage_under_load_costs_little_and_loses_nothing(
    tmp_path: Path, drill_database: str, drill_engine: AsyncEngine, kafka_bootstrap_servers: str
) -> None:
    group = await _group_at_log_end(kafka_bootstrap_servers)
    watches = await watch_topics(kafka_bootstrap_servers, CLASS_TOPICS)
    settings = _kafka_settings(drill_database, kafka_bootstrap_servers, group)
    async with running(tmp_path, "kafka-drill", **settings) as service:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            stop = asyncio.Event()
            load = SteadyWrites(client, UNITS_PER_SECOND, "Drill")
            writer = asyncio.create_task(load.run(stop))
            try:
                await asyncio.sleep(3)  # the relay's producer is live before the baseline
                baseline = Window(service)
                baseline.start()
                await asyncio.sleep(BASELINE_SECONDS)
                baseline.stop()

                await services_script("down", "kafka", _kafka_address(kafka_bootstrap_servers))
                outage = Window(service)
                outage.start()
                await asyncio.sleep(KAFKA_OUTAGE_SECONDS)
                outage.stop()
                await services_script("up", "kafka", _kafka_address(kafka_bootstrap_servers))
                up_at = time.monotonic()
            finally:
                stop.set()
                await writer
        await eventually(
            lambda: _all_kafka_rows_published(drill_engine),
            "every Kafka row published after the broker's return",
            within=240,
        )
        recovered = time.monotonic() - up_at
        assert (
            await _scalar(drill_engine, "SELECT count(*) FROM event_outbox WHERE status = 'failed'")
            == 0
        )

    expected = await _expected_kafka_events(drill_engine)
    records = await _received(watches)
    delivery = _delivery(records, expected)
    noise = outage.lines_besides_access_log()
    by_event = Counter(str(line.get("event"))[:60] for line in noise)
    print(
        f"\nKafka drill: {load.requests} requests, {len(load.failures)} non-2xx; events {delivery};"
        f" CPU {baseline.cores:.3f} cores with Kafka up, {outage.cores:.3f} during the"
        f" {outage.wall:.0f} s outage ({outage.cpu:.1f} s CPU); {len(noise)} log lines besides"
        f" the access log ({by_event.most_common(6)}); all published {recovered:.1f} s after up"
    )

    assert load.failures == []
    assert delivery["lost"] == 0
    assert delivery["seen"] == delivery["expected"]
    assert outage.cores - baseline.cores <= CPU_MARGIN_CORES
    assert len(noise) < MAX_OUTAGE_LOG_LINES, by_event.most_common(10)
    # Per class, the renames arrive in the order they were made (first copies).
    names: dict[str, list[str]] = {}
    first_seen: set[str] = set()
    for record in sorted(records, key=lambda r: r.offset):
        event_id = record.event_id
        if (
            record.topic != CLASS_UPDATED_TOPIC
            or event_id not in expected
            or event_id in first_seen
        ):
            continue
        first_seen.add(event_id)
        data = record.envelope["data"]
        names.setdefault(data["class_id"], []).append(data["class_designation"])
    for written in load.written:
        assert names.get(written.class_id, []) == written.names[1:], written.class_id


async def test_a_backlog_written_while_kafka_is_down_survives_a_sigkill(
    tmp_path: Path, drill_database: str, drill_engine: AsyncEngine, kafka_bootstrap_servers: str
) -> None:
    group = await _group_at_log_end(kafka_bootstrap_servers)
    watches = await watch_topics(kafka_bootstrap_servers, CLASS_TOPICS)
    settings = _kafka_settings(drill_database, kafka_bootstrap_servers, group)
    address = _kafka_address(kafka_bootstrap_servers)
    written = 0
    async with running(tmp_path, "crash-first", **settings) as first:
        await services_script("down", "kafka", address)
        try:
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
                gate = asyncio.Semaphore(20)

                async def create(n: int) -> int:
                    async with gate:
                        response = await client.post(
                            "/v1/classes",
                            json={"name": f"Backlog {n:04d}", "course_codes": ["SV3"]},
                            headers={"X-User-ID": TEACHER},
                        )
                        return response.status_code

                statuses = await asyncio.gather(*(create(n) for n in range(1000)))
            written = statuses.count(201)
            assert written == 1000, Counter(statuses)
            os.kill(first.service_pid(), signal.SIGKILL)
            await first.process.wait()
        finally:
            await services_script("up", "kafka", address)
    pending = await _scalar(
        drill_engine,
        "SELECT count(*) FROM event_outbox WHERE destination = 'kafka' AND status = 'pending'",
    )
    assert pending >= 1000

    restarted_at = time.monotonic()
    async with running(tmp_path, "crash-second", **settings):
        await eventually(
            lambda: _all_kafka_rows_published(drill_engine),
            "the backlog published by the new process",
            within=180,
        )
    delivered_in = time.monotonic() - restarted_at
    expected = await _expected_kafka_events(drill_engine)
    records = await _received(watches)
    delivery = _delivery(records, expected)
    print(
        f"\nCrash drill: {written} writes accepted with Kafka down, SIGKILL; events {delivery};"
        f" all published {delivered_in:.1f} s after the new process started"
    )
    assert delivery["expected"] == 1000
    assert delivery["lost"] == 0


ANSWER_WITHIN_SECONDS = 17.0  # connect 5 s + pre-ping 5 s, or a command's 10 s, plus margin
PARTITION_SECONDS = 45.0


async def test_a_partitioned_database_answers_502_within_the_timeouts_and_recovers(
    tmp_path: Path, drill_database: str
) -> None:
    target = make_url(drill_database)
    proxy = StallingProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.open()
    proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        async with running(
            tmp_path, "partition", DATABASE_URL=proxied, LOG_FORMAT="json"
        ) as service:
            pid = service.service_pid()
            async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
                headers = {"X-User-ID": TEACHER}
                warm = await client.post(
                    "/v1/classes",
                    json={"name": "Before", "course_codes": ["ENG6"]},
                    headers=headers,
                )
                assert warm.status_code == 201
                class_id = warm.json()["id"]

                answers: list[tuple[float, int, dict[str, Any]]] = []

                async def timed(request: Any) -> None:
                    started = time.monotonic()
                    response = await request
                    answers.append(
                        (time.monotonic() - started, response.status_code, response.json())
                    )

                proxy.stall()
                stalled_at = time.monotonic()
                calls = []
                while time.monotonic() - stalled_at < PARTITION_SECONDS - ANSWER_WITHIN_SECONDS:
                    calls.append(
                        asyncio.create_task(
                            timed(client.get(f"/v1/classes/{class_id}", headers=headers))
                        )
                    )
                    calls.append(
                        asyncio.create_task(
                            timed(
                                client.post(
                                    "/v1/classes",
                                    json={"name": "During", "course_codes": ["ENG6"]},
                                    headers=headers,
                                )
                            )
                        )
                    )
                    await asyncio.sleep(1.0)
                await asyncio.gather(*calls)
                health_during = await client.get("/healthz")
                await asyncio.sleep(max(0.0, PARTITION_SECONDS - (time.monotonic() - stalled_at)))
                proxy.resume()
                resumed_at = time.monotonic()

                async def serving_again() -> bool:
                    response = await client.post(
                        "/v1/classes",
                        json={"name": "After", "course_codes": ["ENG6"]},
                        headers=headers,
                    )
                    return response.status_code == 201

                await eventually(serving_again, "a write after the partition healed", within=60)
                recovered_in = time.monotonic() - resumed_at
                health_after = await client.get("/healthz")
            assert service.service_pid() == pid, "the service restarted"
    finally:
        await proxy.aclose()

    slowest = max(seconds for seconds, _, _ in answers)
    codes = Counter(status for _, status, _ in answers)
    print(
        f"\nPartition drill: {len(answers)} requests during the {PARTITION_SECONDS:.0f} s"
        f" partition, statuses {dict(codes)}, slowest answer {slowest:.1f} s;"
        f" /healthz {health_during.status_code} during, {health_after.status_code} after;"
        f" writes again {recovered_in:.1f} s after the partition healed"
    )
    assert slowest <= ANSWER_WITHIN_SECONDS
    assert set(codes) == {502}
    for _, _, body in answers:
        error = body["error"]
        assert error["code"] == "EXTERNAL_SERVICE_ERROR"
        assert error["details"] == {"reason": "dependency_unavailable", "dependency": "database"}
    assert health_during.status_code == 503
    assert health_during.json()["dependencies"]["database"]["status"] == "unhealthy"
    assert health_after.status_code == 200
