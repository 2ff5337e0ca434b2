"""The platform's structured errors: ``HuleEduError`` and one constructor per contract reason."""

from huleedu_service_libs.error_handling.factories import (
    authentication_error,
    conflict,
    dependency_unavailable,
    field_error,
    invalid_body,
    invalid_parameter,
    not_found,
    validation_error,
)
from huleedu_service_libs.error_handling.huleedu_error import HuleEduError

__all__ = [
    "HuleEduError",
    "authentication_error",
    "conflict",
    "dependency_unavailable",
    "field_error",
    "invalid_body",
    "invalid_parameter",
    "not_found",
    "validation_error",
]
