"""The one rendering of the standard error body (contract §4.1) for every failure path."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import structlog
from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from quart import Quart, Response, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

from common_core.error_enums import ErrorCode
from common_core.timeutil import to_iso_z, utc_now
from huleedu_service_libs.error_handling import HuleEduError, dependency_unavailable
from huleedu_service_libs.http.body import MAX_BODY_BYTES, payload_too_large
from huleedu_service_libs.http.correlation import current_correlation_id
from huleedu_service_libs.http.db_errors import is_database_unavailable
from huleedu_service_libs.http.responses import JSON_MEDIA_TYPE, dumps, json_response

logger = structlog.get_logger(__name__)


def error_body(error: HuleEduError, *, service_name: str, correlation_id: UUID) -> dict[str, Any]:
    return {
        "error": {
            "code": error.error_code.value,
            "message": error.message,
            "correlation_id": str(correlation_id),
            "service": service_name,
            "timestamp": to_iso_z(utc_now()),
            "details": error.details,
        }
    }


def error_response(error: HuleEduError, service_name: str) -> Response:
    correlation_id = error.correlation_id or current_correlation_id()
    body = error_body(error, service_name=service_name, correlation_id=correlation_id)
    return json_response(body, status=error.status_code, headers=error.headers)


def unexpected_error(error: BaseException) -> HuleEduError:
    """What an exception that no route handled means for the client: 502 or 500."""
    if is_database_unavailable(error):
        # First line only: SQLAlchemy appends the statement's parameters, which may hold PII.
        summary = str(error).splitlines()[0] if str(error) else ""
        logger.warning("database_unavailable", error_type=type(error).__name__, error=summary)
        return dependency_unavailable("database")
    logger.error("unhandled_exception", exc_info=error)
    return HuleEduError(error_code=ErrorCode.UNKNOWN_ERROR, message="An unexpected error occurred")


def route_not_found(path: str) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.RESOURCE_NOT_FOUND,
        message="No such route",
        details={"reason": "route_not_found", "path": path},
    )


def method_not_allowed(method: str, allowed: list[str]) -> HuleEduError:
    return HuleEduError(
        error_code=ErrorCode.VALIDATION_ERROR,
        message=f"Method {method} is not allowed here",
        details={"reason": "method_not_allowed", "method": method, "allowed": allowed},
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )


def _from_http_exception(error: HTTPException) -> HuleEduError:
    if isinstance(error, NotFound):
        return route_not_found(request.path)
    if isinstance(error, MethodNotAllowed):
        return method_not_allowed(request.method, sorted(error.valid_methods or ()))
    if isinstance(error, RequestEntityTooLarge):
        return payload_too_large(MAX_BODY_BYTES)
    if isinstance(error, InternalServerError) and error.original_exception is not None:
        return unexpected_error(error.original_exception)
    # Anything else werkzeug raises (e.g. a body timeout, request.args["x"] on a missing key)
    # has no place in the contract's catalogue, so it is an unexpected failure.
    return unexpected_error(error)


def register_error_handlers(app: Quart, service_name: str) -> None:
    """Render HuleEduError, routing errors, 413 and unexpected exceptions as the standard body.

    Also wraps the ASGI app in an ErrorBoundary for failures Quart lets escape (e.g. a raising
    teardown hook); call ``register_correlation`` afterwards so its wrapper is outermost.
    """

    async def handle_huleedu_error(error: HuleEduError) -> Response:
        if error.status_code >= 500:
            logger.error("request_failed", code=error.error_code.value, reason=error.reason)
        return error_response(error, service_name)

    async def handle_http_exception(error: HTTPException) -> Response:
        return error_response(_from_http_exception(error), service_name)

    async def handle_exception(error: Exception) -> Response:
        return error_response(unexpected_error(error), service_name)

    app.register_error_handler(HuleEduError, handle_huleedu_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_exception)
    app.asgi_app = ErrorBoundary(app.asgi_app, service_name)  # type: ignore[method-assign]


class ErrorBoundary:
    """ASGI wrapper turning an exception that escaped Quart into the standard 500/502 body.

    Quart's error handlers cannot see failures in teardown hooks (e.g. closing the request's DI
    scope): those propagate out of the ASGI app and the server would answer with its own page.
    """

    def __init__(self, app: ASGIFramework, service_name: str) -> None:
        self.app = app
        self.service_name = service_name

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: ASGISendEvent) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise
            known = error if isinstance(error, HuleEduError) else unexpected_error(error)
            await self._send_error(send, known)

    async def _send_error(self, send: ASGISendCallable, error: HuleEduError) -> None:
        try:
            correlation_id = current_correlation_id()
        except LookupError:
            correlation_id = uuid4()
        body = dumps(
            error_body(error, service_name=self.service_name, correlation_id=correlation_id)
        )
        headers = [
            (b"content-type", JSON_MEDIA_TYPE.encode("ascii")),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"x-correlation-id", str(correlation_id).encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
