"""The timeout monitor on PostgreSQL with a clock 25 hours ahead, alone and as two replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.domain.associations import ValidationStatus
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.models_db import students
from common_core.enums import ValidationMethod
from common_core.topics import SYSTEM_TIMEOUT
from huleedu_service_libs.clock import FixedClock
from tests.fixtures.suggestions import envelope, essay, record, suggestion
from tests.integration.db.builders import TEACHER
from tests.integration.matching.conftest import (
    MESSAGES,
    Roster,
    new_batch,
    outbox_data,
    seed_roster,
    stored_rows,
)

pytestmark = pytest.mark.integration

CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"
MonitorFactory = Callable[[FixedClock], TimeoutMonitor]


def later(clock: FixedClock, hours: float = 25) -> FixedClock:
    return FixedClock(clock.now() + timedelta(hours=hours))


async def _placeholders(uow: PostgreSQLClassRepositoryImpl) -> dict[str, list[UUID]]:
    """Placeholder ids by e-mail (one e-mail per class)."""
    async with uow:
        result = await uow.connection.execute(
            select(students.c.email, students.c.id).where(
                students.c.created_by_user_id == SYSTEM_TIMEOUT
            )
        )
        found: dict[str, list[UUID]] = {}
        for email, student_id in result:
            found.setdefault(email, []).append(student_id)
        return found


async def test_due_rows_are_decided_by_threshold_with_one_unknown_student_and_event_per_batch(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
    make_monitor: MonitorFactory,
) -> None:
    first, second = new_batch(), new_batch()
    await handler(record(first.value(roster)))
    await handler(record(second.value(roster)))
    at_threshold = uuid4()
    third = uuid4()
    value = envelope(
        batch_id=third,
        class_id=roster.class_id,
        essays=[essay(at_threshold, [suggestion(roster.lea, 0.7)])],
    )
    await handler(record(value))
    # Not due yet: stored just under 24 hours before the cycle.
    clock.advance(timedelta(hours=2))
    fresh = uuid4()
    value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[essay(fresh)])
    await handler(record(value))
    monitor_clock = later(clock, 23)

    report = await make_monitor(monitor_clock).run_cycle()

    assert (report.batches_decided, report.rows_decided) == (3, 7)
    placeholders = await _placeholders(uow)
    assert list(placeholders) == [f"unknown.{roster.class_id}@huleedu.system"]
    [unknown] = placeholders[f"unknown.{roster.class_id}@huleedu.system"]
    rows = await stored_rows(uow)
    assert rows[fresh].is_pending
    assert rows[at_threshold].student_id == roster.lea
    for batch in (first, second):
        assert rows[batch.anna_essay].student_id == roster.anna
        assert rows[batch.omar_essay].student_id == unknown
        assert rows[batch.omar_essay].suggested_student_id == roster.omar
        assert rows[batch.nameless_essay].student_id == unknown
    for essay_id, row in rows.items():
        if essay_id == fresh:
            continue
        assert row.validation_status is ValidationStatus.TIMEOUT_CONFIRMED
        assert row.validation_method is ValidationMethod.TIMEOUT
        assert row.validated_by == SYSTEM_TIMEOUT
        assert row.validated_at == monitor_clock.now()

    events = await outbox_data(uow, CONFIRMED_TOPIC)
    assert sorted(e["data"]["batch_id"] for e in events) == sorted(
        str(b) for b in (first.batch_id, second.batch_id, third)
    )
    assert all(e["data"]["timeout_triggered"] is True for e in events)
    assert len({e["correlation_id"] for e in events}) == 3
    by_batch = {e["data"]["batch_id"]: e["data"] for e in events}
    scores = {
        a["essay_id"]: a["confidence_score"] for a in by_batch[str(first.batch_id)]["associations"]
    }
    assert scores == {
        str(first.anna_essay): 0.92,
        str(first.omar_essay): 0.0,
        str(first.nameless_essay): 0.0,
    }
    notifications = await outbox_data(uow, "student_associations_confirmed")
    assert len(notifications) == 3
    assert all("after 24 hours" in n["data"]["message"] for n in notifications)

    # The placeholder is enrolled, yet neither counted nor listed for the teacher.
    async with uow:
        school_class = await uow.classes.get(roster.class_id, owner_id=TEACHER)
        listed = await uow.classes.roster(roster.class_id)
        enrolled = await uow.classes.enrolled_student_ids(roster.class_id)
    assert school_class is not None
    assert school_class.student_count == 3
    assert unknown not in {s.id for s in listed}
    assert unknown in enrolled

    again = await make_monitor(monitor_clock).run_cycle()
    assert again.rows_decided == 0
    assert len(await outbox_data(uow, CONFIRMED_TOPIC)) == 3


async def test_row_locked_by_a_confirmation_in_progress_is_skipped(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
    make_monitor: MonitorFactory,
    engine: AsyncEngine,
) -> None:
    batch = new_batch()
    await handler(record(batch.value(roster)))
    holder = PostgreSQLClassRepositoryImpl(engine)
    async with holder:
        # A teacher's confirmation holding every row of the batch.
        await holder.associations.lock_batch(batch.batch_id)
        report = await make_monitor(later(clock)).run_cycle()
    assert report.rows_decided == 0
    assert all(row.is_pending for row in (await stored_rows(uow)).values())
    assert (await make_monitor(later(clock)).run_cycle()).rows_decided == 3


async def test_two_monitors_at_once_decide_each_row_once_with_one_unknown_per_class(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    roster: Roster,
    clock: FixedClock,
    make_monitor: MonitorFactory,
) -> None:
    rosters = [roster, await seed_roster(uow), await seed_roster(uow)]
    essays_total = 0
    for class_roster in rosters:
        for _ in range(6):
            await handler(record(new_batch().value(class_roster)))
            essays_total += 3
    monitor_clock = later(clock)
    replicas = [make_monitor(monitor_clock), make_monitor(monitor_clock)]

    reports = await asyncio.gather(*(replica.run_cycle() for replica in replicas))

    assert sum(r.rows_decided for r in reports) == essays_total
    assert sum(r.batches_failed for r in reports) == 0
    rows = await stored_rows(uow)
    assert all(row.validation_status is ValidationStatus.TIMEOUT_CONFIRMED for row in rows.values())
    events = await outbox_data(uow, CONFIRMED_TOPIC)
    decided = Counter(a["essay_id"] for e in events for a in e["data"]["associations"])
    assert len(decided) == essays_total
    assert set(decided.values()) == {1}
    assert len(events) == 18  # one per batch: the advisory lock keeps batches whole
    placeholders = await _placeholders(uow)
    assert sorted(placeholders) == sorted(f"unknown.{r.class_id}@huleedu.system" for r in rosters)
    assert all(len(ids) == 1 for ids in placeholders.values())
    for class_roster in rosters:
        [unknown] = placeholders[f"unknown.{class_roster.class_id}@huleedu.system"]
        async with uow:
            assert unknown in await uow.classes.enrolled_student_ids(class_roster.class_id)


async def test_class_delete_racing_the_monitor_neither_fails_nor_deadlocks(
    handler: SuggestionRecordHandler,
    uow: PostgreSQLClassRepositoryImpl,
    clock: FixedClock,
    make_monitor: MonitorFactory,
    engine: AsyncEngine,
) -> None:
    def deleting(class_id: UUID) -> Coroutine[Any, Any, None]:
        # Each teacher request has its own unit of work.
        use_cases = ClassUseCases(PostgreSQLClassRepositoryImpl(engine), clock, MESSAGES)
        return use_cases.delete(owner, class_id)

    owner = Actor(teacher_id=TEACHER, correlation_id=uuid4())
    for _ in range(5):
        rosters = [await seed_roster(uow) for _ in range(3)]
        for class_roster in rosters:
            await handler(record(new_batch().value(class_roster)))
        monitor = make_monitor(later(clock))

        report, *_ = await asyncio.gather(
            monitor.run_cycle(), *(deleting(r.class_id) for r in rosters)
        )

        assert report.batches_failed == 0
        assert await stored_rows(uow) == {}
        assert await _placeholders(uow) == {}
