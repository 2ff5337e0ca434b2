"""The takeover of the previous implementation's database (cutover.md §2), in one transaction.

The previous tables, with their indexes, constraints and enum types, move aside into a schema
of their own; this service's Alembic chain then builds its schema in ``public`` exactly as on an
empty database (so the converted schema equals a freshly migrated one by construction); the
rows are copied over with the conversions of §2; the old schema is dropped. The caller owns the
transaction: a failure anywhere, or ``--dry-run``, rolls all of it back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from class_management_service.implementations.postgres.takeover_associations import (
    apply_previous_decisions,
)
from class_management_service.implementations.postgres.takeover_outbox import copy_pending_outbox

PREVIOUS_SCHEMA = "cms_previous"
PREVIOUS_TABLES = (
    "courses",
    "classes",
    "students",
    "class_student_association",
    "essay_student_associations",
    "event_outbox",
    "alembic_version",
)
PREVIOUS_TYPES = ("course_code_enum", "language_enum")
Collisions = Literal["stop", "suffix"]


@dataclass
class TakeoverOptions:
    old_timezone: str | None = None
    lowercase_collisions: Collisions = "stop"
    dry_run: bool = False


@dataclass
class TakeoverReport:
    """Row counts per step, and every id the school should look at ("listed")."""

    timezone: str
    counts: dict[str, int] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"old timestamps read in time zone {self.timezone}"]
        out += [f"{name}: {count}" for name, count in self.counts.items()]
        out += [f"listed: {item}" for item in self.listed]
        return out


class TakeoverError(RuntimeError):
    """The conversion cannot proceed; nothing was changed."""


class EmailCollisionError(TakeoverError):
    def __init__(self, collisions: list[tuple[str, str, list[str]]]) -> None:
        self.collisions = collisions
        described = "; ".join(
            f"teacher {owner}, e-mail {email}: students {', '.join(ids)}"
            for owner, email, ids in collisions
        )
        super().__init__(
            "lower-casing e-mails would give one teacher two students with the same e-mail: "
            f"{described}. Resolve them in the previous service, or run migrate with "
            "--lowercase-collisions=suffix (keeps the newer student's e-mail and clears the "
            "older one's); nothing was changed"
        )


Upgrade = Callable[[AsyncConnection], Awaitable[None]]
Interrupt = Callable[[str], None]


async def take_over(
    connection: AsyncConnection,
    options: TakeoverOptions,
    *,
    upgrade: Upgrade,
    interrupt: Interrupt | None = None,
) -> TakeoverReport:
    """Convert the previous database in the caller's transaction; see the module docstring."""
    checkpoint = interrupt or (lambda _step: None)
    timezone = await _old_timezone(connection, options.old_timezone)
    # From here every timestamp string without an offset (the previous code's UTC clock) and
    # every comparison runs in UTC; the old wall-clock columns are read with AT TIME ZONE.
    await connection.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    report = TakeoverReport(timezone=timezone)
    cleared = await _email_collisions(connection, options, report)
    await _move_previous_aside(connection)
    checkpoint("moved_aside")
    await upgrade(connection)
    checkpoint("schema_created")
    await _copy_classes(connection, timezone, report)
    await _copy_students(connection, timezone, cleared, report)
    checkpoint("students_copied")
    await _copy_enrolments(connection, report)
    await _copy_associations(connection, timezone, report)
    await apply_previous_decisions(connection, PREVIOUS_SCHEMA, report.counts, report.listed)
    checkpoint("associations_copied")
    await copy_pending_outbox(connection, PREVIOUS_SCHEMA, report.counts)
    await connection.execute(text(f"DROP SCHEMA {PREVIOUS_SCHEMA} CASCADE"))
    checkpoint("done")
    return report


async def _old_timezone(connection: AsyncConnection, override: str | None) -> str:
    """The zone the previous rows' ``NOW()`` wall-clock times were written in.

    By default the ``TimeZone`` a new session of this database gets (database or server
    setting): this connection has not set one of its own."""
    zone = (
        override
        or (await connection.execute(text("SELECT current_setting('TimeZone')"))).scalar_one()
    )
    try:
        async with connection.begin_nested():
            await connection.execute(text("SELECT now() AT TIME ZONE :zone"), {"zone": zone})
    except DBAPIError as exc:
        raise TakeoverError(
            f"unknown time zone {zone!r} (--old-timezone); nothing was changed"
        ) from exc
    return str(zone)


async def _email_collisions(
    connection: AsyncConnection, options: TakeoverOptions, report: TakeoverReport
) -> set[str]:
    """Ids whose e-mail the suffix option clears; raises for ``stop`` (dry runs list them)."""
    rows = (
        await connection.execute(
            text(
                "SELECT created_by_user_id, lower(email), array_agg(id::text ORDER BY"
                " created_at DESC, id DESC) FROM public.students WHERE email IS NOT NULL"
                " GROUP BY created_by_user_id, lower(email) HAVING count(*) > 1"
                " ORDER BY 1, 2"
            )
        )
    ).all()
    collisions = [(owner, email, list(ids)) for owner, email, ids in rows]
    report.counts["e-mail collisions after lower-casing"] = len(collisions)
    if not collisions:
        return set()
    if options.lowercase_collisions == "stop" and not options.dry_run:
        raise EmailCollisionError(collisions)
    cleared: set[str] = set()
    for owner, email, ids in collisions:
        # ids newest first: the newest keeps the e-mail.
        cleared.update(ids[1:])
        action = "would keep" if options.lowercase_collisions == "stop" else "kept"
        report.listed.append(
            f"e-mail collision, teacher {owner}, {email}: {action} it on {ids[0]}, cleared on"
            f" {', '.join(ids[1:])}"
        )
    return cleared


async def _move_previous_aside(connection: AsyncConnection) -> None:
    await connection.execute(text(f"CREATE SCHEMA {PREVIOUS_SCHEMA}"))
    for table in PREVIOUS_TABLES:
        await connection.execute(text(f"ALTER TABLE public.{table} SET SCHEMA {PREVIOUS_SCHEMA}"))
    for type_name in PREVIOUS_TYPES:
        await connection.execute(
            text(f"ALTER TYPE public.{type_name} SET SCHEMA {PREVIOUS_SCHEMA}")
        )


async def _count(connection: AsyncConnection, sql: str, **params: Any) -> int:
    return int((await connection.execute(text(sql), params)).scalar_one())


async def _copy_classes(connection: AsyncConnection, timezone: str, report: TakeoverReport) -> None:
    # Courses get the fixed ids of data-model.md §3 (seeded by this service's chain); each
    # class follows its course by code.
    result = await connection.execute(
        text(
            f"INSERT INTO public.classes (id, name, created_by_user_id, course_id, created_at,"
            f" updated_at) SELECT c.id, c.name, c.created_by_user_id, nc.id,"
            f" c.created_at AT TIME ZONE :tz, c.updated_at AT TIME ZONE :tz"
            f" FROM {PREVIOUS_SCHEMA}.classes c JOIN {PREVIOUS_SCHEMA}.courses oc"
            f" ON oc.id = c.course_id JOIN public.courses nc"
            f" ON nc.course_code::text = oc.course_code::text"
        ),
        {"tz": timezone},
    )
    report.counts["courses re-keyed to the fixed ids"] = await _count(
        connection, f"SELECT count(*) FROM {PREVIOUS_SCHEMA}.courses"
    )
    report.counts["classes"] = result.rowcount


async def _copy_students(
    connection: AsyncConnection, timezone: str, cleared: set[str], report: TakeoverReport
) -> None:
    result = await connection.execute(
        text(
            f"INSERT INTO public.students (id, first_name, last_name, legal_full_name, email,"
            f" created_by_user_id, created_at, updated_at)"
            f" SELECT s.id, s.first_name, s.last_name,"
            f" coalesce(s.legal_full_name, s.first_name || ' ' || s.last_name),"
            f" CASE WHEN s.id::text = ANY(:cleared) THEN NULL ELSE lower(s.email) END,"
            f" s.created_by_user_id, s.created_at AT TIME ZONE :tz, s.updated_at AT TIME ZONE :tz"
            f" FROM {PREVIOUS_SCHEMA}.students s"
        ),
        {"tz": timezone, "cleared": sorted(cleared)},
    )
    report.counts["students"] = result.rowcount
    report.counts["e-mails lower-cased"] = await _count(
        connection,
        f"SELECT count(*) FROM {PREVIOUS_SCHEMA}.students WHERE email <> lower(email)",
    )
    report.counts["e-mails cleared by --lowercase-collisions=suffix"] = len(cleared)
    report.counts["legal names filled in"] = await _count(
        connection, f"SELECT count(*) FROM {PREVIOUS_SCHEMA}.students WHERE legal_full_name IS NULL"
    )


async def _copy_enrolments(connection: AsyncConnection, report: TakeoverReport) -> None:
    result = await connection.execute(
        text(
            f"INSERT INTO public.class_student_association (class_id, student_id)"
            f" SELECT DISTINCT class_id, student_id"
            f" FROM {PREVIOUS_SCHEMA}.class_student_association"
        )
    )
    total = await _count(
        connection, f"SELECT count(*) FROM {PREVIOUS_SCHEMA}.class_student_association"
    )
    report.counts["enrolments"] = result.rowcount
    report.counts["duplicate enrolments removed"] = total - result.rowcount


async def _copy_associations(
    connection: AsyncConnection, timezone: str, report: TakeoverReport
) -> None:
    pending = "a.validation_status = 'pending_validation'"
    result = await connection.execute(
        text(
            f"INSERT INTO public.essay_student_associations (id, essay_id, batch_id, class_id,"
            f" student_id, suggested_student_id, confidence_score, match_reasons,"
            f" no_match_reason, created_by_user_id, created_at, validation_status, validated_by,"
            f" validated_at, validation_method)"
            f" SELECT a.id, a.essay_id, a.batch_id, a.class_id, a.student_id,"
            # The previous monitor overwrote low-confidence rows with the class's UNKNOWN
            # placeholder: their suggestion is lost.
            f" CASE WHEN s.created_by_user_id = 'SYSTEM_TIMEOUT' THEN NULL ELSE a.student_id END,"
            f" a.confidence_score, a.match_reasons, NULL, a.created_by_user_id,"
            f" a.created_at AT TIME ZONE :tz,"
            f" CASE WHEN a.validation_status = 'confirmed' AND a.validation_method = 'timeout'"
            f" THEN 'timeout_confirmed' ELSE a.validation_status END,"
            f" CASE WHEN {pending} THEN NULL ELSE coalesce(a.validated_by, 'unknown') END,"
            f" CASE WHEN {pending} THEN NULL ELSE coalesce(a.validated_at AT TIME ZONE 'UTC',"
            f" a.created_at AT TIME ZONE :tz) END,"
            f" CASE WHEN {pending} THEN NULL ELSE coalesce(a.validation_method, 'human') END"
            f" FROM {PREVIOUS_SCHEMA}.essay_student_associations a"
            f" JOIN {PREVIOUS_SCHEMA}.students s ON s.id = a.student_id"
        ),
        {"tz": timezone},
    )
    report.counts["essay associations"] = result.rowcount
    report.counts["suggestions lost to the UNKNOWN placeholder"] = await _count(
        connection,
        "SELECT count(*) FROM public.essay_student_associations a JOIN public.students s"
        " ON s.id = a.student_id WHERE s.created_by_user_id = 'SYSTEM_TIMEOUT'",
    )
    report.counts["timeout decisions -> timeout_confirmed"] = await _count(
        connection,
        "SELECT count(*) FROM public.essay_student_associations"
        " WHERE validation_status = 'timeout_confirmed'",
    )
