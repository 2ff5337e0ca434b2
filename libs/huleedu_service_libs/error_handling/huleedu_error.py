"""``HuleEduError``: the platform's typed error, rendered as the standard error body.

Framework-free on purpose: domain code raises it, and one HTTP handler
(``huleedu_service_libs.http.error_handlers``) turns it into a response.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from common_core.error_enums import ErrorCode

_DEFAULT_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.AUTHENTICATION_ERROR: 401,
    ErrorCode.RESOURCE_NOT_FOUND: 404,
    ErrorCode.PROCESSING_ERROR: 500,
    ErrorCode.UNKNOWN_ERROR: 500,
    ErrorCode.EXTERNAL_SERVICE_ERROR: 502,
}


class HuleEduError(Exception):
    """An error with a platform code, an HTTP status and a ``details`` object.

    Raised as the seed shows: ``HuleEduError(error_code=..., message=..., correlation_id=...)``.
    ``correlation_id`` is optional: an HTTP error without one carries the request's
    (``X-Correlation-ID``), which the renderer adds; a worker passes the event's.
    """

    def __init__(
        self,
        error_code: ErrorCode,
        message: str,
        *,
        correlation_id: UUID | None = None,
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.correlation_id = correlation_id
        self.details: dict[str, Any] = details if details is not None else {}
        self.status_code = status_code if status_code is not None else _DEFAULT_STATUS[error_code]
        self.headers: dict[str, str] = headers or {}

    @property
    def reason(self) -> str | None:
        reason = self.details.get("reason")
        return reason if isinstance(reason, str) else None
