"""The Quart application: HTTP conventions, blueprints, DI and the OpenAPI document."""

from __future__ import annotations

from dishka import AsyncContainer
from prometheus_client import CollectorRegistry
from quart_dishka import QuartDishka
from sqlalchemy.ext.asyncio import AsyncEngine

from class_management_service import SERVICE_NAME, SERVICE_VERSION
from class_management_service.api import (
    batch_routes,
    class_routes,
    health_routes,
    internal_routes,
    student_routes,
)
from class_management_service.api.health_routes import BACKGROUND_KEY
from class_management_service.api.openapi import allow_anonymous_roster, configure_openapi
from class_management_service.background import Background, build_background, disabled_background
from class_management_service.config import Settings
from class_management_service.metrics import ServiceMetrics
from huleedu_service_libs.http.app import HuleEduApp
from huleedu_service_libs.http.metrics import register_http_metrics
from huleedu_service_libs.http.setup import configure_http
from huleedu_service_libs.outbox.metrics import OutboxMetrics
from huleedu_service_libs.outbox.ports import OutboxStore

API_TITLE = "HuleEdu Class Management Service"
# Within the 10 s shutdown budget: the server drains requests first, then the workers stop.
WORKER_STOP_SECONDS = 3.0


def create_app(
    container: AsyncContainer,
    database_engine: AsyncEngine | None,
    registry: CollectorRegistry,
    *,
    run_workers: bool = False,
) -> HuleEduApp:
    """The app on an existing container; ``registry`` must be the container's registry.

    With ``run_workers`` the app starts the background workers when it starts serving and
    stops them (before closing the container) when it stops; otherwise they show as disabled.
    """
    app = HuleEduApp(__name__, container=container, database_engine=database_engine)
    app.extensions[BACKGROUND_KEY] = disabled_background()
    configure_http(app, service_name=SERVICE_NAME)

    async def refresh_gauges() -> None:
        store = await container.get(OutboxStore)
        metrics = await container.get(OutboxMetrics)
        metrics.observe(await store.stats())

    register_http_metrics(app, registry, prefix="cms", before_scrape=refresh_gauges)
    configure_openapi(app, title=API_TITLE, version=SERVICE_VERSION)
    # Student routes first: the literal "students" segment must win over {class_id}.
    app.register_blueprint(student_routes.blueprint)
    app.register_blueprint(class_routes.blueprint)
    app.register_blueprint(health_routes.blueprint)
    app.register_blueprint(batch_routes.blueprint)
    app.register_blueprint(internal_routes.blueprint)
    # Routes opt in with @inject; auto_inject would also wrap quart-schema's own routes.
    QuartDishka(app=app, container=container)

    @app.before_serving
    async def _start() -> None:
        # Resolving the metrics objects registers every series before the first scrape.
        await container.get(ServiceMetrics)
        await container.get(OutboxMetrics)
        settings = await container.get(Settings)
        allow_anonymous_roster(app, not settings.roster_require_service_credentials)
        if run_workers:
            background = await build_background(container, settings, database_engine)
            app.extensions[BACKGROUND_KEY] = background
            background.start()

    @app.after_serving
    async def _stop() -> None:
        background: Background = app.extensions[BACKGROUND_KEY]
        await background.stop(WORKER_STOP_SECONDS)
        await container.close()

    return app
