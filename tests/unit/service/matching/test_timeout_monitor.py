"""The timeout monitor (matching.md §5) on the in-memory store, with a clock set forward."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from prometheus_client import CollectorRegistry

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.confirmations import ConfirmAssociations, ConfirmItem
from class_management_service.application.context import Actor
from class_management_service.application.students import StudentUseCases
from class_management_service.application.timeout_monitor import TimeoutMonitor
from class_management_service.domain.associations import ValidationStatus
from class_management_service.entrypoints.suggestion_handler import SuggestionRecordHandler
from class_management_service.implementations.memory.repositories import InMemoryClasses
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from common_core.enums import ValidationMethod
from common_core.topics import SYSTEM_TIMEOUT
from huleedu_service_libs.clock import FixedClock
from tests.fixtures.suggestions import envelope, essay, record, suggestion
from tests.unit.service.matching.conftest import (
    Batch,
    Roster,
    associations,
    decided_count,
    outbox,
    seed_batch,
)

CONFIRMED_TOPIC = "huleedu.class.student.associations.confirmed.v1"


def placeholders(store: InMemoryStore) -> list[UUID]:
    return [row.id for row in store.tables.students.values() if row.owner_id == SYSTEM_TIMEOUT]


async def test_rows_are_not_due_before_the_timeout(
    monitor: TimeoutMonitor, store: InMemoryStore, batch: Batch, clock: FixedClock
) -> None:
    clock.advance(timedelta(hours=24) - timedelta(microseconds=1))
    report = await monitor.run_cycle()
    assert report.rows_decided == 0
    assert all(row.is_pending for row in associations(store).values())


async def test_due_batch_keeps_confident_suggestions_and_gives_the_rest_to_unknown(
    monitor: TimeoutMonitor,
    store: InMemoryStore,
    roster: Roster,
    batch: Batch,
    clock: FixedClock,
    teacher: Actor,
    classes: ClassUseCases,
    registry: CollectorRegistry,
) -> None:
    clock.advance(timedelta(hours=25))

    report = await monitor.run_cycle()

    assert (report.batches_decided, report.rows_decided) == (1, 3)
    [unknown] = placeholders(store)
    rows = associations(store)
    assert rows[batch.anna_essay].student_id == roster.anna
    assert rows[batch.omar_essay].student_id == unknown
    assert rows[batch.omar_essay].suggested_student_id == roster.omar  # suggestion kept
    assert rows[batch.omar_essay].confidence_score == 0.55
    assert rows[batch.nameless_essay].student_id == unknown
    for row in rows.values():
        assert row.validation_status is ValidationStatus.TIMEOUT_CONFIRMED
        assert row.validation_method is ValidationMethod.TIMEOUT
        assert (row.validated_by, row.validated_at) == (SYSTEM_TIMEOUT, clock.now())

    [event] = outbox(store, CONFIRMED_TOPIC)
    data = event["data"]
    assert data["timeout_triggered"] is True
    assert data["validation_summary"] == {"total_associations": 3, "confirmed": 3, "rejected": 0}
    scores = {item["essay_id"]: item["confidence_score"] for item in data["associations"]}
    assert scores == {
        str(batch.anna_essay): 0.92,
        str(batch.omar_essay): 0.0,
        str(batch.nameless_essay): 0.0,
    }
    [notification] = outbox(store, "student_associations_confirmed")
    assert notification["data"]["message"] == (
        "3 student associations confirmed automatically after 24 hours for class '9B English'"
    )
    assert notification["data"]["correlation_id"] == event["correlation_id"]
    newest = max(store.tables.outbox.values(), key=lambda row: row.seq)
    assert newest.topic == f"ws:{teacher.teacher_id}"
    # The placeholder is enrolled but invisible to teachers.
    assert (roster.class_id, unknown) in store.tables.enrolments
    assert (await classes.get(teacher, roster.class_id)).student_count == 3
    assert decided_count(registry, "timeout", "timeout_confirmed") == 3

    assert (await monitor.run_cycle()).rows_decided == 0
    assert len(outbox(store, CONFIRMED_TOPIC)) == 1


async def test_score_at_the_threshold_keeps_the_suggestion(
    monitor: TimeoutMonitor,
    store: InMemoryStore,
    handler: SuggestionRecordHandler,
    roster: Roster,
    clock: FixedClock,
) -> None:
    essay_id = uuid4()
    value = envelope(
        batch_id=uuid4(),
        class_id=roster.class_id,
        essays=[essay(essay_id, [suggestion(roster.lea, 0.7)])],
    )
    await handler(record(value))
    clock.advance(timedelta(hours=24))

    await monitor.run_cycle()

    assert associations(store)[essay_id].student_id == roster.lea
    assert placeholders(store) == []


async def test_one_unknown_student_per_class_across_batches(
    monitor: TimeoutMonitor,
    store: InMemoryStore,
    handler: SuggestionRecordHandler,
    roster: Roster,
    clock: FixedClock,
) -> None:
    await seed_batch(handler, roster)
    await seed_batch(handler, roster)
    clock.advance(timedelta(hours=25))

    report = await monitor.run_cycle()

    assert report.batches_decided == 2
    assert len(placeholders(store)) == 1
    assert len(outbox(store, CONFIRMED_TOPIC)) == 2


async def test_teacher_decisions_are_left_alone_and_the_rest_times_out(
    monitor: TimeoutMonitor,
    confirm: ConfirmAssociations,
    store: InMemoryStore,
    batch: Batch,
    teacher: Actor,
    clock: FixedClock,
) -> None:
    await confirm.confirm(teacher, batch.batch_id, [ConfirmItem(batch.omar_essay, False)])
    rejected = associations(store)[batch.omar_essay]
    clock.advance(timedelta(hours=25))

    await monitor.run_cycle()

    assert associations(store)[batch.omar_essay] == rejected
    second = outbox(store, CONFIRMED_TOPIC)[1]["data"]
    assert second["validation_summary"]["total_associations"] == 2
    essays = {item["essay_id"] for item in second["associations"]}
    assert essays == {str(batch.anna_essay), str(batch.nameless_essay)}


async def test_deleted_suggested_student_times_out_to_unknown(
    monitor: TimeoutMonitor,
    students: StudentUseCases,
    store: InMemoryStore,
    roster: Roster,
    batch: Batch,
    teacher: Actor,
    clock: FixedClock,
) -> None:
    await students.delete(teacher, roster.anna)
    detached = associations(store)[batch.anna_essay]
    assert (detached.student_id, detached.suggested_student_id) == (None, None)
    clock.advance(timedelta(hours=25))

    await monitor.run_cycle()

    assert associations(store)[batch.anna_essay].student_id == placeholders(store)[0]


async def test_a_failing_batch_rolls_back_alone_and_is_retried_next_cycle(
    monitor: TimeoutMonitor,
    store: InMemoryStore,
    handler: SuggestionRecordHandler,
    roster: Roster,
    classes: ClassUseCases,
    teacher: Actor,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    healthy = await seed_batch(handler, roster)
    broken_class = await classes.create(teacher, "9C", course_by_code("SV1"))
    broken_essay = uuid4()
    value = envelope(batch_id=uuid4(), class_id=broken_class.id, essays=[essay(broken_essay)])
    await handler(record(value))
    clock.advance(timedelta(hours=25))
    original = InMemoryClasses.unknown_student

    async def failing(self: InMemoryClasses, class_id: UUID, now: object) -> UUID:
        if class_id == broken_class.id:
            raise RuntimeError("boom")
        return await original(self, class_id, now)  # type: ignore[arg-type]

    monkeypatch.setattr(InMemoryClasses, "unknown_student", failing)

    report = await monitor.run_cycle()

    assert (report.batches_decided, report.batches_failed) == (1, 1)
    rows = associations(store)
    assert rows[broken_essay].is_pending
    assert not rows[healthy.anna_essay].is_pending
    assert len(placeholders(store)) == 1  # the failed batch's work was rolled back

    monkeypatch.undo()
    assert (await monitor.run_cycle()).batches_decided == 1
    assert not associations(store)[broken_essay].is_pending


async def test_cycle_pages_through_more_than_one_hundred_due_batches(
    monitor: TimeoutMonitor,
    store: InMemoryStore,
    handler: SuggestionRecordHandler,
    roster: Roster,
    clock: FixedClock,
) -> None:
    for _ in range(130):
        value = envelope(batch_id=uuid4(), class_id=roster.class_id, essays=[essay()])
        await handler(record(value))
        clock.advance(timedelta(seconds=1))
    clock.advance(timedelta(hours=25))

    report = await monitor.run_cycle()

    assert report.batches_decided == 130
    assert len(outbox(store, CONFIRMED_TOPIC)) == 130


async def test_run_decides_at_once_and_stops_promptly(
    monitor: TimeoutMonitor, store: InMemoryStore, batch: Batch, clock: FixedClock
) -> None:
    clock.advance(timedelta(hours=25))
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    for _ in range(100):
        if not associations(store)[batch.anna_essay].is_pending:
            break
        await asyncio.sleep(0.01)
    assert not associations(store)[batch.anna_essay].is_pending

    stop.set()
    await asyncio.wait_for(task, timeout=1)


async def test_run_survives_a_failing_cycle(
    monitor: TimeoutMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    stop = asyncio.Event()

    async def failing_cycle() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            stop.set()
        raise RuntimeError("database down")

    monkeypatch.setattr(monitor, "run_cycle", failing_cycle)
    monkeypatch.setattr(monitor, "_interval", 0.01)

    await asyncio.wait_for(monitor.run(stop), timeout=1)
    assert calls == 2
