"""The PostgreSQL plans of each operation's statements, as the service sends them.

Reads are run with ``EXPLAIN (ANALYZE, BUFFERS)`` on the captured sample's parameters; writes
are only planned (their sample ids exist already), in a transaction that is rolled back.
"""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.recipes import Recipe

_READ_PREFIXES = ("SELECT", "WITH")


async def explain(url: str, recipes: dict[str, Recipe]) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(url)
    plans: dict[str, list[dict[str, Any]]] = {}
    try:
        for operation, recipe in recipes.items():
            found: list[dict[str, Any]] = []
            for statement, parameters in recipe.samples:
                if parameters is None:
                    continue  # executemany: planned like its single-row form elsewhere
                reads = statement.lstrip().upper().startswith(_READ_PREFIXES)
                options = "ANALYZE, BUFFERS" if reads else "COSTS"
                transaction = connection.transaction()
                await transaction.start()
                try:
                    rows = await connection.fetch(f"EXPLAIN ({options}) {statement}", *parameters)
                    plan = [row[0] for row in rows]
                except asyncpg.PostgresError as exc:
                    plan = [f"not explained: {type(exc).__name__}: {exc}"]
                finally:
                    await transaction.rollback()
                found.append({"sql": statement, "analyzed": reads, "plan": plan})
            plans[operation] = found
    finally:
        await connection.close()
    return plans
