"""Class use cases on the in-memory store: state, outbox rows and ownership."""

from __future__ import annotations

from datetime import timedelta

import pytest

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.error_handling import HuleEduError


def outbox_types(store: InMemoryStore) -> list[tuple[str, str]]:
    rows = sorted(store.tables.outbox.values(), key=lambda row: row.seq)
    return [(row.destination, row.event_type) for row in rows]


async def test_create_class_writes_event_and_notification(
    classes: ClassUseCases, store: InMemoryStore, teacher: Actor
) -> None:
    created = await classes.create(teacher, "9B English", course_by_code("ENG5"))

    assert (await classes.get(teacher, created.id)).name == "9B English"
    assert outbox_types(store) == [
        ("kafka", "huleedu.class.created.v1"),
        ("redis", "class_created"),
    ]
    envelope = next(r for r in store.tables.outbox.values() if r.destination == "kafka").event_data
    assert envelope["correlation_id"] == str(teacher.correlation_id)
    assert envelope["data"]["class_id"] == str(created.id)


async def test_other_teacher_cannot_read_update_or_delete_class(
    classes: ClassUseCases, teacher: Actor, other_teacher: Actor
) -> None:
    created = await classes.create(teacher, "9B", course_by_code("SV1"))

    for attempt in (
        classes.get(other_teacher, created.id),
        classes.update(other_teacher, created.id, name="x", course=None),
        classes.delete(other_teacher, created.id),
    ):
        with pytest.raises(HuleEduError) as caught:
            await attempt
        assert caught.value.status_code == 404
        assert caught.value.details == {
            "reason": "not_found",
            "resource": "class",
            "id": str(created.id),
        }
    assert (await classes.get(teacher, created.id)).name == "9B"


async def test_update_without_change_keeps_timestamp_and_emits_nothing(
    classes: ClassUseCases, store: InMemoryStore, teacher: Actor, clock: FixedClock
) -> None:
    created = await classes.create(teacher, "9B", course_by_code("ENG5"))
    clock.advance(timedelta(minutes=5))
    before = len(store.tables.outbox)

    unchanged = await classes.update(teacher, created.id, name="9B", course=course_by_code("ENG5"))

    assert unchanged.updated_at == created.updated_at
    assert len(store.tables.outbox) == before


async def test_update_course_moves_updated_at_and_emits_update(
    classes: ClassUseCases, store: InMemoryStore, teacher: Actor, clock: FixedClock
) -> None:
    created = await classes.create(teacher, "9B", course_by_code("ENG5"))
    clock.advance(timedelta(minutes=5))

    updated = await classes.update(teacher, created.id, name=None, course=course_by_code("SV2"))

    assert updated.course.code == "SV2"
    assert updated.updated_at == clock.now()
    assert outbox_types(store)[-2:] == [
        ("kafka", "huleedu.class.updated.v1"),
        ("redis", "class_updated"),
    ]


async def test_list_is_newest_first_with_total(
    classes: ClassUseCases, teacher: Actor, other_teacher: Actor, clock: FixedClock
) -> None:
    for index in range(3):
        await classes.create(teacher, f"class {index}", course_by_code("ENG5"))
        clock.advance(timedelta(seconds=1))
    await classes.create(other_teacher, "not mine", course_by_code("ENG5"))

    page = await classes.list_page(teacher, limit=2, offset=0)

    assert [c.name for c in page.items] == ["class 2", "class 1"]
    assert page.total == 3
    assert (await classes.list_page(teacher, limit=2, offset=10)).items == []
