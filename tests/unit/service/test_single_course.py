"""Single course validation (the seed's key pattern): one class, exactly one known course."""

from __future__ import annotations

import pytest

from class_management_service.domain.courses import single_course
from class_management_service.domain.errors import MultipleCourseError, UnknownCourseError
from common_core.courses import CourseCode


@pytest.mark.parametrize("code", [c.value for c in CourseCode])
def test_one_known_code_names_its_course(code: str) -> None:
    assert single_course([code]).code.value == code


@pytest.mark.parametrize("codes", [["ENG5", "SV1"], ["ENG5", "ENG5"], ["SV1", "SV2", "SV3"]])
def test_more_than_one_code_raises_multiple_course_error(codes: list[str]) -> None:
    with pytest.raises(MultipleCourseError) as raised:
        single_course(codes)

    error = raised.value
    assert (error.status_code, error.error_code) == (400, "VALIDATION_ERROR")
    assert error.details == {"reason": "multiple_course_codes", "provided_course_codes": codes}


def test_unknown_codes_are_reported_before_the_one_course_rule() -> None:
    with pytest.raises(UnknownCourseError) as raised:
        single_course(["ENG5", "eng6", "XX"])

    assert raised.value.details == {
        "reason": "unknown_course_code",
        "course_codes": ["eng6", "XX"],
        "allowed_course_codes": ["ENG5", "ENG6", "ENG7", "SV1", "SV2", "SV3"],
    }
