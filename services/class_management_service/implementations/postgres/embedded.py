"""An embedded real PostgreSQL (the ``pgserver`` wheel) for development without configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]
import structlog

from class_management_service.config import Settings

DATABASE_NAME = "huleedu_class_management"
logger = structlog.get_logger(__name__)


@dataclass
class EmbeddedPostgres:
    """A running embedded server; ``url`` is the asyncpg URL of the service database."""

    url: str
    display_url: str
    _server: Any

    def stop(self) -> None:
        self._server.cleanup()


def _prepare_directories(data_dir: Path) -> Path:
    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    # pgserver keeps its lock file in the user runtime dir; keep it beside the data, not in /tmp.
    runtime_dir = data_dir.parent / "runtime"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    return data_dir


async def start_embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the server in ``data_dir`` and create the service database if needed.

    pgserver listens only on a Unix socket inside the data directory, so nothing is exposed on
    the network. Its data survives restarts, which is the point of ``make run``.
    """
    data_dir = _prepare_directories(data_dir)
    from pgserver import get_server  # type: ignore[attr-defined]  # late: dev runs only

    server = get_server(str(data_dir), cleanup_mode="stop")
    socket_dir = quote(str(data_dir), safe="")
    admin = await asyncpg.connect(f"postgresql://postgres@/postgres?host={socket_dir}")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE_NAME)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={data_dir}"
    return EmbeddedPostgres(url=url, display_url=url, _server=server)


async def resolve_database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The configured URL, or an embedded server's (development/testing only)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    embedded = await start_embedded_postgres(settings.embedded_database_dir)
    logger.info("embedded_postgres_started", url=embedded.display_url)
    return embedded.url, embedded
