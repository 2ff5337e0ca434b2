"""Programmatic Alembic: upgrade a database to head and refuse to serve a stale schema."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alembic import command
from class_management_service.implementations.postgres.engine import asyncpg_url

# services/class_management_service/implementations/postgres/migrations.py -> repository root
REPO_ROOT = Path(__file__).resolve().parents[4]
ALEMBIC_INI = REPO_ROOT / "alembic.ini"
Direction = Literal["upgrade", "downgrade"]
# Serialises concurrent upgrades (several workers or replicas starting at once); any constant
# that no other code uses as an advisory lock key will do.
_LOCK_KEY = 0x434D535F4D494752  # "CMS_MIGR"


class SchemaNotAtHeadError(RuntimeError):
    """The database is not at the migration head; the service must not start against it."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at revision {current or '<none>'} but this code requires "
            f"{head}; apply the migrations first (`make migrate`)"
        )


def alembic_config() -> Config:
    """The repository's Alembic configuration, independent of the working directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    # In-process callers already import the service; prepending paths would grow sys.path per call.
    config.set_main_option("prepend_sys_path", "")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the Alembic script directory has no head revision")
    return head


def _apply(connection: Connection, direction: Direction, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def migrate(url: str, direction: Direction, revision: str) -> None:
    """Move the database at ``url`` to ``revision`` in one transaction (DDL is transactional)."""
    engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            await conn.run_sync(_apply, direction, revision)
    finally:
        await engine.dispose()


async def upgrade_to_head(url: str) -> None:
    """Apply every pending migration; concurrent callers wait for each other."""
    await migrate(url, "upgrade", "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(bind: AsyncEngine | AsyncConnection) -> str | None:
    """The revision recorded in ``alembic_version``; ``None`` for an un-migrated database."""
    if isinstance(bind, AsyncConnection):
        return await bind.run_sync(_current)
    async with bind.connect() as conn:
        return await conn.run_sync(_current)


async def assert_at_head(engine: AsyncEngine) -> None:
    """Raise ``SchemaNotAtHeadError`` unless the database is exactly at the script head."""
    head = head_revision()
    current = await current_revision(engine)
    if current != head:
        raise SchemaNotAtHeadError(current, head)
