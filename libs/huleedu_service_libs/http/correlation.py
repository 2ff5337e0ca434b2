"""The effective correlation id of a request (contract §3), echoed on every response."""

from __future__ import annotations

from contextvars import ContextVar
from uuid import UUID, uuid4

import structlog
from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    HTTPResponseStartEvent,
    Scope,
)
from quart import Quart, g, has_request_context, request

from huleedu_service_libs.http.uuids import canonical_uuid

CORRELATION_HEADER = "X-Correlation-ID"
_HEADER_KEY = CORRELATION_HEADER.lower().encode("ascii")

_current: ContextVar[UUID | None] = ContextVar("huleedu_correlation_id", default=None)


def resolve_correlation_id(raw: str | None) -> UUID:
    """The incoming id when it is a canonical UUID (lower-cased), else a fresh UUID4."""
    if raw is not None and (parsed := canonical_uuid(raw)) is not None:
        return parsed
    return uuid4()


def current_correlation_id() -> UUID:
    """The effective correlation id of the request being handled.

    Raises LookupError outside an HTTP request.
    """
    bound = _current.get()
    if bound is not None:
        return bound
    if has_request_context():
        # Only requests that bypass the ASGI middleware get here (e.g. test_request_context()).
        stored = g.get("correlation_id")
        if isinstance(stored, UUID):
            return stored
        resolved = resolve_correlation_id(request.headers.get(CORRELATION_HEADER))
        g.correlation_id = resolved
        return resolved
    raise LookupError("no correlation id outside an HTTP request")


def incoming_header(scope: Scope, name: bytes) -> str | None:
    """First value of a request header straight from an ASGI scope (names are lower-case)."""
    if scope["type"] == "lifespan":
        return None
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def with_correlation_header(
    message: HTTPResponseStartEvent, value: bytes
) -> HTTPResponseStartEvent:
    """The start event with exactly one ``X-Correlation-ID`` header carrying ``value``."""
    headers = [(key, val) for key, val in message["headers"] if key.lower() != _HEADER_KEY]
    headers.append((_HEADER_KEY, value))
    updated: HTTPResponseStartEvent = {**message, "headers": headers}
    return updated


class CorrelationMiddleware:
    """ASGI wrapper that resolves the id before Quart runs and stamps it on the response.

    Working at the ASGI edge (not in an after_request hook) covers every response Quart can
    produce, including routing errors and responses built after a failing teardown.
    """

    def __init__(self, app: ASGIFramework) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = resolve_correlation_id(incoming_header(scope, _HEADER_KEY))
        header_value = str(correlation_id).encode("ascii")

        async def send_with_id(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start":
                message = with_correlation_header(message, header_value)
            await send(message)

        # Quart handles the request in child tasks, which inherit these context variables.
        token = _current.set(correlation_id)
        log_tokens = structlog.contextvars.bind_contextvars(correlation_id=str(correlation_id))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**log_tokens)
            _current.reset(token)


async def _store_in_g() -> None:
    g.correlation_id = current_correlation_id()


def register_correlation(app: Quart) -> None:
    """Resolve, store (``g.correlation_id``, structlog context) and echo the correlation id.

    Register after ``register_error_handlers`` so this wrapper is the outermost one.
    """
    app.before_request(_store_in_g)
    # Quart documents wrapping asgi_app for middleware; mypy sees it as a method.
    app.asgi_app = CorrelationMiddleware(app.asgi_app)  # type: ignore[method-assign]
