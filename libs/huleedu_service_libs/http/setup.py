"""Wire the HTTP conventions (contract §1-§4) into a Quart app in the right order."""

from __future__ import annotations

from quart import Quart, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from huleedu_service_libs.http.access_log import register_access_log
from huleedu_service_libs.http.body import MAX_BODY_BYTES
from huleedu_service_libs.http.correlation import register_correlation
from huleedu_service_libs.http.error_handlers import register_error_handlers
from huleedu_service_libs.http.params import ClassIdConverter


async def _no_redirects() -> None:
    # Werkzeug answers some near-miss paths with a 308 (a missing trailing slash on a rule that
    # has one, "//" in a path); the contract wants 404 for any path not written exactly.
    if isinstance(request.routing_exception, RequestRedirect):
        request.routing_exception = NotFound()


def configure_http(app: Quart, *, service_name: str) -> None:
    """Apply the platform's HTTP conventions. Call before registering any route.

    Trailing slashes: a path answers with and without a final slash only if both rules are
    registered explicitly (stack ``@bp.route("/v1/classes")`` and ``@bp.route("/v1/classes/")``);
    every other path with an extra slash is 404 ``route_not_found``, never a redirect.
    """
    if any(rule.endpoint != "static" for rule in app.url_map.iter_rules()):
        # Converters and the OPTIONS setting are read when a rule is added.
        raise RuntimeError("configure_http() must run before routes are registered")
    # Quart's limit is checked lazily (when the body is awaited) and stops buffering once over,
    # so it bounds memory without pre-empting 401/400 checks; read_body maps it to the 413 body.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # OPTIONS is not part of the contract: it gets 405 and never appears in an Allow header.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.converters["class_id"] = ClassIdConverter
    register_access_log(app)
    app.before_request(_no_redirects)
    register_error_handlers(app, service_name)
    register_correlation(app)
