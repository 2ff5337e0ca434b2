"""PostgreSQLAssociations, PostgreSQLInbox and the placeholder against PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.domain.associations import EssayAssociation
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.associations import advisory_lock_key
from class_management_service.models_db import enrolments, students
from class_management_service.protocols import ProcessedEvent
from common_core.courses import CourseCode
from common_core.topics import SYSTEM_TIMEOUT
from tests.integration.db.builders import T0, TEACHER, a_class, a_student

pytestmark = pytest.mark.integration


def a_row(
    class_id: UUID,
    batch_id: UUID,
    *,
    student_id: UUID | None = None,
    minutes: float = 0,
    essay_id: UUID | None = None,
) -> EssayAssociation:
    return EssayAssociation(
        id=uuid4(),
        essay_id=essay_id or uuid4(),
        batch_id=batch_id,
        class_id=class_id,
        student_id=student_id,
        suggested_student_id=student_id,
        confidence_score=0.5 if student_id else None,
        match_reasons=("Näme «quoted»", "x") if student_id else None,
        no_match_reason=None if student_id else "no_suggestions",
        created_at=T0 + timedelta(minutes=minutes),
    )


async def _class_with_student(uow: PostgreSQLClassRepositoryImpl) -> tuple[UUID, UUID]:
    school_class = a_class()
    student = a_student(class_ids=[school_class.id])
    async with uow:
        await uow.classes.add(school_class)
        await uow.students.add(student)
        await uow.commit()
    return school_class.id, student.id


def test_advisory_key_is_the_first_eight_bytes_as_signed_int64() -> None:
    assert advisory_lock_key(UUID("ffffffff-ffff-ffff-0000-000000000000")) == -1
    assert advisory_lock_key(UUID("00000000-0000-0001-ffff-ffffffffffff")) == 1
    assert advisory_lock_key(UUID("80000000-0000-0000-0000-000000000000")) == -(2**63)


async def test_rows_round_trip_with_every_column(uow: PostgreSQLClassRepositoryImpl) -> None:
    class_id, student_id = await _class_with_student(uow)
    batch_id = uuid4()
    rows = [a_row(class_id, batch_id, student_id=student_id), a_row(class_id, batch_id)]
    async with uow:
        await uow.associations.add_many(rows)
        await uow.commit()
    async with uow:
        locked = await uow.associations.lock_batch(batch_id)
        existing = await uow.associations.existing_essay_ids([rows[0].essay_id, uuid4()])
        other = await uow.associations.batch_has_other_class(batch_id, uuid4())
        same = await uow.associations.batch_has_other_class(batch_id, class_id)
    assert locked == sorted(rows, key=lambda row: row.id)
    assert existing == {rows[0].essay_id}
    assert (other, same) == (True, False)


async def test_decisions_are_saved_in_one_statement(uow: PostgreSQLClassRepositoryImpl) -> None:
    class_id, student_id = await _class_with_student(uow)
    batch_id = uuid4()
    keep, reject, untouched = (a_row(class_id, batch_id, student_id=student_id) for _ in range(3))
    async with uow:
        await uow.associations.add_many([keep, reject, untouched])
        await uow.commit()
    decided = [
        keep.confirmed(student_id, by=TEACHER, at=T0 + timedelta(hours=1)),
        reject.rejected(by=TEACHER, at=T0 + timedelta(hours=1)),
    ]
    async with uow:
        await uow.associations.save_decisions(decided)
        await uow.commit()
    async with uow:
        stored = {row.id: row for row in await uow.associations.lock_batch(batch_id)}
    assert stored[keep.id] == decided[0]
    assert stored[reject.id] == decided[1]
    assert stored[untouched.id] == untouched


async def test_due_batches_oldest_first_with_exclusions_limit_and_inclusive_cutoff(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    class_id, _ = await _class_with_student(uow)
    young, old, at_cutoff, decided_only = uuid4(), uuid4(), uuid4(), uuid4()
    decided = a_row(class_id, decided_only, minutes=-50).rejected(by=TEACHER, at=T0)
    async with uow:
        await uow.associations.add_many(
            [
                a_row(class_id, young, minutes=-10),
                a_row(class_id, young, minutes=20),  # not due, but the batch is
                a_row(class_id, old, minutes=-30),
                a_row(class_id, at_cutoff, minutes=0),
                decided,
            ]
        )
        await uow.commit()
    async with uow:
        due = await uow.associations.due_batch_ids(T0, exclude=[], limit=100)
        page = await uow.associations.due_batch_ids(T0, exclude=[old], limit=1)
        rows = await uow.associations.lock_due_pending(young, T0)
    assert due == [old, young, at_cutoff]
    assert page == [young]
    assert len(rows) == 1


async def test_advisory_lock_is_exclusive_until_the_transaction_ends(
    uow: PostgreSQLClassRepositoryImpl, engine: AsyncEngine
) -> None:
    other = PostgreSQLClassRepositoryImpl(engine)
    batch_id = uuid4()
    async with uow:
        assert await uow.associations.try_lock_batch(batch_id)
        async with other:
            assert not await other.associations.try_lock_batch(batch_id)
            assert await other.associations.try_lock_batch(uuid4())
    async with other:
        assert await other.associations.try_lock_batch(batch_id)


async def test_unknown_student_is_created_once_and_enrolled_once(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    class_id, _ = await _class_with_student(uow)
    async with uow:
        first = await uow.classes.unknown_student(class_id, T0)
        await uow.commit()
    async with uow:
        second = await uow.classes.unknown_student(class_id, T0 + timedelta(hours=1))
        await uow.commit()
        placeholder = (
            await uow.connection.execute(select(students).where(students.c.id == first))
        ).one()
        enrolled = (
            await uow.connection.execute(
                select(func.count()).select_from(enrolments).where(enrolments.c.student_id == first)
            )
        ).scalar_one()
    assert first == second
    assert enrolled == 1
    assert (placeholder.first_name, placeholder.last_name) == ("UNKNOWN", "STUDENT")
    assert placeholder.legal_full_name == "UNKNOWN STUDENT"
    assert placeholder.email == f"unknown.{class_id}@huleedu.system"
    assert placeholder.created_by_user_id == SYSTEM_TIMEOUT


async def test_inbox_reports_a_recorded_event_as_duplicate(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    event = ProcessedEvent(uuid4(), "batch.author.matches.suggested", "t", 2, 99, None, T0)
    async with uow:
        assert await uow.inbox.add(event)
        await uow.commit()
    async with uow:
        assert not await uow.inbox.add(replace(event, offset=100))


async def test_batch_classes_and_details_with_names(uow: PostgreSQLClassRepositoryImpl) -> None:
    class_id, student_id = await _class_with_student(uow)
    first, second = uuid4(), uuid4()
    async with uow:
        await uow.associations.add_many(
            [
                a_row(class_id, first, student_id=student_id),
                a_row(class_id, first, minutes=5),
                a_row(class_id, second),
            ]
        )
        await uow.commit()
    async with uow:
        found = await uow.associations.batch_classes([first, second, uuid4()])
        details = await uow.associations.details_of_batch(first)
    assert set(found) == {first, second}
    assert found[first].class_id == class_id
    assert found[first].owner_id == TEACHER
    assert found[first].course.code is CourseCode.ENG5
    assert [d.association.created_at for d in details] == [
        T0 + timedelta(minutes=5),
        T0,
    ]
    assert details[1].student_name is not None
    assert details[1].student_name.first_name == "Anna"
    assert details[0].student_name is None
