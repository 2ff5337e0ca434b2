"""Student use cases on the in-memory store: enrolments, conflicts, events and rollback."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.application.students import (
    PersonName,
    StudentChanges,
    StudentUseCases,
)
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from huleedu_service_libs.clock import FixedClock
from huleedu_service_libs.error_handling import HuleEduError


async def test_create_student_enrols_and_notifies_per_class(
    classes: ClassUseCases, students: StudentUseCases, store: InMemoryStore, teacher: Actor
) -> None:
    first = await classes.create(teacher, "9A", course_by_code("ENG5"))
    second = await classes.create(teacher, "9B", course_by_code("ENG5"))

    student = await students.create(
        teacher,
        PersonName("Anna", "Lindqvist"),
        "anna@example.com",
        [second.id, first.id, first.id],
    )

    assert student.class_ids == sorted([first.id, second.id])
    assert student.legal_full_name == "Anna Lindqvist"
    assert (await classes.get(teacher, first.id)).student_count == 1
    rows = sorted(store.tables.outbox.values(), key=lambda r: r.seq)[4:]
    assert [(r.destination, r.event_type) for r in rows] == [
        ("kafka", "huleedu.class.student.created.v1"),
        ("redis", "student_added_to_class"),
        ("redis", "student_added_to_class"),
    ]


async def test_foreign_and_missing_class_ids_are_unknown_references(
    classes: ClassUseCases, students: StudentUseCases, teacher: Actor, other_teacher: Actor
) -> None:
    mine = await classes.create(teacher, "9A", course_by_code("ENG5"))
    foreign = await classes.create(other_teacher, "9X", course_by_code("ENG5"))
    missing = uuid4()

    with pytest.raises(HuleEduError) as caught:
        await students.create(teacher, PersonName("A", "B"), None, [mine.id, foreign.id, missing])

    assert caught.value.details["reason"] == "unknown_reference"
    assert caught.value.details["errors"] == [
        {"field": "class_ids.1", "message": "class does not exist", "id": str(foreign.id)},
        {"field": "class_ids.2", "message": "class does not exist", "id": str(missing)},
    ]
    assert (
        await students.list_page(teacher, class_id=None, query=None, limit=20, offset=0)
    ).total == 0


async def test_duplicate_email_is_a_conflict_and_writes_nothing(
    students: StudentUseCases, store: InMemoryStore, teacher: Actor, other_teacher: Actor
) -> None:
    await students.create(teacher, PersonName("A", "B"), "a@example.com", None)
    rows_before = len(store.tables.outbox)

    with pytest.raises(HuleEduError) as caught:
        await students.create(teacher, PersonName("C", "D"), "a@example.com", None)

    assert caught.value.status_code == 409
    assert caught.value.details == {
        "reason": "conflict",
        "field": "email",
        "value": "a@example.com",
    }
    assert len(store.tables.outbox) == rows_before
    # Another teacher may use the same address.
    await students.create(other_teacher, PersonName("C", "D"), "a@example.com", None)


async def test_update_enrols_leaves_and_reports_only_real_changes(
    classes: ClassUseCases,
    students: StudentUseCases,
    store: InMemoryStore,
    teacher: Actor,
    clock: FixedClock,
) -> None:
    a = await classes.create(teacher, "A", course_by_code("ENG5"))
    b = await classes.create(teacher, "B", course_by_code("ENG5"))
    student = await students.create(teacher, PersonName("A", "B"), None, [a.id])
    clock.advance(timedelta(minutes=1))

    updated = await students.update(
        teacher, student.id, StudentChanges(add_class_ids=[b.id, a.id], remove_class_ids=[])
    )

    assert updated.class_ids == sorted([a.id, b.id])
    assert updated.updated_at == clock.now()
    kafka = [r for r in store.tables.outbox.values() if r.destination == "kafka"]
    event = max(kafka, key=lambda r: r.seq).event_data["data"]
    assert event["add_class_ids"] == [str(b.id)]
    assert event["remove_class_ids"] is None

    rows = len(store.tables.outbox)
    again = await students.update(teacher, student.id, StudentChanges(add_class_ids=[b.id]))
    assert again.updated_at == updated.updated_at
    assert len(store.tables.outbox) == rows


async def test_same_class_in_add_and_remove_is_invalid(
    classes: ClassUseCases, students: StudentUseCases, teacher: Actor
) -> None:
    a = await classes.create(teacher, "A", course_by_code("ENG5"))
    student = await students.create(teacher, PersonName("A", "B"), None, None)

    with pytest.raises(HuleEduError) as caught:
        await students.update(
            teacher, student.id, StudentChanges(add_class_ids=[a.id], remove_class_ids=[a.id])
        )

    assert caught.value.details["reason"] == "invalid_body"
    assert caught.value.details["errors"][0]["field"] == "remove_class_ids.0"


async def test_query_filter_is_literal_and_case_insensitive(
    students: StudentUseCases, teacher: Actor
) -> None:
    await students.create(teacher, PersonName("Anna", "Lindqvist"), "anna_l@example.com", None)
    await students.create(teacher, PersonName("Annabel", "Berg"), "annab@example.com", None)

    found = await students.list_page(teacher, class_id=None, query="ANNA L", limit=20, offset=0)
    underscore = await students.list_page(teacher, class_id=None, query="a_l", limit=20, offset=0)

    assert [s.last_name for s in found.items] == ["Lindqvist"]
    assert [s.last_name for s in underscore.items] == ["Lindqvist"]
