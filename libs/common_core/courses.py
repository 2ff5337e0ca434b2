"""The six fixed courses, seeded with identical ids in every database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID


class CourseCode(StrEnum):
    ENG5 = "ENG5"
    ENG6 = "ENG6"
    ENG7 = "ENG7"
    SV1 = "SV1"
    SV2 = "SV2"
    SV3 = "SV3"


class Language(StrEnum):
    EN = "en"
    SV = "sv"


@dataclass(frozen=True, slots=True)
class Course:
    id: UUID
    code: CourseCode
    name: str
    language: Language


COURSES: tuple[Course, ...] = (
    Course(UUID("c48e526d-99e0-4be9-8d79-0c3eec060b20"), CourseCode.ENG5, "English 5", Language.EN),
    Course(UUID("e513fe6f-214f-428d-9aaa-dcc9bda0dd51"), CourseCode.ENG6, "English 6", Language.EN),
    Course(UUID("9de916a0-ea6e-47b3-b283-b7e3ae50b3c4"), CourseCode.ENG7, "English 7", Language.EN),
    Course(UUID("cb663a51-d287-44b5-8974-a6b6ac50df4a"), CourseCode.SV1, "Svenska 1", Language.SV),
    Course(UUID("6d4ba959-99a0-45e7-8437-bed12bebfb64"), CourseCode.SV2, "Svenska 2", Language.SV),
    Course(UUID("20cee185-b9b1-4fcb-bb3f-5f67d8120214"), CourseCode.SV3, "Svenska 3", Language.SV),
)

COURSES_BY_CODE: Mapping[CourseCode, Course] = MappingProxyType({c.code: c for c in COURSES})
COURSES_BY_ID: Mapping[UUID, Course] = MappingProxyType({c.id: c for c in COURSES})


def course_by_code(code: CourseCode | str) -> Course:
    """Return the course with this exact code; raise ``KeyError`` for anything else."""
    try:
        return COURSES_BY_CODE[CourseCode(code)]
    except ValueError:
        raise KeyError(code) from None


def course_by_id(course_id: UUID) -> Course:
    """Return the course with this id; raise ``KeyError`` if it is not one of the six."""
    return COURSES_BY_ID[course_id]
