"""Classes, students and pages of them: plain data with the rules that belong to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from common_core.courses import Course

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ClassReference:
    """A class named by a request (enrolments): what the references check and events need."""

    id: UUID
    name: str


@dataclass
class SchoolClass:
    """A teacher's teaching group for exactly one course."""

    id: UUID
    name: str
    course: Course
    owner_id: str
    created_at: datetime
    updated_at: datetime
    student_count: int = 0

    def reference(self) -> ClassReference:
        return ClassReference(self.id, self.name)

    def apply_changes(self, name: str | None, course: Course | None, now: datetime) -> bool:
        """Apply an update; return whether anything really changed (then ``updated_at`` moves)."""
        changed = False
        if name is not None and name != self.name:
            self.name = name
            changed = True
        if course is not None and course.code != self.course.code:
            self.course = course
            changed = True
        if changed:
            self.updated_at = now
        return changed


@dataclass
class Student:
    """A person record owned by one teacher, enrolled in some of that teacher's classes."""

    id: UUID
    first_name: str
    last_name: str
    legal_full_name: str
    email: str | None
    owner_id: str
    created_at: datetime
    updated_at: datetime
    class_ids: list[UUID] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int


def default_legal_name(first_name: str, last_name: str, legal_full_name: str | None) -> str:
    """The legal name, defaulting to ``first last`` when absent or blank."""
    if legal_full_name is None or not legal_full_name.strip():
        return f"{first_name} {last_name}"
    return legal_full_name.strip()
