"""Programmatic Alembic: upgrade a database to head and refuse to serve a stale schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alembic import command
from class_management_service.implementations.postgres.database_state import (
    State,
    database_state,
)
from class_management_service.implementations.postgres.engine import asyncpg_url
from class_management_service.implementations.postgres.takeover import (
    Interrupt,
    TakeoverError,
    TakeoverOptions,
    take_over,
)

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


@asynccontextmanager
async def _migration_transaction(url: str) -> AsyncIterator[AsyncConnection]:
    """One connection in a transaction that holds the migration lock (concurrent migrations
    wait for each other). The caller commits; leaving without a commit rolls back."""
    engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield conn
    finally:
        await engine.dispose()


async def migrate(url: str, direction: Direction, revision: str) -> None:
    """Move the database at ``url`` to ``revision`` in one transaction (DDL is transactional)."""
    async with _migration_transaction(url) as conn:
        await conn.run_sync(_apply, direction, revision)
        await conn.commit()


async def upgrade_to_head(url: str) -> None:
    """Apply every pending migration; concurrent callers wait for each other.

    Refuses (``TakeoverError``) a database that is not empty and not this service's: the
    previous implementation's is converted only by an explicit ``migrate`` (``migrate_database``).
    """
    await migrate_database(url, TakeoverOptions(), convert_previous=False)


def own_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(rev.revision for rev in script.walk_revisions())


TAKEOVER_ONLY_BY_MIGRATE = (
    "this database belongs to the previous Class Management Service (revision f8769bf24989);"
    " only an explicit `make migrate` (python -m class_management_service migrate) converts it,"
    ' after the steps in README "Replacing the previous service"; nothing was changed'
)


async def migrate_database(
    url: str,
    options: TakeoverOptions,
    *,
    convert_previous: bool = True,
    interrupt: Interrupt | None = None,
) -> list[str]:
    """``migrate``: this service's chain, after converting a previous-implementation database.

    One transaction, under the migration lock; a dry run rolls it back. Returns the report."""
    async with _migration_transaction(url) as conn:
        state = await database_state(conn, own_revisions())
        refusal = state.refusal()
        if refusal is not None:
            raise TakeoverError(refusal)
        if state.state is State.PREVIOUS_HEAD:
            if not convert_previous:
                raise TakeoverError(TAKEOVER_ONLY_BY_MIGRATE)
            report = await take_over(conn, options, upgrade=_upgrade_on, interrupt=interrupt)
            lines = ["converted the previous implementation's database:", *report.lines()]
        else:
            before = state.revisions
            await _upgrade_on(conn)
            lines = [f"applied this service's migrations (was at {', '.join(before) or 'none'})"]
        if options.dry_run:
            await conn.rollback()
            return ["dry run: nothing was changed", *lines]
        await conn.commit()
        return lines


async def _upgrade_on(connection: AsyncConnection) -> None:
    await connection.run_sync(_apply, "upgrade", "head")


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
