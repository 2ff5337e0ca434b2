"""Outbox rows live and die with the unit of work's transaction; the trigger wakes relays."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import RowMapping, func, select

from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.models_db import classes, event_outbox
from huleedu_service_libs.outbox.message import Destination, OutboxMessage
from tests.fixtures.database import asyncpg_dsn
from tests.integration.db.builders import a_class

pytestmark = pytest.mark.integration


def a_message(key: str = "class-1", destination: Destination = "kafka") -> OutboxMessage:
    return OutboxMessage(
        destination=destination,
        aggregate_type="class",
        aggregate_id=key,
        event_type="huleedu.class.created.v1",
        topic="huleedu.class.created.v1",
        event_key=key,
        event_data={"event_id": "e1", "data": {"name": "9B åäö", "n": [1, 2]}},
    )


async def _outbox_rows(uow: PostgreSQLClassRepositoryImpl) -> list[RowMapping]:
    async with uow:
        result = await uow.connection.execute(select(event_outbox).order_by(event_outbox.c.seq))
        return list(result.mappings())


async def test_committed_outbox_rows_are_pending_in_write_order(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow:
        await uow.events.publish([a_message("a"), a_message("b")])
        await uow.events.publish([a_message("c", "redis")])
        await uow.events.publish([])
        await uow.commit()
    rows = await _outbox_rows(uow)
    assert [row["event_key"] for row in rows] == ["a", "b", "c"]
    assert [row["seq"] for row in rows] == sorted(row["seq"] for row in rows)
    first = rows[0]
    assert first["status"] == "pending"
    assert first["destination"] == "kafka"
    assert rows[2]["destination"] == "redis"
    assert (first["aggregate_type"], first["aggregate_id"]) == ("class", "a")
    assert first["event_data"] == {"event_id": "e1", "data": {"name": "9B åäö", "n": [1, 2]}}
    assert first["retry_count"] == 0
    assert first["published_at"] is None
    assert first["created_at"].tzinfo is not None
    assert first["next_attempt_at"] == first["created_at"]


async def test_one_add_of_many_messages_assigns_seq_in_the_given_order(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    # The relay publishes each key's rows in seq order, so seq must follow the written order.
    messages = [
        OutboxMessage(
            destination="redis" if n % 4 == 0 else "kafka",
            aggregate_type="student",
            aggregate_id=f"student-{n}",
            event_type="huleedu.class.student.created.v1",
            topic="huleedu.class.student.created.v1",
            # A handful of keys shared by many rows, interleaved, plus keys of their own.
            event_key=f"class-{n % 5}" if n % 2 else f"student-{n}",
            event_data={"n": n, "name": f'Åsa {n} "quoted"', "tags": ["a", None]},
        )
        for n in range(300)
    ]
    async with uow:
        await uow.events.publish(messages)
        await uow.commit()
    rows = await _outbox_rows(uow)
    assert [row["event_data"] for row in rows] == [m.event_data for m in messages]
    assert [row["event_key"] for row in rows] == [m.event_key for m in messages]
    assert [row["destination"] for row in rows] == [m.destination for m in messages]
    assert len({row["seq"] for row in rows}) == 300
    assert len({row["id"] for row in rows}) == 300
    assert {row["status"] for row in rows} == {"pending"}
    # Both timestamps are the database's now(): one transaction, one value.
    assert len({(row["created_at"], row["next_attempt_at"]) for row in rows}) == 1


async def test_leaving_without_commit_rolls_back_business_rows_and_outbox(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.events.publish([a_message()])

    async def fail_midway() -> None:
        async with uow:
            await uow.classes.add(a_class())
            await uow.events.publish([a_message()])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_midway()
    async with uow:
        counts = (
            await uow.connection.execute(
                select(
                    select(func.count()).select_from(classes).scalar_subquery(),
                    select(func.count()).select_from(event_outbox).scalar_subquery(),
                )
            )
        ).one()
    assert tuple(counts) == (0, 0)


async def test_unit_of_work_can_be_entered_again_after_use(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow:
        await uow.classes.add(a_class())
        await uow.commit()
    async with uow:
        page = await uow.classes.list_page("teacher-a", limit=5, offset=0)
    assert page.total == 1
    with pytest.raises(RuntimeError):
        _ = uow.connection


async def test_insert_notifies_every_relay_once_per_committed_statement(
    uow: PostgreSQLClassRepositoryImpl, migrated_database_url: str
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(migrated_database_url))

    async def payloads() -> list[str]:
        await asyncio.sleep(0.3)
        found = []
        while not received.empty():
            found.append(received.get_nowait())
        return sorted(found)

    try:
        await listener.add_listener(
            "event_outbox", lambda _conn, _pid, _channel, payload: received.put_nowait(payload)
        )
        async with uow:
            await uow.events.publish([a_message()])
            assert await payloads() == [], "NOTIFY must wait for the commit"
            await uow.commit()
        # A statement-level trigger cannot tell the destinations apart: both relays wake.
        assert await payloads() == ["kafka", "redis"]

        async with uow:
            await uow.events.publish([a_message(destination="redis")])
        # The rolled-back insert sent nothing.
        assert await payloads() == []
        async with uow:
            await uow.events.publish([a_message(f"k{n}", "redis") for n in range(3)])
            await uow.events.publish([a_message(f"j{n}", "redis") for n in range(3)])
            await uow.commit()
        # Identical payloads of one commit are folded into one.
        assert await payloads() == ["kafka", "redis"]
    finally:
        await listener.close()
