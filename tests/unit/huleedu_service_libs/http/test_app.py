"""HuleEduApp carries its container and engine as typed, required attributes."""

from __future__ import annotations

import pytest
from quart import Quart

from huleedu_service_libs.http import HuleEduApp, configure_http


async def test_container_and_engine_are_set(app: HuleEduApp) -> None:
    assert isinstance(app, Quart)
    assert app.container is not None
    assert app.database_engine is not None
    assert app.database_engine.dialect.name == "postgresql"
    await app.database_engine.dispose()


def test_configure_http_must_precede_routes() -> None:
    app = Quart(__name__)

    @app.get("/x")
    async def x() -> str:
        return "x"

    with pytest.raises(RuntimeError, match="before routes"):
        configure_http(app, service_name="svc")


def test_configure_http_sets_the_body_limit_and_no_automatic_options() -> None:
    app = Quart(__name__)

    configure_http(app, service_name="svc")

    assert app.config["MAX_CONTENT_LENGTH"] == 1_048_576
    assert app.config["PROVIDE_AUTOMATIC_OPTIONS"] is False
