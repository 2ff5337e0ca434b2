"""The in-memory reading unit: committed tables without the lock; it cannot commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.domain.models import SchoolClass
from class_management_service.implementations.class_repository_mock_impl import (
    MockClassRepositoryImpl,
)
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from huleedu_service_libs.clock import FixedClock

CREATED_AT = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)


def a_class(name: str = "9B", owner_id: str = "teacher-a") -> SchoolClass:
    return SchoolClass(
        id=uuid4(),
        name=name,
        course=course_by_code("ENG5"),
        owner_id=owner_id,
        created_at=CREATED_AT,
        updated_at=CREATED_AT,
    )


async def test_a_reading_unit_cannot_commit_and_keeps_nothing(
    uow: MockClassRepositoryImpl, store: InMemoryStore
) -> None:
    async with uow.reading() as reading:
        await reading.classes.add(a_class())
        with pytest.raises(RuntimeError, match="cannot commit"):
            await reading.commit()
    assert store.tables.classes == {}


async def test_a_reading_unit_sees_commits_and_does_not_wait_for_an_open_transaction(
    uow: MockClassRepositoryImpl, store: InMemoryStore, clock: FixedClock
) -> None:
    committed = a_class()
    async with uow:
        await uow.classes.add(committed)
        await uow.commit()
        await uow.classes.add(a_class(name="not committed yet"))

        reader = MockClassRepositoryImpl(store, clock)
        async with asyncio.timeout(1), reader.reading() as reading:
            page = await reading.classes.list_page(committed.owner_id, limit=10, offset=0)
    assert [school_class.id for school_class in page.items] == [committed.id]


async def test_read_use_cases_do_not_wait_for_a_writer(
    classes: ClassUseCases, store: InMemoryStore, clock: FixedClock, teacher: Actor
) -> None:
    created = await classes.create(teacher, "9B", course_by_code("SV1"))
    async with MockClassRepositoryImpl(store, clock):
        async with asyncio.timeout(1):
            found = await classes.get(teacher, created.id)
            page = await classes.list_page(teacher, limit=10, offset=0)
    assert found.id == created.id
    assert page.total == 1


async def test_a_unit_of_work_cannot_be_read_while_it_is_open(uow: MockClassRepositoryImpl) -> None:
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            async with uow.reading():
                pass
    async with uow.reading():
        with pytest.raises(RuntimeError, match="already open"):
            async with uow:
                pass
