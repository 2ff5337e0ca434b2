"""Alembic environment: async engine from the service's URL, or a connection handed in by code."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from class_management_service.implementations.postgres.engine import asyncpg_url
from class_management_service.models_db import Base

URL_VARIABLE = "CLASS_MANAGEMENT_SERVICE_DATABASE_URL"

config = context.config
target_metadata = Base.metadata
# Programmatic callers (the service, tests) pass a live connection and keep their own logging.
connection: Connection | None = config.attributes.get("connection")

if connection is None and config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    raw = os.environ.get(URL_VARIABLE) or config.get_main_option("sqlalchemy.url")
    if not raw:
        raise SystemExit(f"{URL_VARIABLE} is not set; it names the database to migrate")
    return asyncpg_url(raw)


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(conn: Connection) -> None:
    # `alembic check` and autogenerate compare types and server defaults as well as structure.
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(do_run_migrations)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif connection is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
