"""The typed Quart application every HuleEdu HTTP service runs on."""

from __future__ import annotations

from typing import Any

from dishka import AsyncContainer
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncEngine


class HuleEduApp(Quart):
    """Quart with the platform's guaranteed contract: a DI container and a database engine.

    Both are required keyword arguments and declared attributes (instead of ad-hoc
    ``app.container = ...``), so no app exists without them and handlers, health checks and
    shutdown hooks have typed access. The one recorded exception: ``database_engine`` is ``None``
    in a service's in-memory mode (``USE_MOCK_REPOSITORY``), where no database exists at all.
    """

    container: AsyncContainer
    # None only in a service's in-memory mode, where no database exists at all.
    database_engine: AsyncEngine | None

    def __init__(
        self,
        import_name: str,
        *,
        container: AsyncContainer,
        database_engine: AsyncEngine | None,
        **quart_kwargs: Any,
    ) -> None:
        super().__init__(import_name, **quart_kwargs)
        self.container = container
        self.database_engine = database_engine
