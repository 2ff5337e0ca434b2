"""PostgreSQLClasses against PostgreSQL: reads with counts, paging, delete and roster rules."""

from __future__ import annotations

from datetime import UTC
from uuid import uuid4

import pytest
from sqlalchemy import ColumnElement, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service.domain.models import ClassReference
from class_management_service.implementations.class_repository_postgres_impl import (
    PostgreSQLClassRepositoryImpl,
)
from class_management_service.models_db import (
    enrolments,
    essay_student_associations,
    students,
)
from common_core.courses import COURSES_BY_CODE, CourseCode
from tests.integration.db.builders import (
    OTHER_TEACHER,
    T0,
    TEACHER,
    a_class,
    a_placeholder,
    a_student,
    minutes,
)

pytestmark = pytest.mark.integration


async def test_added_class_reads_back_with_course_and_aware_utc_timestamps(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class(course=COURSES_BY_CODE[CourseCode.SV2])
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()
    async with uow:
        loaded = await uow.classes.get(school_class.id, owner_id=TEACHER)
    assert loaded == school_class
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at.utcoffset() == UTC.utcoffset(None)
    assert loaded.student_count == 0


async def test_other_teacher_cannot_read_class_but_service_callers_can(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()
    async with uow:
        assert await uow.classes.get(school_class.id, owner_id=OTHER_TEACHER) is None
        assert await uow.classes.get(uuid4(), owner_id=TEACHER) is None
        found = await uow.classes.get(school_class.id, owner_id=None)
    assert found is not None
    assert found.id == school_class.id


async def test_student_count_excludes_the_unknown_placeholder(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class, other_class = a_class(), a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.classes.add(other_class)
        await uow.students.add_many(
            [
                a_student(class_ids=[school_class.id]),
                a_student(class_ids=[school_class.id, other_class.id]),
                a_student(),
                a_placeholder(school_class.id),
            ]
        )
        await uow.commit()
    async with uow:
        loaded = await uow.classes.get(school_class.id, owner_id=TEACHER, for_update=True)
        page = await uow.classes.list_page(TEACHER, limit=10, offset=0)
    assert loaded is not None
    assert loaded.student_count == 2
    assert sorted(c.student_count for c in page.items) == [1, 2]


async def test_get_many_returns_only_the_owners_existing_classes(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    mine, foreign = a_class(), a_class(OTHER_TEACHER)
    async with uow:
        await uow.classes.add(mine)
        await uow.classes.add(foreign)
        await uow.commit()
    async with uow:
        found = await uow.classes.get_many(TEACHER, {mine.id, foreign.id, uuid4()})
        none = await uow.classes.get_many(TEACHER, [])
    assert found == {mine.id: ClassReference(mine.id, mine.name)}
    assert none == {}


async def test_list_is_newest_first_with_id_tiebreak_and_total(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    same_time = [a_class(created_at=minutes(5)) for _ in range(3)]
    older, newest = a_class(created_at=minutes(1)), a_class(created_at=minutes(9))
    async with uow:
        for school_class in [*same_time, older, newest, a_class(OTHER_TEACHER)]:
            await uow.classes.add(school_class)
        await uow.commit()
    expected = [newest.id, *sorted((c.id for c in same_time), reverse=True), older.id]
    async with uow:
        first = await uow.classes.list_page(TEACHER, limit=2, offset=0)
        second = await uow.classes.list_page(TEACHER, limit=2, offset=2)
        last = await uow.classes.list_page(TEACHER, limit=2, offset=4)
        everything = await uow.classes.list_page(TEACHER, limit=100, offset=0)
    assert [c.id for c in everything.items] == expected
    assert [c.id for c in first.items + second.items + last.items] == expected
    assert (first.total, second.total, last.total) == (5, 5, 5)


async def test_offset_past_the_end_gives_empty_page_with_correct_total(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    async with uow:
        for _ in range(3):
            await uow.classes.add(a_class())
        await uow.commit()
    async with uow:
        past = await uow.classes.list_page(TEACHER, limit=20, offset=50)
        nobody = await uow.classes.list_page("teacher-without-classes", limit=20, offset=0)
    assert (past.items, past.total) == ([], 3)
    assert (nobody.items, nobody.total) == ([], 0)


async def test_save_persists_name_course_and_updated_at(uow: PostgreSQLClassRepositoryImpl) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()
    school_class.apply_changes("9B English (spring)", COURSES_BY_CODE[CourseCode.ENG7], minutes(3))
    async with uow:
        await uow.classes.save(school_class)
        await uow.commit()
    async with uow:
        loaded = await uow.classes.get(school_class.id, owner_id=TEACHER)
    assert loaded is not None
    assert (loaded.name, loaded.course.code) == ("9B English (spring)", CourseCode.ENG7)
    assert (loaded.created_at, loaded.updated_at) == (T0, minutes(3))


async def _count(
    uow: PostgreSQLClassRepositoryImpl, table: Table, *where: ColumnElement[bool]
) -> int:
    statement = select(func.count()).select_from(table).where(*where)
    return (await uow.connection.execute(statement)).scalar_one()


async def test_delete_removes_enrolments_associations_and_placeholder_but_keeps_students(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    doomed, kept = a_class(), a_class()
    pupil = a_student(class_ids=[doomed.id, kept.id])
    async with uow:
        await uow.classes.add(doomed)
        await uow.classes.add(kept)
        await uow.students.add_many([pupil, a_placeholder(doomed.id), a_placeholder(kept.id)])
        await uow.connection.execute(
            insert(essay_student_associations),
            {
                "id": uuid4(),
                "essay_id": uuid4(),
                "batch_id": uuid4(),
                "class_id": doomed.id,
                "student_id": pupil.id,
                "created_by_user_id": "nlp_service_phase1",
            },
        )
        await uow.commit()
    async with uow:
        await uow.classes.delete(doomed)
        await uow.commit()
    async with uow:
        assert await uow.classes.get(doomed.id, owner_id=None) is None
        assert await _count(uow, enrolments, enrolments.c.class_id == doomed.id) == 0
        assert await _count(uow, essay_student_associations) == 0
        remaining = (await uow.connection.execute(select(students.c.email))).scalars().all()
        reloaded = await uow.students.get(pupil.id, owner_id=TEACHER)
    assert sorted(remaining, key=str) == sorted(
        [None, f"unknown.{kept.id}@huleedu.system"], key=str
    )
    assert reloaded is not None
    assert reloaded.class_ids == [kept.id]


async def test_roster_orders_by_lowercased_names_by_code_point_then_id(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    twins = sorted([uuid4(), uuid4()])
    people = [
        a_student(first_name="Omar", last_name="Haddad"),
        a_student(first_name="anna", last_name="lindqvist"),
        a_student(first_name="Bo", last_name="Lindqvist"),
        # Code-point order: "z" < "å" < "ö"; upper-case non-ASCII letters are lower-cased too.
        a_student(first_name="Åsa", last_name="Öberg"),
        a_student(first_name="Eva", last_name="Åberg"),
        a_student(first_name="Zoe", last_name="zetterberg"),
        a_student(first_name="Sam", last_name="Berg", student_id=twins[1]),
        a_student(first_name="sam", last_name="berg", student_id=twins[0]),
    ]
    for person in people:
        person.class_ids = [school_class.id]
    async with uow:
        await uow.classes.add(school_class)
        await uow.students.add_many([*people, a_placeholder(school_class.id)])
        await uow.commit()
    async with uow:
        roster = await uow.classes.roster(school_class.id)
    names = [(s.first_name, s.last_name) for s in roster]
    assert names == [
        ("sam", "berg"),
        ("Sam", "Berg"),
        ("Omar", "Haddad"),
        ("anna", "lindqvist"),
        ("Bo", "Lindqvist"),
        ("Zoe", "zetterberg"),
        ("Eva", "Åberg"),
        ("Åsa", "Öberg"),
    ]
    assert all(s.class_ids == [school_class.id] for s in roster)


async def test_roster_of_empty_or_missing_class_is_empty(
    uow: PostgreSQLClassRepositoryImpl,
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.students.add(a_placeholder(school_class.id))
        await uow.commit()
    async with uow:
        assert await uow.classes.roster(school_class.id) == []
        assert await uow.classes.roster(uuid4()) == []


async def test_get_for_update_locks_the_class_row_until_commit(
    uow: PostgreSQLClassRepositoryImpl, engine: AsyncEngine
) -> None:
    school_class = a_class()
    async with uow:
        await uow.classes.add(school_class)
        await uow.commit()
    rival = PostgreSQLClassRepositoryImpl(engine)
    async with uow:
        assert await uow.classes.get(school_class.id, owner_id=TEACHER, for_update=True)
        async with rival:
            await rival.connection.execute(text("SET LOCAL lock_timeout = '200ms'"))
            assert await rival.classes.get(school_class.id, owner_id=TEACHER) is not None
            with pytest.raises(DBAPIError, match="lock timeout"):
                await rival.classes.get(school_class.id, owner_id=TEACHER, for_update=True)
