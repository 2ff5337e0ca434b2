"""One benchmark run: fresh database, the service as a subprocess, every case, results."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog

from bench import database, district, plans
from bench.bulk import run_bulk
from bench.capture import capture_recipes
from bench.config import (
    HEADLINE_CONCURRENCY,
    HTTP_OPERATIONS,
    READ_OPERATIONS,
    REPO_ROOT,
    WORK_DIR,
    BenchConfig,
    load_config,
)
from bench.fixtures import prepare
from bench.html_report import write_html_report
from bench.http_cases import HttpBench, RawBench, write_scripts
from bench.kafka_isolation import start_group_at_end
from bench.outbox_watch import OutboxWatch
from bench.pipelines import consumer_case, relay_case, takeover_case
from bench.procfs import CpuProbe, QuietGate, boost, postmaster_pid
from bench.profile import Profiler
from bench.recipes import Recipe
from bench.report import add_raw_fractions, build_summary, table, write_results
from bench.service import ServiceProcess
from bench.wrk import ensure_wrk
from class_management_service.config import Settings
from class_management_service.implementations.postgres.engine import create_engine_for_url
from huleedu_service_libs.outbox.postgres_store import PostgresOutboxStore

POSTGRES_DATA = REPO_ROOT / ".local" / "postgres" / "data"
# Each case starts with an empty outbox: rows the service's relays did not publish during earlier
# cases would otherwise load (and be billed to) later ones. What a case leaves is reported.
# Rows a relay holds are left to it (locking them too could deadlock with its claim).
_SET_ASIDE = """
UPDATE event_outbox SET status = 'published', published_at = clock_timestamp()
WHERE id IN (SELECT id FROM event_outbox WHERE status = 'pending' FOR UPDATE SKIP LOCKED)
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _expected_bulk_imports(config: BenchConfig) -> int:
    # Generous for 10,000 students/s (two imports a second) on two workers; more are made
    # on demand if a fast machine runs out.
    return int(config.bulk_duration_s * 2 * 2) + 8


def _git_state() -> dict[str, Any]:
    """The code under test: other people edit the same tree, so a result names its state."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted": changed}


def _machine_and_config(config: BenchConfig, wrk: str, defaults: Settings) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "started_at": datetime.now(UTC).isoformat(),
        "quick": config.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "wrk": wrk,
            "git": _git_state(),
        },
        "config": {
            "duration_s": config.duration_s,
            "warmup_s": config.warmup_s,
            "raw_duration_s": config.raw_duration_s,
            "raw_warmup_s": config.raw_warmup_s,
            "bulk_duration_s": config.bulk_duration_s,
            "concurrencies": list(config.concurrencies),
            "database": config.bench_database,
            "service_log_level": config.log_level,
            "service_kafka": config.service_kafka,
            "service_settings": config.service_settings,
            "experiment_sql": config.experiment_sql or None,
            "service_pool": {"size": defaults.db_pool_size, "overflow": defaults.db_max_overflow},
            "nice": config.nice,
            "quiet_gate": {
                "threshold_pct": config.quiet_threshold_pct,
                "per_case_s": config.quiet_wait_per_case_s,
                "budget_s": config.quiet_wait_budget_s,
            },
            "loadgen": "wrk -t1 (HTTP); bench.raw_client (raw_asyncpg); httpx (bulk_import)",
        },
        "cases": {"http": {}, "raw_asyncpg": {}, "bulk_import": {}},
        "service": {"restarts": []},
    }


class Run:
    """The state of one run, so that a failure still leaves partial results behind."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.defaults = Settings()
        self.wrk = ensure_wrk()
        self.bench_url = database.with_database(config.database_url, config.bench_database)
        self.results = _machine_and_config(config, self.wrk, self.defaults)
        self.service_group = f"bench-cms-{config.token}"
        kafka: dict[str, str] = {}
        if config.service_kafka:
            kafka = {
                "kafka_bootstrap_servers": config.kafka_bootstrap,
                "kafka_consumer_group_id": self.service_group,
            }
        self.service = ServiceProcess(
            database_url=self.bench_url,
            port=config.http_port,
            log_path=WORK_DIR / "service.log",
            redis_url=config.redis_url,
            log_level=config.log_level,
            **kafka,
            **config.service_settings,
        )
        postgres = postmaster_pid(POSTGRES_DATA)
        self.probe = CpuProbe(None, postgres, config.bench_database, config.nice)
        self.quiet = QuietGate(
            self.probe,
            config.quiet_threshold_pct,
            config.quiet_wait_per_case_s,
            config.quiet_wait_budget_s,
        )

    async def _ready(self, case: str) -> dict[str, float]:
        """Before a case: the service up (restarted if something stopped it), the outbox empty,
        a quiet machine."""
        if self.service.ensure_running():
            log(f"the service had stopped (see .local/bench/service.log); restarted before {case}")
            self.results["service"]["restarts"].append(case)
        self.probe.service_pid = self.service.pid
        await database.execute(self.bench_url, _SET_ASIDE)
        return self.quiet.wait()

    def _outbox_watch(self) -> OutboxWatch:
        batch = self.config.service_settings.get("outbox_batch_size")
        return OutboxWatch(self.bench_url, claim_rows=int(batch or self.defaults.outbox_batch_size))

    async def _sessions(self) -> int:
        """Connections ever opened to the bench database (pool churn shows up here)."""
        query = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        return await database.fetch_count(self.bench_url, query)

    async def execute(self) -> None:
        config, results = self.config, self.results
        results["machine"]["postgresql"] = await database.server_facts(
            database.with_database(self.bench_url, "postgres")
        )
        log(f"recreating database {config.bench_database} and migrating it")
        await database.recreate(config.database_url, config.bench_database)
        database.migrate(self.bench_url)
        if config.experiment_sql:
            log(f"experiment: {config.experiment_sql}")
            await database.execute(self.bench_url, config.experiment_sql)
        if config.service_kafka:
            await start_group_at_end(config.kafka_bootstrap, self.service_group)
        log("starting the service")
        self.service.start()
        self.probe.service_pid = self.service.pid
        results["service"]["startup_memory"] = self.service.memory()
        log("preparing fixtures over HTTP")
        fixtures = await prepare(
            self.service.base_url,
            config.token,
            writer_pool=config.writer_pool_classes,
            bulk_pairs=_expected_bulk_imports(config),
            raw_bulk_pairs=int(config.raw_duration_s * 8) + 8,
        )
        await database.execute(self.bench_url, "VACUUM ANALYZE")
        log("recording the SQL of each operation")
        recipes = await capture_recipes(self.bench_url, fixtures)
        recipes_path = WORK_DIR / "recipes.pickle"
        recipes_path.write_bytes(pickle.dumps(recipes))
        results["sql"] = {name: recipe.statements() for name, recipe in recipes.items()}
        scripts = write_scripts(WORK_DIR / "lua", fixtures)
        http = HttpBench(config, self.wrk, self.service, self.probe, scripts)
        size = int(config.service_settings.get("db_pool_size", self.defaults.db_pool_size))
        overflow = config.service_settings.get("db_max_overflow", self.defaults.db_max_overflow)
        pool_limit = size + int(overflow)
        raw = RawBench(config, recipes_path, self.bench_url, self.probe, pool_limit)
        for operation in HTTP_OPERATIONS:
            if config.wants(operation):
                await self._operation(http, raw, operation)
        if config.wants("bulk_import"):
            await self._bulk(raw, fixtures.bulk_pairs)
        if config.scale == "district":
            results["cases"]["district"] = await self._district(http, recipes)
        profiler = Profiler(config, self.service, http) if config.profile else None
        if profiler is not None:
            log("profiling HTTP operations that missed a target (py-spy)")
            await self._ready("profiles")
            results["profiles"] = profiler.run_all(results)
        results["service"].update(self.service.memory())
        # The service's own relays would compete with the in-process ones measured next.
        self.service.stop()
        in_process: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            "relay": partial(relay_case, config, self.bench_url, self.probe, config.targets),
            "consumer": partial(
                consumer_case, config, self.bench_url, fixtures, self.probe, config.targets
            ),
            "takeover": partial(takeover_case, config),
        }
        self.probe.service_pid = None
        for case, run_case in in_process.items():
            if not config.wants(case):
                continue
            log(f"{case}: in-process, service stopped")
            self.quiet.wait()
            results["cases"][case] = await run_case()
            log(f"  {results['cases'][case].get('summary', results['cases'][case])}")
            missed = results["cases"][case].get("summary", {}).get("met") is False
            # As for HTTP operations: a run narrowed by BENCH_ONLY profiles what it runs.
            if profiler is not None and (missed or config.only is not None):
                log(f"profiling {case} (py-spy on this process)")
                results.setdefault("profiles", {})[case] = await profiler.profile_in_process(
                    case, partial(run_case, profiling=True)
                )

    async def _operation(self, http: HttpBench, raw: RawBench, operation: str) -> None:
        results = self.results["cases"]
        results["http"][operation] = {}
        results["raw_asyncpg"][operation] = {}
        for concurrency in self.config.concurrencies:
            log(f"{operation} c={concurrency}: HTTP")
            gate = await self._ready(operation)
            sessions = await self._sessions()
            if operation in READ_OPERATIONS:
                item = http.run(operation, concurrency)
            else:
                with self._outbox_watch() as watch:
                    item = http.run(operation, concurrency)
                item["outbox"] = await watch.drain()
            # Minus the ones this query and the watch's two open; includes the warm-up run.
            opened_here = 1 if operation in READ_OPERATIONS else 3
            item["db_sessions_opened"] = await self._sessions() - sessions - opened_here
            item["quiet_gate"] = gate
            results["http"][operation][str(concurrency)] = item
            log(
                f"  {item['requests_per_s']} req/s, p95 {item['latency_ms']['p95']} ms,"
                f" errors {item['errors']}, other load {item['cpu']['other_pct']} %,"
                f" steal {item['cpu']['steal_pct']} %,"
                f" new DB sessions {item['db_sessions_opened']}"
            )
            log(f"{operation} c={concurrency}: raw_asyncpg (service paused)")
            gate = await self._ready(operation)
            with self.service.paused():
                base = raw.run(operation, concurrency)
            base["quiet_gate"] = gate
            results["raw_asyncpg"][operation][str(concurrency)] = base
            log(f"  {base['requests_per_s']} req/s, p95 {base['latency_ms']['p95']} ms")

    async def _district(self, http: HttpBench, recipes: dict[str, Recipe]) -> dict[str, Any]:
        """The HTTP cases at the headline concurrency again after growing the database to a
        district, the plans of their statements on both, and the housekeeping of 10M rows."""
        small = self.results["cases"]["http"]
        headline = str(HEADLINE_CONCURRENCY)
        log("district: plans on the small database")
        found: dict[str, Any] = {"plans_small": await plans.explain(self.bench_url, recipes)}
        log("district: seeding with COPY (1M students, 100k classes, 3M essays, 10M outbox rows)")
        found["seed"] = await district.seed(self.bench_url)
        log(f"  {found['seed']}")
        found["plans_district"] = await plans.explain(self.bench_url, recipes)
        found["http"] = {}
        for operation in HTTP_OPERATIONS:
            if not self.config.wants(operation) or headline not in small.get(operation, {}):
                continue
            log(f"district {operation} c={headline}")
            await self._ready(f"district {operation}")
            item = http.run(operation, HEADLINE_CONCURRENCY)
            before = small[operation][headline]["latency_ms"]["p95"]
            item["p95_x_small"] = round(item["latency_ms"]["p95"] / before, 2) if before else None
            found["http"][operation] = item
            log(f"  {item['requests_per_s']} req/s, p95 {item['latency_ms']['p95']} ms")
        found["housekeeping"] = await self._housekeeping(http)
        return found

    async def _housekeeping(self, http: HttpBench) -> dict[str, Any]:
        """Housekeeping's delete of the 10M published rows, with get_class measured meanwhile."""
        engine = create_engine_for_url(self.bench_url, pool_size=2, max_overflow=0)
        store = PostgresOutboxStore(engine)
        cutoff = datetime.now(UTC) - timedelta(hours=self.defaults.outbox_retention_hours)
        log("district: housekeeping the published outbox rows, get_class c=10 meanwhile")
        await self._ready("district housekeeping")
        began = time.perf_counter()
        purge = asyncio.create_task(store.delete_published_before(cutoff))
        try:
            during = await asyncio.to_thread(http.run, "get_class", HEADLINE_CONCURRENCY)
            still_running = not purge.done()
            deleted = await purge
        finally:
            await engine.dispose()
        seconds = time.perf_counter() - began
        log(f"  {deleted} rows in {seconds:.1f} s; get_class p95 {during['latency_ms']['p95']} ms")
        return {
            "rows_deleted": deleted,
            "seconds": round(seconds, 1),
            "rows_per_s": round(deleted / seconds),
            "get_class_during": during,
            "load_ran_inside_housekeeping": still_running,
        }

    async def _bulk(self, raw: RawBench, pairs: list[tuple[str, str]]) -> None:
        config, results = self.config, self.results["cases"]
        results["raw_asyncpg"]["bulk_import"] = {}
        for concurrency in (1,) if config.quick else (1, 2):
            log(f"bulk_import c={concurrency}: HTTP")
            gate = await self._ready("bulk_import")
            with self._outbox_watch() as watch:
                item = await run_bulk(
                    self.service,
                    self.probe,
                    self.bench_url,
                    pairs,
                    concurrency=concurrency,
                    duration_s=config.bulk_duration_s / concurrency,
                    token=config.token,
                )
            item["outbox"] = await watch.drain()
            item["quiet_gate"] = gate
            results["bulk_import"][str(concurrency)] = item
            log(f"  {item['students_per_s']} students/s, errors {item['errors']}")
            log(f"bulk_import c={concurrency}: raw_asyncpg (service paused)")
            gate = await self._ready("bulk_import")
            with self.service.paused():
                base = raw.run("bulk_import", concurrency, duration_s=config.raw_duration_s)
            base["quiet_gate"] = gate
            results["raw_asyncpg"]["bulk_import"][str(concurrency)] = base

    def finish(self, started: float, failure: BaseException | None) -> dict[str, Any]:
        results = self.results
        if failure is not None:
            results["failure"] = f"{type(failure).__name__}: {failure}"
        for case in ("relay", "consumer", "takeover"):
            results["cases"].setdefault(
                case, {"status": "not_available", "reason": "the run ended before this case"}
            )
        add_raw_fractions(results)
        results["summary"] = build_summary(results, self.config.targets)
        results["finished_at"] = datetime.now(UTC).isoformat()
        results["elapsed_s"] = round(time.perf_counter() - started, 1)
        return results


async def main() -> int:
    config = load_config()
    # The in-process relay and consumer log through structlog; only problems belong on screen.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    # aiokafka reports every failed reconnect while someone else's test has the broker down.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    if config.nice is not None:
        # Inherited by the service, wrk and the raw client; bench backends are raised by the probe.
        boost(os.getpid(), config.nice)
    started = time.perf_counter()
    run = Run(config)
    failure: BaseException | None = None
    try:
        await run.execute()
    except Exception as exc:
        failure = exc
        raise
    finally:
        run.service.stop()
        results = run.finish(started, failure)
        path = write_results(results)
        report = write_html_report(results, path)
        print(table(results))
        print(f"\nresults: {path.relative_to(REPO_ROOT)} (and bench/results/latest.json)")
        print(f"report: {report.relative_to(REPO_ROOT)} (and bench/results/latest.html)")
    return 0
