"""The bench's own database on the local server: dropped, recreated and migrated per run."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from bench.config import REPO_ROOT


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead, in plain ``postgresql://`` form (for asyncpg)."""
    parts = urlsplit(url)
    scheme = "postgresql"
    return urlunsplit((scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def recreate(server_url: str, database: str) -> None:
    """Drop ``database`` (closing its sessions) and create it empty."""
    if not database.replace("_", "").isalnum():
        raise ValueError(f"unsafe database name {database!r}")
    connection = await asyncpg.connect(with_database(server_url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment the service's own CLI runs with, as production configures it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASS_MANAGEMENT_SERVICE_")}
    env["PYTHONPATH"] = f"{REPO_ROOT / 'libs'}:{REPO_ROOT / 'services'}"
    env["CLASS_MANAGEMENT_SERVICE_DATABASE_URL"] = database_url
    for name, value in settings.items():
        env[f"CLASS_MANAGEMENT_SERVICE_{name.upper()}"] = value
    return env


def migrate(database_url: str) -> None:
    """``python -m class_management_service migrate``, exactly as an operator runs it."""
    subprocess.run(
        [sys.executable, "-m", "class_management_service", "migrate"],
        env=service_env(database_url),
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def server_facts(url: str) -> dict[str, str]:
    """Server version and the settings that change what a commit costs."""
    connection = await asyncpg.connect(url)
    try:
        facts = {"version": str(await connection.fetchval("SHOW server_version"))}
        for setting in ("fsync", "synchronous_commit", "shared_buffers", "max_connections"):
            facts[setting] = str(await connection.fetchval(f"SHOW {setting}"))
        return facts
    finally:
        await connection.close()


async def execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def fetch_count(url: str, query: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(query))
    finally:
        await connection.close()


async def fetch_rows(url: str, query: str) -> list[Any]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(query))
    finally:
        await connection.close()
