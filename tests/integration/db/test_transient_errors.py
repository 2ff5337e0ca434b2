"""The consumer's transient-error predicate on real PostgreSQL errors."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.transient import is_transient
from class_management_service.protocols import ProcessedEvent
from tests.integration.db.builders import T0, a_class

pytestmark = pytest.mark.integration


async def _error_of(uow: PostgreSQLClassRepositoryImpl, sql: str) -> DBAPIError:
    async with uow:
        with pytest.raises(DBAPIError) as caught:
            await uow.connection.execute(text(sql))
    return caught.value


@pytest.mark.parametrize(("sqlstate", "transient"), [("40001", True), ("40P01", True)])
async def test_serialization_failures_and_deadlocks_are_transient(
    uow: PostgreSQLClassRepositoryImpl, sqlstate: str, transient: bool
) -> None:
    sql = f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$"
    assert is_transient(await _error_of(uow, sql)) is transient


async def test_programming_errors_are_not_transient(uow: PostgreSQLClassRepositoryImpl) -> None:
    assert not is_transient(await _error_of(uow, "SELECT 1/0"))
    assert not is_transient(await _error_of(uow, "SELECT * FROM no_such_table"))
    assert not is_transient(ValueError("bug"))


async def test_concurrent_duplicate_keys_are_transient_but_other_violations_are_not(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()
    async with uow:
        with pytest.raises(DBAPIError) as caught:
            await uow.classes.add(school_class)
    assert not is_transient(caught.value)

    event = ProcessedEvent(school_class.id, "t", "t", 0, 0, None, T0)
    duplicate = text(
        "INSERT INTO processed_events (event_id, event_type, topic, kafka_partition,"
        " kafka_offset, processed_at) VALUES (:id, 't', 't', 0, 0, now())"
    )
    async with uow:
        assert await uow.inbox.add(event)
        await uow.commit()
    async with uow:
        with pytest.raises(DBAPIError) as caught:
            await uow.connection.execute(duplicate, {"id": event.event_id})
    assert is_transient(caught.value)


def test_connection_failures_are_transient() -> None:
    assert is_transient(ConnectionRefusedError("database down"))
    assert is_transient(TimeoutError())
