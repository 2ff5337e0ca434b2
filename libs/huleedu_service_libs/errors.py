"""Typed errors that render as the platform's standard error body.

This module is framework-free on purpose: domain code raises these, and one HTTP handler
(``huleedu_service_libs.http.error_handlers``) turns them into responses.
"""

from __future__ import annotations

from typing import Any

from common_core.error_codes import ErrorCode

_DEFAULT_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.AUTHENTICATION_ERROR: 401,
    ErrorCode.RESOURCE_NOT_FOUND: 404,
    ErrorCode.PROCESSING_ERROR: 500,
    ErrorCode.UNKNOWN_ERROR: 500,
    ErrorCode.EXTERNAL_SERVICE_ERROR: 502,
}


class HuleEduError(Exception):
    """An error with a platform code, an HTTP status and a ``details`` object."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details if details is not None else {}
        self.status_code = status_code if status_code is not None else _DEFAULT_STATUS[code]
        self.headers: dict[str, str] = headers or {}

    @property
    def reason(self) -> str | None:
        reason = self.details.get("reason")
        return reason if isinstance(reason, str) else None


def field_error(field: str, message: str, **extra: Any) -> dict[str, Any]:
    """One item of ``details.errors``."""
    return {"field": field, "message": message, **extra}


def validation_error(reason: str, message: str, **details: Any) -> HuleEduError:
    return HuleEduError(ErrorCode.VALIDATION_ERROR, message, details={"reason": reason, **details})


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
        ErrorCode.VALIDATION_ERROR,
        message,
        details={"reason": "conflict", "field": field, "value": value},
        status_code=409,
    )


def not_found(resource: str, resource_id: str) -> HuleEduError:
    return HuleEduError(
        ErrorCode.RESOURCE_NOT_FOUND,
        f"{resource.capitalize()} not found",
        details={"reason": "not_found", "resource": resource, "id": resource_id},
    )


def authentication_error(reason: str, message: str) -> HuleEduError:
    return HuleEduError(ErrorCode.AUTHENTICATION_ERROR, message, details={"reason": reason})


def dependency_unavailable(dependency: str) -> HuleEduError:
    return HuleEduError(
        ErrorCode.EXTERNAL_SERVICE_ERROR,
        f"{dependency.capitalize()} is unavailable",
        details={"reason": "dependency_unavailable", "dependency": dependency},
    )
