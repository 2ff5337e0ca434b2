"""Domain objects with sensible defaults for the repository tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from class_management_service.domain.models import SchoolClass, Student
from common_core.courses import COURSES_BY_CODE, Course, CourseCode
from common_core.topics import SYSTEM_TIMEOUT

T0 = datetime(2026, 11, 26, 9, 15, 2, 481516, tzinfo=UTC)
TEACHER = "teacher-a"
OTHER_TEACHER = "teacher-b"
ENG5 = COURSES_BY_CODE[CourseCode.ENG5]


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def a_class(
    owner: str = TEACHER,
    *,
    name: str = "9B English",
    course: Course = ENG5,
    created_at: datetime = T0,
    class_id: UUID | None = None,
) -> SchoolClass:
    return SchoolClass(
        id=class_id or uuid4(),
        name=name,
        course=course,
        owner_id=owner,
        created_at=created_at,
        updated_at=created_at,
    )


def a_student(
    owner: str = TEACHER,
    *,
    first_name: str = "Anna",
    last_name: str = "Lindqvist",
    legal_full_name: str | None = None,
    email: str | None = None,
    class_ids: Iterable[UUID] = (),
    created_at: datetime = T0,
    student_id: UUID | None = None,
) -> Student:
    return Student(
        id=student_id or uuid4(),
        first_name=first_name,
        last_name=last_name,
        legal_full_name=legal_full_name or f"{first_name} {last_name}",
        email=email,
        owner_id=owner,
        created_at=created_at,
        updated_at=created_at,
        class_ids=sorted(class_ids),
    )


def a_placeholder(class_id: UUID) -> Student:
    """The class's UNKNOWN student exactly as the timeout monitor creates it."""
    return a_student(
        SYSTEM_TIMEOUT,
        first_name="UNKNOWN",
        last_name="STUDENT",
        email=f"unknown.{class_id}@huleedu.system",
        class_ids=[class_id],
    )
