"""The Quart application: HTTP conventions, blueprints, DI and the OpenAPI document."""

from __future__ import annotations

from dishka import AsyncContainer
from prometheus_client import CollectorRegistry
from quart_dishka import QuartDishka
from quart_schema import Info, QuartSchema
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service import SERVICE_NAME, SERVICE_VERSION
from class_management_service.entrypoints.http import batches, classes, health, internal, students
from huleedu_service_libs.http.app import HuleEduApp
from huleedu_service_libs.http.metrics import register_http_metrics
from huleedu_service_libs.http.setup import configure_http

API_TITLE = "HuleEdu Class Management Service"


def create_app(
    container: AsyncContainer,
    database_engine: AsyncEngine | None,
    registry: CollectorRegistry,
) -> HuleEduApp:
    """The app on an existing container; ``registry`` must be the container's registry."""
    app = HuleEduApp(__name__, container=container, database_engine=database_engine)
    configure_http(app, service_name=SERVICE_NAME)
    register_http_metrics(app, registry, prefix="cms")
    QuartSchema(
        app,
        info=Info(title=API_TITLE, version=SERVICE_VERSION),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        convert_casing=False,
    )
    # Student routes first: the literal "students" segment must win over {class_id}.
    app.register_blueprint(students.blueprint)
    app.register_blueprint(classes.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(batches.blueprint)
    app.register_blueprint(internal.blueprint)
    # Routes opt in with @inject; auto_inject would also wrap quart-schema's own routes.
    QuartDishka(app=app, container=container)

    @app.after_serving
    async def _close_container() -> None:
        await container.close()

    return app
