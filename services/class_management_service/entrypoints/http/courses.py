"""Turns a request's ``course_codes`` into the one course it names (http-api.md §6.3)."""

from __future__ import annotations

from common_core.courses import COURSES, Course, course_by_code
from huleedu_service_libs.errors import validation_error

ALLOWED_COURSE_CODES = [course.code.value for course in COURSES]


def resolve_course(course_codes: list[str]) -> Course:
    """Unknown codes are reported before the exactly-one rule, as the contract orders them."""
    unknown = [code for code in course_codes if code not in ALLOWED_COURSE_CODES]
    if unknown:
        raise validation_error(
            "unknown_course_code",
            "Unknown course code",
            course_codes=unknown,
            allowed_course_codes=ALLOWED_COURSE_CODES,
        )
    if len(course_codes) != 1:
        raise validation_error(
            "multiple_course_codes",
            "A class belongs to exactly one course",
            provided_course_codes=course_codes,
        )
    return course_by_code(course_codes[0])
