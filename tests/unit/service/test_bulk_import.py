"""Bulk import on the in-memory store: upsert by e-mail, outcomes and events."""

from __future__ import annotations

from uuid import uuid4

import pytest

from class_management_service.application.bulk_import import BulkImport, ImportRow
from class_management_service.application.classes import ClassUseCases
from class_management_service.application.context import Actor
from class_management_service.application.students import PersonName, StudentUseCases
from class_management_service.implementations.memory.store import InMemoryStore
from common_core.courses import course_by_code
from huleedu_service_libs.error_handling import HuleEduError


async def test_import_creates_enrols_and_recognises_existing_students(
    classes: ClassUseCases,
    students: StudentUseCases,
    bulk: BulkImport,
    store: InMemoryStore,
    teacher: Actor,
) -> None:
    target = await classes.create(teacher, "9B", course_by_code("ENG5"))
    enrolled = await students.create(
        teacher, PersonName("Anna", "L"), "anna@example.com", [target.id]
    )
    elsewhere = await students.create(teacher, PersonName("Sara", "B"), "sara@example.com", None)
    before = len(store.tables.outbox)

    result = await bulk.run(
        teacher,
        target.id,
        [
            ImportRow("Anna", "Renamed", "anna@example.com", None),
            ImportRow("Omar", "Haddad", None, None),
            ImportRow("Sara", "Berg", "sara@example.com", None),
        ],
    )

    assert [(r.row, r.outcome) for r in result.results] == [
        (1, "already_enrolled"),
        (2, "created"),
        (3, "enrolled"),
    ]
    assert result.results[0].student_id == enrolled.id
    assert result.results[2].student_id == elsewhere.id
    assert (await students.get(teacher, enrolled.id)).last_name == "L"
    assert (await classes.get(teacher, target.id)).student_count == 3
    new_rows = sorted(store.tables.outbox.values(), key=lambda r: r.seq)[before:]
    assert [(r.destination, r.event_type) for r in new_rows] == [
        ("kafka", "huleedu.class.student.created.v1"),
        ("kafka", "huleedu.class.student.updated.v1"),
    ]


async def test_import_into_foreign_class_is_not_found_and_writes_nothing(
    classes: ClassUseCases,
    bulk: BulkImport,
    store: InMemoryStore,
    teacher: Actor,
    other_teacher: Actor,
) -> None:
    foreign = await classes.create(other_teacher, "9X", course_by_code("ENG5"))
    before = (len(store.tables.students), len(store.tables.outbox))

    for class_id in (foreign.id, uuid4()):
        with pytest.raises(HuleEduError) as caught:
            await bulk.run(teacher, class_id, [ImportRow("A", "B", None, None)])
        assert caught.value.status_code == 404

    assert (len(store.tables.students), len(store.tables.outbox)) == before
