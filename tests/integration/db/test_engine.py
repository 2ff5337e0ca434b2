"""The process engine: pool settings come from Settings and dead connections are replaced."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.config import Settings
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.engine import create_engine

pytestmark = pytest.mark.integration


def _settings(url: str, **overrides: object) -> Settings:
    return Settings(database_url=SecretStr(url), **overrides)  # type: ignore[arg-type]


async def test_pool_is_sized_from_settings(migrated_database_url: str) -> None:
    engine = create_engine(
        _settings(
            migrated_database_url,
            db_pool_size=3,
            db_max_overflow=4,
            db_pool_recycle_seconds=0,
        )
    )
    try:
        pool = engine.sync_engine.pool
        assert pool.size() == 3  # type: ignore[attr-defined]
        assert pool._max_overflow == 4  # type: ignore[attr-defined]
        assert pool._recycle == -1
    finally:
        await engine.dispose()


async def test_pre_ping_replaces_connections_the_server_closed(
    migrated_database_url: str, engine: AsyncEngine
) -> None:
    app_engine = create_engine(_settings(migrated_database_url, db_pool_size=1))
    uow = PostgreSQLClassRepositoryImpl(app_engine)
    try:
        async with uow:
            pid = (await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with uow:
            new_pid = (await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            page = await uow.classes.list_page("nobody", limit=1, offset=0)
        assert new_pid != pid
        assert page.total == 0
    finally:
        await app_engine.dispose()


async def test_missing_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL"):
        create_engine(Settings(database_url=None))
