"""PostgreSQLStudents against PostgreSQL: class ids, search, paging and conflict errors."""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql

from class_management_service.domain.errors import EmailAlreadyUsed, EnrolmentConflict
from class_management_service.domain.models import SchoolClass, Student
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.implementations.postgres.students import _list_statement
from class_management_service.models_db import essay_student_associations
from tests.integration.db.builders import (
    OTHER_TEACHER,
    TEACHER,
    a_class,
    a_placeholder,
    a_student,
    minutes,
)

pytestmark = pytest.mark.integration


async def _given(
    uow: PostgreSQLClassRepositoryImpl, *students: Student, classes: int = 0
) -> list[SchoolClass]:
    made = [a_class() for _ in range(classes)]
    async with uow:
        for school_class in made:
            await uow.classes.add(school_class)
        if students:
            await uow.students.add_many(list(students))
        await uow.commit()
    return made


async def test_added_student_reads_back_with_ascending_class_ids(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    first, second = await _given(uow, classes=2)
    student = a_student(
        legal_full_name="Anna Maria Lindqvist",
        email="anna.lindqvist@example.com",
        class_ids=[second.id, first.id],
    )
    async with uow:
        await uow.students.add(student)
        await uow.commit()
    async with uow:
        loaded = await uow.students.get(student.id, owner_id=TEACHER, for_update=True)
        foreign = await uow.students.get(student.id, owner_id=OTHER_TEACHER)
    assert loaded == student
    assert loaded.class_ids == sorted([first.id, second.id])
    assert foreign is None


async def test_student_without_classes_has_empty_class_ids(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    student = a_student()
    await _given(uow, student)
    async with uow:
        loaded = await uow.students.get(student.id, owner_id=TEACHER)
    assert loaded is not None
    assert loaded.class_ids == []


async def test_duplicate_email_for_same_owner_raises_email_already_used(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    await _given(uow, a_student(email="anna@example.com"))
    async with uow:
        with pytest.raises(EmailAlreadyUsed) as caught:
            await uow.students.add(a_student(email="anna@example.com"))
    assert caught.value.details["value"] == "anna@example.com"


async def test_bulk_insert_names_the_conflicting_email(uow: PostgreSQLClassRepositoryImpl) -> None:
    await _given(uow, a_student(email="taken@example.com"))
    batch = [
        a_student(email="free1@example.com"),
        a_student(email="taken@example.com"),
        a_student(email="free2@example.com"),
    ]
    async with uow:
        with pytest.raises(EmailAlreadyUsed) as caught:
            await uow.students.add_many(batch)
    assert caught.value.details["value"] == "taken@example.com"
    async with uow:
        page = await uow.students.list_page(TEACHER, class_id=None, query=None, limit=10, offset=0)
    assert page.total == 1


async def test_same_email_for_other_owner_and_many_without_email_are_allowed(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    await _given(
        uow,
        a_student(email="shared@example.com"),
        a_student(OTHER_TEACHER, email="shared@example.com"),
        a_student(),
        a_student(),
    )
    async with uow:
        page = await uow.students.list_page(TEACHER, class_id=None, query=None, limit=10, offset=0)
    assert page.total == 3


async def test_changing_email_to_a_taken_one_raises_email_already_used(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    anna, bo = a_student(email="anna@example.com"), a_student(email="bo@example.com")
    await _given(uow, anna, bo)
    bo.email = "anna@example.com"
    async with uow:
        with pytest.raises(EmailAlreadyUsed):
            await uow.students.save(bo, enrolled=[], left=[])


async def test_enrolling_twice_raises_enrolment_conflict(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    (school_class,) = await _given(uow, classes=1)
    student = a_student(class_ids=[school_class.id])
    await _given(uow, student)
    async with uow:
        with pytest.raises(EnrolmentConflict) as in_save:
            await uow.students.save(student, enrolled=[school_class.id], left=[])
    async with uow:
        with pytest.raises(EnrolmentConflict) as in_enroll:
            await uow.students.enroll(school_class.id, [student.id], minutes(1))
    assert in_save.value.details["value"] == str(school_class.id)
    assert in_enroll.value.details["value"] == str(school_class.id)


async def test_save_updates_fields_and_enrolments(uow: PostgreSQLClassRepositoryImpl) -> None:
    stay, leave, join = await _given(uow, classes=3)
    student = a_student(email="old@example.com", class_ids=[stay.id, leave.id])
    await _given(uow, student)
    student.first_name, student.last_name = "Bo", "Berg"
    student.legal_full_name, student.email = "Bo Erik Berg", "new@example.com"
    student.updated_at = minutes(7)
    async with uow:
        await uow.students.save(student, enrolled=[join.id], left=[leave.id])
        await uow.commit()
    async with uow:
        loaded = await uow.students.get(student.id, owner_id=TEACHER)
    assert loaded is not None
    assert (loaded.first_name, loaded.last_name, loaded.legal_full_name, loaded.email) == (
        "Bo",
        "Berg",
        "Bo Erik Berg",
        "new@example.com",
    )
    assert loaded.updated_at == minutes(7)
    assert loaded.class_ids == sorted([stay.id, join.id])


async def test_enroll_adds_the_class_and_moves_updated_at(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    (school_class,) = await _given(uow, classes=1)
    anna, bo, untouched = a_student(), a_student(), a_student()
    await _given(uow, anna, bo, untouched)
    async with uow:
        await uow.students.enroll(school_class.id, [anna.id, bo.id], minutes(4))
        await uow.students.enroll(school_class.id, [], minutes(5))
        await uow.commit()
    async with uow:
        loaded = [await uow.students.get(s.id, owner_id=TEACHER) for s in (anna, bo, untouched)]
    assert [(s.class_ids, s.updated_at) for s in loaded if s] == [
        ([school_class.id], minutes(4)),
        ([school_class.id], minutes(4)),
        ([], untouched.updated_at),
    ]


async def test_get_by_emails_returns_only_the_owners_matches(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    anna = a_student(email="anna@example.com")
    await _given(uow, anna, a_student(OTHER_TEACHER, email="bo@example.com"))
    async with uow:
        found = await uow.students.get_by_emails(
            TEACHER, ["anna@example.com", "bo@example.com", "nobody@example.com"]
        )
        nothing = await uow.students.get_by_emails(TEACHER, [])
    assert list(found) == ["anna@example.com"]
    assert found["anna@example.com"].id == anna.id
    assert nothing == {}


async def test_list_is_newest_first_with_total_and_offset_past_end(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    same_time = [a_student(created_at=minutes(2)) for _ in range(3)]
    oldest, newest = a_student(created_at=minutes(0)), a_student(created_at=minutes(9))
    await _given(uow, *same_time, oldest, newest, a_student(OTHER_TEACHER))
    expected = [newest.id, *sorted((s.id for s in same_time), reverse=True), oldest.id]
    pages = []
    async with uow:
        for offset in (0, 2, 4, 10):
            pages.append(
                await uow.students.list_page(
                    TEACHER, class_id=None, query=None, limit=2, offset=offset
                )
            )
    assert [s.id for page in pages for s in page.items] == expected
    assert [page.total for page in pages] == [5, 5, 5, 5]
    assert pages[-1].items == []


async def test_list_filters_by_class_and_never_returns_placeholders(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class, other_class = await _given(uow, classes=2)
    member = a_student(class_ids=[school_class.id, other_class.id])
    await _given(uow, member, a_student(class_ids=[other_class.id]), a_placeholder(school_class.id))
    async with uow:
        page = await uow.students.list_page(
            TEACHER, class_id=school_class.id, query=None, limit=10, offset=0
        )
        past = await uow.students.list_page(
            TEACHER, class_id=school_class.id, query=None, limit=10, offset=5
        )
        foreign = await uow.students.list_page(
            OTHER_TEACHER, class_id=school_class.id, query=None, limit=10, offset=0
        )
    assert [s.id for s in page.items] == [member.id]
    assert page.items[0].class_ids == sorted([school_class.id, other_class.id])
    assert (page.total, past.total, foreign.total) == (1, 1, 0)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("LINDQ", {"anna"}),
        ("anna l", {"anna"}),
        ("maria", {"anna"}),
        ("@EXAMPLE.se", {"bo"}),
        ("100%", {"percent"}),
        ("%", {"percent"}),
        ("a_b", {"underscore"}),
        ("_", {"underscore"}),
        ("back\\slash", {"backslash"}),
        ("\\", {"backslash"}),
        ("nobody", set()),
    ],
)
async def test_query_is_a_literal_case_insensitive_substring(
    uow: PostgreSQLClassRepositoryImpl, query: str, expected: set[str]
) -> None:
    people = {
        "anna": a_student(first_name="Anna", last_name="Lindqvist", legal_full_name="Anna Maria"),
        "bo": a_student(first_name="Bo", last_name="Berg", email="bo@example.se"),
        "percent": a_student(first_name="Hundred", last_name="100%"),
        "underscore": a_student(first_name="Snake", last_name="Case", email="a_b@example.com"),
        "backslash": a_student(first_name="Back", last_name="Slash", legal_full_name="back\\slash"),
        # Decoys that the unescaped wildcards would match.
        "decoy": a_student(first_name="A", last_name="xb", email="axb@example.com"),
    }
    await _given(uow, *people.values(), a_student(OTHER_TEACHER, first_name="Anna"))
    names = {student.id: key for key, student in people.items()}
    async with uow:
        page = await uow.students.list_page(TEACHER, class_id=None, query=query, limit=50, offset=0)
    assert {names[s.id] for s in page.items} == expected
    assert page.total == len(expected)


async def test_delete_removes_enrolments_and_detaches_associations(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    (school_class,) = await _given(uow, classes=1)
    student = a_student(class_ids=[school_class.id])
    await _given(uow, student)
    association_id = uuid4()
    async with uow:
        await uow.connection.execute(
            insert(essay_student_associations),
            {
                "id": association_id,
                "essay_id": uuid4(),
                "batch_id": uuid4(),
                "class_id": school_class.id,
                "student_id": student.id,
                "suggested_student_id": student.id,
                "created_by_user_id": "nlp_service_phase1",
            },
        )
        await uow.students.delete(student)
        await uow.commit()
    async with uow:
        association = (
            await uow.connection.execute(
                select(
                    essay_student_associations.c.student_id,
                    essay_student_associations.c.suggested_student_id,
                )
            )
        ).one()
        loaded = await uow.classes.get(school_class.id, owner_id=TEACHER)
    assert tuple(association) == (None, None)
    assert loaded is not None
    assert loaded.student_count == 0


async def test_bulk_import_of_5000_students_is_fast(uow: PostgreSQLClassRepositoryImpl) -> None:
    (school_class,) = await _given(uow, classes=1)
    rows = [
        a_student(email=f"pupil{n}@example.com", class_ids=[school_class.id]) for n in range(5000)
    ]
    started = time.perf_counter()
    async with uow:
        await uow.students.add_many(rows)
        await uow.commit()
    elapsed = time.perf_counter() - started
    async with uow:
        loaded = await uow.classes.get(school_class.id, owner_id=TEACHER)
        found = await uow.students.get_by_emails(TEACHER, [s.email for s in rows if s.email])
    assert loaded is not None
    assert loaded.student_count == 5000
    assert len(found) == 5000
    # Generous bound for a loaded CI machine; per-row round trips would take far longer.
    assert elapsed < 5, f"5,000-row import took {elapsed:.2f}s"


async def test_many_students_added_at_once_read_back_exactly(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    first, second = await _given(uow, classes=2)
    memberships = ([], [first.id], [first.id, second.id])
    batch = [
        a_student(
            first_name=f"Åsa{n}",
            last_name=f"O'Brien-{n}",
            # Commas, quotes and braces are what an array literal would have to escape.
            legal_full_name=f'Åsa {n} "{{O\'Brien}}", Jr' if n % 5 else None,
            # Every third student has no e-mail: NULL must stay NULL, not become "" or "None".
            email=None if n % 3 == 0 else f"pupil{n}@example.com",
            class_ids=memberships[n % 3],
            created_at=minutes(n % 7),
        )
        for n in range(1000)
    ]
    await _given(uow, *batch)
    async with uow:
        page = await uow.students.list_page(
            TEACHER, class_id=None, query=None, limit=2000, offset=0
        )
        in_second = await uow.students.list_page(
            TEACHER, class_id=second.id, query=None, limit=1, offset=0
        )
    assert page.total == 1000
    assert {s.id: s for s in page.items} == {s.id: s for s in batch}
    assert sum(s.email is None for s in page.items) == 334
    assert in_second.total == 333


def _probes_of(node: dict[str, Any], in_subplan: bool = False) -> list[bool]:
    """For each scan of the enrolment primary key: is it inside a SubPlan (a per-row probe)?"""
    in_subplan = in_subplan or node.get("Parent Relationship") == "SubPlan"
    found = [in_subplan] if node.get("Index Name") == "class_student_association_pkey" else []
    for child in node.get("Plans", []):
        found += _probes_of(child, in_subplan)
    return found


async def test_class_filter_stays_a_primary_key_probe_whatever_the_statistics(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    # Right after a bulk import the planner's row estimates are stale; a join planned on them
    # degenerated into a 5,000 x 5,000 nested loop. The filter must stay a per-row probe.
    statement = _list_statement(in_class=True, searching=False).params(
        owner_id=TEACHER, class_id=uuid4(), limit=20, offset=0
    )
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with uow:
        explained = (
            await uow.connection.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))
        ).scalar_one()
    assert _probes_of(explained[0]["Plan"]) == [True]
