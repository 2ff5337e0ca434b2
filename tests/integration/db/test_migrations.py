"""The Alembic chain: reversible, at one head, identical to the ORM, with the fixed seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from class_management_service.implementations.postgres.migrations import (
    SchemaNotAtHeadError,
    alembic_config,
    assert_at_head,
    current_revision,
    head_revision,
    migrate,
    upgrade_to_head,
)
from class_management_service.models_db import Base
from common_core.courses import COURSES, CourseCode, Language

pytestmark = pytest.mark.integration

TABLES = {
    "alembic_version",
    "courses",
    "classes",
    "students",
    "class_student_association",
    "essay_student_associations",
    "processed_events",
    "event_outbox",
}

# What PostgreSQL itself says about the schema, so the comparison covers what autogenerate
# does not (CHECK constraints, partial-index predicates, DESC index keys, identity, enums).
CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, udt_name, character_maximum_length,
               is_nullable, column_default, is_identity, identity_generation
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'alembic_version'
        ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
          AND conrelid::regclass::text <> 'alembic_version'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
        ORDER BY 1, 2""",
    "enums": """
        SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1""",
}


async def _catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                name: [tuple(row) for row in await conn.execute(text(query))]
                for name, query in CATALOG_QUERIES.items()
            }
    finally:
        await engine.dispose()


async def _fetch(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(query))]
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    rows = await _fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in rows}


async def _leftovers(url: str) -> list[tuple[Any, ...]]:
    return await _fetch(
        url,
        """SELECT 'type', typname FROM pg_type
           WHERE typname IN ('course_code_enum', 'language_enum')
           UNION ALL
           SELECT 'function', proname FROM pg_proc WHERE proname = 'event_outbox_notify'""",
    )


def test_chain_has_a_single_head_and_starts_from_an_empty_database() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [head_revision()]
    bases = scripts.get_bases()
    assert len(bases) == 1
    base = scripts.get_revision(bases[0])
    assert base is not None
    assert base.down_revision is None


def test_alembic_config_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_upgrade_downgrade_upgrade_on_a_scratch_database(empty_database_url: str) -> None:
    await upgrade_to_head(empty_database_url)
    assert await _tables(empty_database_url) == TABLES
    migrated = await _catalog(empty_database_url)

    await migrate(empty_database_url, "downgrade", "base")
    assert await _tables(empty_database_url) == {"alembic_version"}
    assert await _leftovers(empty_database_url) == []

    await upgrade_to_head(empty_database_url)
    await upgrade_to_head(empty_database_url)  # idempotent at head
    assert await _catalog(empty_database_url) == migrated


async def test_every_revision_downgrades_one_step_at_a_time(empty_database_url: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = [script.revision for script in scripts.walk_revisions()]  # head first
    await upgrade_to_head(empty_database_url)
    engine = create_async_engine(empty_database_url)
    try:
        for expected in revisions:
            assert await current_revision(engine) == expected
            await migrate(empty_database_url, "downgrade", "-1")
        assert await current_revision(engine) is None
    finally:
        await engine.dispose()
    assert await _tables(empty_database_url) == {"alembic_version"}


async def test_autogenerate_finds_no_drift_between_orm_and_migrations(engine: AsyncEngine) -> None:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(compare) == []


async def test_orm_create_all_matches_the_migrated_catalog(
    migrated_database_url: str, empty_database_url: str
) -> None:
    scratch = create_async_engine(empty_database_url)
    try:
        async with scratch.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await scratch.dispose()
    assert await _catalog(empty_database_url) == await _catalog(migrated_database_url)


async def test_courses_are_seeded_with_fixed_ids_and_enums_match_the_contract(
    migrated_database_url: str,
) -> None:
    rows = await _fetch(
        migrated_database_url,
        "SELECT id, course_code::text, name, language::text FROM courses ORDER BY name",
    )
    expected = sorted(
        ((c.id, c.code.value, c.name, c.language.value) for c in COURSES), key=lambda r: r[2]
    )
    assert rows == expected
    assert rows[0][0] == UUID("c48e526d-99e0-4be9-8d79-0c3eec060b20")
    enums = dict((await _catalog(migrated_database_url))["enums"])
    assert enums == {
        "course_code_enum": [code.value for code in CourseCode],
        "language_enum": [language.value for language in Language],
    }


async def test_notify_trigger_is_installed(migrated_database_url: str) -> None:
    rows = await _fetch(
        migrated_database_url,
        """SELECT tgname, tgenabled::text, pg_get_triggerdef(t.oid)
           FROM pg_trigger t WHERE tgrelid = 'event_outbox'::regclass AND NOT tgisinternal""",
    )
    assert len(rows) == 1
    name, enabled, definition = rows[0]
    assert (name, enabled) == ("trg_event_outbox_notify", "O")
    # One call per INSERT statement, however many rows it writes.
    assert "AFTER INSERT ON public.event_outbox FOR EACH STATEMENT" in definition
    assert "EXECUTE FUNCTION event_outbox_notify()" in definition


async def test_assert_at_head_refuses_unmigrated_and_outdated_databases(
    empty_database_url: str,
) -> None:
    engine = create_async_engine(empty_database_url)
    try:
        with pytest.raises(SchemaNotAtHeadError, match="make migrate") as unmigrated:
            await assert_at_head(engine)
        assert (unmigrated.value.current, unmigrated.value.head) == (None, head_revision())

        await migrate(empty_database_url, "upgrade", "0001_courses")
        with pytest.raises(SchemaNotAtHeadError) as outdated:
            await assert_at_head(engine)
        assert outdated.value.current == "0001_courses"

        await upgrade_to_head(empty_database_url)
        await assert_at_head(engine)
        async with engine.connect() as conn:
            assert await current_revision(conn) == head_revision()
    finally:
        await engine.dispose()
