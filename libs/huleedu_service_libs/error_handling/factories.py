"""Constructors for the errors every service raises, one per ``details.reason`` of the contract."""

from __future__ import annotations

from typing import Any

from common_core.error_enums import ErrorCode
from huleedu_service_libs.error_handling.huleedu_error import HuleEduError


def field_error(field: str, message: str, **extra: Any) -> dict[str, Any]:
    """One item of ``details.errors``."""
    return {"field": field, "message": message, **extra}


def validation_error(reason: str, message: str, **details: Any) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.VALIDATION_ERROR,
        message=message,
        details={"reason": reason, **details},
    )


def invalid_body(
    errors: list[dict[str, Any]], message: str = "Request body is invalid"
) -> HuleEduError:
    return validation_error("invalid_body", message, errors=errors)


def invalid_parameter(field: str, message: str) -> HuleEduError:
    return validation_error(
        "invalid_parameter", "Request parameter is invalid", errors=[field_error(field, message)]
    )


def conflict(field: str, value: str, message: str) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.VALIDATION_ERROR,
        message=message,
        details={"reason": "conflict", "field": field, "value": value},
        status_code=409,
    )


def not_found(resource: str, resource_id: str) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.RESOURCE_NOT_FOUND,
        message=f"{resource.capitalize()} not found",
        details={"reason": "not_found", "resource": resource, "id": resource_id},
    )


def authentication_error(reason: str, message: str) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.AUTHENTICATION_ERROR, message=message, details={"reason": reason}
    )


def dependency_unavailable(dependency: str) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.EXTERNAL_SERVICE_ERROR,
        message=f"{dependency.capitalize()} is unavailable",
        details={"reason": "dependency_unavailable", "dependency": dependency},
    )
