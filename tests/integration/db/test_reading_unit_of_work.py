"""A reading unit of work runs its statements outside a transaction and cannot commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.engine import create_engine_for_url
from tests.integration.db.builders import a_class

pytestmark = pytest.mark.integration


async def _transaction_starts(connection: AsyncConnection) -> list[datetime]:
    """``now()`` (the start of the current transaction) seen by two separate statements."""
    first = (await connection.execute(text("SELECT now()"))).scalar_one()
    await asyncio.sleep(0.01)
    second = (await connection.execute(text("SELECT now()"))).scalar_one()
    return [first, second]


@pytest_asyncio.fixture(loop_scope="session")
async def one_connection_engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A pool of exactly one connection, so consecutive units reuse the same one."""
    engine = create_engine_for_url(migrated_database_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_each_statement_of_a_reading_unit_is_its_own_transaction(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow.reading():
        first, second = await _transaction_starts(uow.connection)
    assert first < second


async def test_statements_of_a_normal_unit_share_one_transaction(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow:
        first, second = await _transaction_starts(uow.connection)
    assert first == second


async def test_a_reading_unit_does_not_leave_autocommit_on_the_pooled_connection(
    one_connection_engine: AsyncEngine,
) -> None:
    uow = PostgreSQLClassRepositoryImpl(one_connection_engine)
    async with uow.reading():
        reading_pid = (await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar()
    async with uow:
        pid = (await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        first, second = await _transaction_starts(uow.connection)
    assert pid == reading_pid
    assert first == second


async def test_a_reading_unit_reads_committed_rows_and_cannot_commit(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()

    async with uow.reading() as reading:
        found = await reading.classes.get(school_class.id, owner_id=school_class.owner_id)
        with pytest.raises(RuntimeError, match="cannot commit"):
            await reading.commit()
    assert found is not None
    assert found.name == school_class.name


async def test_a_unit_of_work_cannot_be_read_while_it_is_open(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            async with uow.reading():
                pass
    async with uow.reading():
        with pytest.raises(RuntimeError, match="already open"):
            async with uow:
                pass
