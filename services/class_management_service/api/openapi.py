"""The OpenAPI document's service-wide parts: security schemes, tags, and its wiring into the app.

Operations are described where they are served (the route modules' decorators); see
``huleedu_service_libs.http.openapi_document`` for the conventions the provider adds.
"""

from __future__ import annotations

from quart import Quart
from quart_schema import Info, QuartSchema, Tag
from quart_schema.openapi import SecuritySchemeBase

from huleedu_service_libs.http.api_docs import docs_blueprint
from huleedu_service_libs.http.auth import API_KEY_HEADER, SERVICE_ID_HEADER, USER_ID_HEADER
from huleedu_service_libs.http.openapi_document import (
    ANONYMOUS_CALLERS_CONFIG,
    HeaderKeyScheme,
    PlatformOpenAPIProvider,
)

SecurityRequirements = list[dict[str, list[str]]]

TEACHER: SecurityRequirements = [{"teacher": []}]
SERVICE: SecurityRequirements = [{"serviceKey": [], "serviceId": []}]
# http-api.md §2.3: the owner, a service, or (unless ROSTER_REQUIRE_SERVICE_CREDENTIALS) an
# internal caller without identity headers; the provider drops ``{}`` when that is refused.
ROSTER_CALLERS: SecurityRequirements = [*TEACHER, *SERVICE, {}]

SECURITY_SCHEMES: dict[str, SecuritySchemeBase | dict[str, object]] = {
    "teacher": HeaderKeyScheme(
        name=USER_ID_HEADER,
        description=(
            "The teacher's id, set by the API gateway: any non-blank value of at most 255 "
            "characters except the reserved system identities."
        ),
    ),
    "serviceKey": HeaderKeyScheme(
        name=API_KEY_HEADER, description="The platform's shared internal API key"
    ),
    "serviceId": HeaderKeyScheme(name=SERVICE_ID_HEADER, description="The calling service's id"),
}

TAGS: list[Tag | dict[str, object]] = [
    Tag(name="classes", description="A teacher's classes, their rosters and bulk imports"),
    Tag(name="students", description="A teacher's students and their enrolments"),
    Tag(name="associations", description="Reviewing and confirming essay-student matches"),
    Tag(name="internal", description="Look-ups for the platform's other services"),
    Tag(name="operations", description="Health, metrics and this documentation"),
]


def allow_anonymous_roster(app: Quart, allowed: bool) -> None:
    """Whether the document offers the roster's anonymous alternative; call before serving."""
    app.config[ANONYMOUS_CALLERS_CONFIG] = allowed


def configure_openapi(app: Quart, *, title: str, version: str) -> None:
    """Generate the document from the app's routes and serve it with Swagger UI at ``/docs``."""
    QuartSchema(
        app,
        info=Info(
            title=title,
            version=version,
            description=(
                "Classes, students and essay-student associations of HuleEdu. Every error "
                "answers with the `ErrorBody` shape; every response carries `X-Correlation-ID`."
            ),
        ),
        tags=TAGS,
        security_schemes=SECURITY_SCHEMES,
        # The document and the page are served by register_api_docs (no CDN).
        openapi_path=None,
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        convert_casing=False,
        openapi_provider_class=PlatformOpenAPIProvider,
    )
    app.register_blueprint(docs_blueprint(title))
