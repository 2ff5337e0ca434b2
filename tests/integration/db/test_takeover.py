"""`migrate` takes over the previous implementation's database (cutover.md §2) in place."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import pytest_asyncio

from class_management_service.implementations.postgres.migrations import (
    head_revision,
    migrate_database,
    upgrade_to_head,
)
from class_management_service.implementations.postgres.takeover import (
    EmailCollisionError,
    TakeoverError,
    TakeoverOptions,
)
from tests.fixtures.database import asyncpg_dsn
from tests.fixtures.previous_service import (
    NIL,
    SERVER_TIMEZONE,
    PreviousDatabase,
    previous_database,
)
from tests.integration.db.test_migrations import CATALOG_QUERIES

pytestmark = pytest.mark.integration


class Previous:
    def __init__(self, url: str, made: PreviousDatabase) -> None:
        self.url = url
        self.made = made

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    async def value(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0]


@pytest_asyncio.fixture(loop_scope="session")
async def previous(database_url: str) -> AsyncIterator[Previous]:
    async with previous_database(database_url) as (url, made):
        yield Previous(url, made)


async def _catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            name: [tuple(row) for row in await connection.fetch(sql)]
            for name, sql in CATALOG_QUERIES.items()
        }
    finally:
        await connection.close()


async def _snapshot(previous: Previous) -> dict[str, Any]:
    """The schema and every row of every table, to show that nothing changed."""
    tables = [
        r[0]
        for r in await previous.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
    ]
    rows = {t: sorted(map(str, await previous.fetch(f'SELECT * FROM "{t}"'))) for t in tables}
    return {"catalog": await _catalog(previous.url), "rows": rows}


async def _aware(previous: Previous, naive: str) -> datetime:
    """How PostgreSQL itself reads a wall-clock time of the old server's zone."""
    value = await previous.value(
        "SELECT $1::timestamp AT TIME ZONE $2", datetime.fromisoformat(naive), SERVER_TIMEZONE
    )
    assert isinstance(value, datetime)
    return value


async def test_migrate_converts_the_previous_database_in_place(
    previous: Previous, empty_database_url: str
) -> None:
    made = previous.made
    expected_created = {cid: await _aware(previous, c["naive"]) for cid, c in made.classes.items()}

    lines = await migrate_database(previous.url, TakeoverOptions())

    assert f"old timestamps read in time zone {SERVER_TIMEZONE}" in lines
    assert await previous.value("SELECT version_num FROM alembic_version") == head_revision()
    # Every teacher's classes: same ids, names, courses; creation times from the old zone.
    classes = await previous.fetch(
        "SELECT c.id::text, c.name, c.created_by_user_id, co.course_code::text, c.created_at"
        " FROM classes c JOIN courses co ON co.id = c.course_id"
    )
    assert {r[0]: (r[1], r[2], r[3]) for r in classes} == {
        cid: (c["name"], c["owner"], c["course"]) for cid, c in made.classes.items()
    }
    assert {r[0]: r[4] for r in classes} == expected_created
    # Students: e-mails lower-cased, legal names filled.
    students = {
        r[0]: (r[1], r[2])
        for r in await previous.fetch("SELECT id::text, email, legal_full_name FROM students")
    }
    assert students[made.ids["anna"]] == ("anna.lindqvist@example.com", "Anna Maria Lindqvist")
    assert students[made.ids["omar"]] == (None, "Omar Haddad")
    assert students[made.ids["bo_student"]][0] == "nils@example.se"
    # Enrolments: the duplicate is gone.
    enrolled = await previous.fetch(
        "SELECT student_id::text FROM class_student_association WHERE class_id = $1::uuid",
        made.ids["astrid_class"],
    )
    assert sorted(r[0] for r in enrolled) == sorted(
        made.ids[k] for k in ("anna", "omar", "lea", "placeholder")
    )
    # Associations.
    rows = {
        r[0]: r[1:]
        for r in await previous.fetch(
            "SELECT essay_id::text, validation_status, student_id::text,"
            " suggested_student_id::text, validation_method, validated_by"
            " FROM essay_student_associations"
        )
    }
    ids = made.ids
    assert rows[ids["overdue"]] == ("pending_validation", ids["anna"], ids["anna"], None, None)
    assert rows[ids["recent"]] == ("pending_validation", ids["omar"], ids["omar"], None, None)
    assert rows[ids["timeout_kept"]] == (
        "timeout_confirmed",
        ids["lea"],
        ids["lea"],
        "timeout",
        "SYSTEM_TIMEOUT",
    )
    assert rows[ids["timeout_unknown"]] == (
        "timeout_confirmed",
        ids["placeholder"],
        None,
        "timeout",
        "SYSTEM_TIMEOUT",
    )
    assert rows[ids["teacher_confirmed"]] == (
        "confirmed",
        ids["anna"],
        ids["anna"],
        "human",
        "unknown",
    )
    assert rows[ids["teacher_rejected"]] == ("rejected", None, ids["lea"], "human", "unknown")
    # The outbox: pending previous rows as pending Kafka rows, keyed by aggregate, in order.
    outbox = await previous.fetch(
        "SELECT topic, event_key, aggregate_type, status, event_data::text, retry_count"
        " FROM event_outbox ORDER BY seq"
    )
    assert [(r[0], r[3]) for r in outbox] == [
        ("huleedu.class.created.v1", "pending"),
        ("huleedu.class.student.created.v1", "pending"),
        ("huleedu.class.student.associations.confirmed.v1", "pending"),
        ("huleedu.class.created.v1", "failed"),
        ("huleedu.class.updated.v1", "pending"),
        ("huleedu.class.updated.v1", "pending"),
    ]
    envelopes = [json.loads(r[4]) for r in outbox]
    originals = [row["envelope"] for row in made.pending_outbox]
    assert [r[1] for r in outbox] == [
        originals[0]["data"]["class_id"],
        ids["anna"],
        ids["pending_batch"],
        originals[3]["data"]["class_id"],
        originals[0]["data"]["class_id"],
        originals[0]["data"]["class_id"],
    ]
    assert [r[2] for r in outbox] == ["class", "student", "batch", "class", "class", "class"]
    assert [e["data"]["class_designation"][-5:] for e in envelopes[4:]] == ["rev 1", "rev 2"]
    for stored, original in zip(envelopes, originals, strict=True):
        assert "topic" not in stored
        assert stored["event_timestamp"] == original["event_timestamp"]
        assert stored["correlation_id"] == original["correlation_id"]
    assert envelopes[0]["event_id"] == originals[0]["event_id"]
    assert envelopes[1]["data"]["student_email"] == "anna.lindqvist@example.com"
    assert envelopes[2]["event_id"] != NIL
    # The converted schema is a freshly migrated one, item by item.
    await upgrade_to_head(empty_database_url)
    assert await _catalog(previous.url) == await _catalog(empty_database_url)


async def test_dry_run_reports_and_changes_nothing(previous: Previous) -> None:
    before = await _snapshot(previous)

    lines = await migrate_database(previous.url, TakeoverOptions(dry_run=True))

    assert lines[0] == "dry run: nothing was changed"
    assert "classes: 6" in lines
    assert "duplicate enrolments removed: 1" in lines
    assert "teacher confirmations stored from published events: 1" in lines
    assert "outbox rows pending for Kafka: 5" in lines
    assert "event entries skipped: 1" in lines
    listed = [line for line in lines if line.startswith("listed:")]
    assert any(
        "5f0e3d2c-1b0a-4e9f-8d7c-6b5a4f3e2d1c" in line and "no such essay" in line
        for line in listed
    )
    # The pending batch's only event counts no rejection: its two pending essays are for review.
    ids = previous.made.ids
    assert any(
        ids["pending_batch"] in line and ids["overdue"] in line and ids["recent"] in line
        for line in listed
    )
    assert await _snapshot(previous) == before


async def test_colliding_emails_stop_migrate_listing_both_students(previous: Previous) -> None:
    older = await previous.value("SELECT id::text FROM students WHERE first_name = 'Lea'")
    newer = "7d3c0f59-1b3c-4c43-9d2e-5b8f6f0d9a11"
    await previous.fetch(
        "INSERT INTO students VALUES ($1::uuid, 'Lea', 'Berg', NULL, 'Lea.Berg@Example.com',"
        " 'teacher-astrid', '2025-11-30 10:00:00', '2025-11-30 10:00:00')",
        newer,
    )
    before = await _snapshot(previous)
    planned = await migrate_database(previous.url, TakeoverOptions(dry_run=True))
    assert "e-mail collisions after lower-casing: 1" in planned
    assert any(older in line and newer in line for line in planned if line.startswith("listed:"))

    with pytest.raises(EmailCollisionError) as refused:
        await migrate_database(previous.url, TakeoverOptions())

    assert older in str(refused.value)
    assert newer in str(refused.value)
    assert await _snapshot(previous) == before

    lines = await migrate_database(previous.url, TakeoverOptions(lowercase_collisions="suffix"))

    emails = dict(
        await previous.fetch("SELECT id::text, email FROM students WHERE first_name = 'Lea'")
    )
    assert emails == {newer: "lea.berg@example.com", older: None}
    assert any(older in line and newer in line for line in lines if line.startswith("listed:"))


async def test_a_failure_mid_conversion_changes_nothing_and_a_second_run_completes(
    previous: Previous,
) -> None:
    before = await _snapshot(previous)

    def fail_after_students(step: str) -> None:
        if step == "students_copied":
            raise RuntimeError("injected failure mid-conversion")

    with pytest.raises(RuntimeError, match="injected"):
        await migrate_database(previous.url, TakeoverOptions(), interrupt=fail_after_students)

    assert await _snapshot(previous) == before
    await migrate_database(previous.url, TakeoverOptions())
    assert await previous.value("SELECT count(*) FROM classes") == 6


@pytest.mark.parametrize("revision", ["20ba9223a723", "59d16918f933"])
async def test_an_older_previous_revision_is_refused(previous: Previous, revision: str) -> None:
    await previous.fetch("UPDATE alembic_version SET version_num = $1", revision)
    before = await _snapshot(previous)

    with pytest.raises(TakeoverError, match="bring the previous service to its head first"):
        await migrate_database(previous.url, TakeoverOptions())

    assert await _snapshot(previous) == before


async def test_a_foreign_database_is_refused(empty_database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        await connection.execute("CREATE TABLE invoices (id int PRIMARY KEY)")
    finally:
        await connection.close()

    with pytest.raises(TakeoverError, match="refusing to migrate it; nothing was changed"):
        await migrate_database(empty_database_url, TakeoverOptions())


async def test_the_service_and_make_run_never_convert_it(previous: Previous) -> None:
    with pytest.raises(TakeoverError, match="only an explicit `make migrate`"):
        await migrate_database(previous.url, TakeoverOptions(), convert_previous=False)
    assert await previous.value("SELECT version_num FROM alembic_version") == "f8769bf24989"


async def test_the_cli_dry_run_reports_and_make_runs_first_step_refuses(previous: Previous) -> None:
    from tests.e2e.operations_support import run_cli

    code, out, err = await run_cli(
        "migrate", "--dry-run", cwd=Path.cwd(), DATABASE_URL=previous.url
    )
    assert code == 0, err
    assert out.startswith("dry run: nothing was changed")
    assert "old timestamps read in time zone Europe/Stockholm" in out

    code, out, err = await run_cli(
        "migrate", "--before-serve", cwd=Path.cwd(), DATABASE_URL=previous.url
    )
    assert code == 1
    assert "only an explicit `make migrate`" in err
    assert 'README "Replacing the previous service"' in err
    assert await previous.value("SELECT version_num FROM alembic_version") == "f8769bf24989"


async def test_old_timezone_overrides_the_databases_own(previous: Previous) -> None:
    made = previous.made
    naive = {cid: datetime.fromisoformat(c["naive"]) for cid, c in made.classes.items()}

    lines = await migrate_database(previous.url, TakeoverOptions(old_timezone="UTC"))

    assert "old timestamps read in time zone UTC" in lines
    created = dict(await previous.fetch("SELECT id::text, created_at FROM classes"))
    assert {cid: value.replace(tzinfo=None) for cid, value in created.items()} == naive


async def test_an_unknown_old_timezone_is_refused(previous: Previous) -> None:
    with pytest.raises(TakeoverError, match="unknown time zone 'Mars/Olympus'"):
        await migrate_database(previous.url, TakeoverOptions(old_timezone="Mars/Olympus"))
    assert await previous.value("SELECT version_num FROM alembic_version") == "f8769bf24989"
