"""The denominator: an operation's recorded SQL replayed through an asyncpg pool.

No HTTP and no framework: the same statements in the same transaction, ``concurrency`` requests
in flight, closed loop like wrk. Runs as its own process so that its CPU is accounted apart;
prints ``WINDOW_START`` / ``WINDOW_END`` around the measured phase, then ``RESULT <json>``.

    python -m bench.raw_client RECIPES OPERATION CONCURRENCY WARMUP_S DURATION_S POOL_MAX DSN PREFIX
"""

from __future__ import annotations

import asyncio
import itertools
import json
import pickle
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import uvloop

from bench.recipes import Recipe, Values
from bench.stats import latency_summary


async def _no_reset(_connection: Any) -> None:
    """Every request ends its transaction, so a released connection needs no reset query."""


async def run_once(pool: Any, recipe: Recipe, values: Values) -> None:
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            for step in recipe.steps:
                rows = list(values.rows(step))
                if step.many:
                    await connection.executemany(step.sql, rows)
                else:
                    await connection.fetch(step.sql, *rows[0])
        except BaseException:
            await transaction.rollback()
            raise
        if recipe.commit:
            await transaction.commit()
        else:
            await transaction.rollback()


@dataclass
class Phase:
    recipe: Recipe
    prefix: str
    counter: itertools.count[int]
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    last_done: float = 0.0

    async def worker(self, pool: Any, deadline: float) -> None:
        while time.perf_counter() < deadline:
            values = Values.draw(self.recipe, self.prefix, next(self.counter))
            started = time.perf_counter()
            try:
                await run_once(pool, self.recipe, values)
            except Exception as exc:
                self.errors += 1
                if len(self.error_samples) < 3:
                    self.error_samples.append(f"{type(exc).__name__}: {exc}")
            self.last_done = time.perf_counter()
            self.latencies_s.append(self.last_done - started)

    async def run(self, pool: Any, concurrency: int, seconds: float) -> float:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(self.worker(pool, deadline) for _ in range(concurrency)))
        return self.last_done - started


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(argv: list[str]) -> dict[str, Any]:
    recipes_path, operation, concurrency, warmup, duration, pool_max, dsn, prefix = argv
    recipes: dict[str, Recipe] = pickle.loads(Path(recipes_path).read_bytes())  # noqa: ASYNC240
    recipe = recipes[operation]
    workers = int(concurrency)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=int(pool_max),
        max_size=int(pool_max),
        reset=_no_reset,
        server_settings={"application_name": "bench_raw_asyncpg"},
    )
    counter = itertools.count()
    try:
        await Phase(recipe, prefix, counter).run(pool, workers, float(warmup))
        measured = Phase(recipe, prefix, counter)
        print("WINDOW_START", flush=True)
        cpu_start = _cpu_seconds()
        elapsed = await measured.run(pool, workers, float(duration))
        cpu = _cpu_seconds() - cpu_start
        print("WINDOW_END", flush=True)
    finally:
        await pool.close()
    completed = len(measured.latencies_s)
    return {
        "requests": completed,
        "duration_s": round(elapsed, 3),
        "requests_per_s": round(completed / elapsed, 1) if elapsed > 0 else 0.0,
        "errors": measured.errors,
        "error_samples": measured.error_samples,
        "latency_ms": latency_summary(measured.latencies_s),
        "loadgen_cpu_s": round(cpu, 3),
        "pool_size": int(pool_max),
    }


if __name__ == "__main__":
    # uvloop, as the service runs: the denominator is the best this client stack can do.
    result = uvloop.run(main(sys.argv[1:]))
    print("RESULT " + json.dumps(result), flush=True)
