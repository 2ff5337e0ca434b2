"""Single course validation: the one course a class's ``course_codes`` name (http-api.md §6.3)."""

from __future__ import annotations

from collections.abc import Sequence

from class_management_service.domain.errors import MultipleCourseError, UnknownCourseError
from common_core.courses import COURSES, Course, course_by_code

ALLOWED_COURSE_CODES = tuple(course.code.value for course in COURSES)


def single_course(course_codes: Sequence[str]) -> Course:
    """Unknown codes are reported before the exactly-one rule, as the contract orders them;
    duplicates such as ``["ENG5", "ENG5"]`` are still more than one code."""
    unknown = [code for code in course_codes if code not in ALLOWED_COURSE_CODES]
    if unknown:
        raise UnknownCourseError(unknown, ALLOWED_COURSE_CODES)
    # The request schema already turns an empty list into invalid_body; ``!= 1`` keeps the
    # rule whole for any other caller.
    if len(course_codes) != 1:
        raise MultipleCourseError(course_codes)
    return course_by_code(course_codes[0])
