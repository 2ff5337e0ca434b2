"""One benchmark run: fresh database, the service as a subprocess, every case, results."""

from __future__ import annotations

import logging
import os
import pickle
import platform
import sys
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import structlog

from bench import database
from bench.bulk import run_bulk
from bench.capture import capture_recipes
from bench.config import HTTP_OPERATIONS, REPO_ROOT, WORK_DIR, BenchConfig, load_config
from bench.fixtures import prepare
from bench.http_cases import HttpBench, RawBench, write_scripts
from bench.pipelines import consumer_case, relay_case
from bench.procfs import CpuProbe, QuietGate, boost, postmaster_pid
from bench.profile import Profiler
from bench.report import add_raw_fractions, build_summary, table, write_results
from bench.service import ServiceProcess
from bench.wrk import ensure_wrk
from class_management_service.config import Settings

POSTGRES_DATA = REPO_ROOT / ".local" / "postgres" / "data"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _expected_bulk_imports(config: BenchConfig) -> int:
    # Generous for 10,000 students/s (two imports a second) on two workers; more are made
    # on demand if a fast machine runs out.
    return int(config.bulk_duration_s * 2 * 2) + 8


async def run(config: BenchConfig) -> dict[str, Any]:
    started = time.perf_counter()
    if config.nice is not None:
        # Inherited by the service, wrk and the raw client; bench backends are raised by the probe.
        boost(os.getpid(), config.nice)
    wrk = ensure_wrk()
    bench_url = database.with_database(config.database_url, config.bench_database)
    defaults = Settings()
    results: dict[str, Any] = {
        "schema_version": 1,
        "started_at": datetime.now(UTC).isoformat(),
        "quick": config.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "postgresql": await database.server_facts(
                database.with_database(bench_url, "postgres")
            ),
            "wrk": wrk,
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
    }
    log(f"recreating database {config.bench_database} and migrating it")
    await database.recreate(config.database_url, config.bench_database)
    database.migrate(bench_url)
    pool_limit = defaults.db_pool_size + defaults.db_max_overflow
    service = ServiceProcess(
        database_url=bench_url,
        port=config.http_port,
        log_path=WORK_DIR / "service.log",
        kafka_bootstrap_servers=config.kafka_bootstrap,
        redis_url=config.redis_url,
        log_level=config.log_level,
    )
    log("starting the service")
    with service:
        results["service"] = {"startup_memory": service.memory()}
        log("preparing fixtures over HTTP")
        fixtures = await prepare(
            service.base_url,
            config.token,
            writer_pool=config.writer_pool_classes,
            bulk_pairs=_expected_bulk_imports(config),
            raw_bulk_pairs=int(config.raw_duration_s * 8) + 8,
        )
        await database.execute(bench_url, "VACUUM ANALYZE")
        log("recording the SQL of each operation")
        recipes = await capture_recipes(bench_url, fixtures)
        recipes_path = WORK_DIR / "recipes.pickle"
        recipes_path.write_bytes(pickle.dumps(recipes))
        results["sql"] = {name: recipe.statements() for name, recipe in recipes.items()}
        probe = CpuProbe(
            service.pid, postmaster_pid(POSTGRES_DATA), config.bench_database, config.nice
        )
        quiet = QuietGate(
            probe,
            config.quiet_threshold_pct,
            config.quiet_wait_per_case_s,
            config.quiet_wait_budget_s,
        )
        http = HttpBench(config, wrk, service, probe, write_scripts(WORK_DIR / "lua", fixtures))
        raw = RawBench(config, recipes_path, bench_url, probe, pool_limit)
        profiler = Profiler(config, service, http) if config.profile else None
        for operation in HTTP_OPERATIONS:
            if not config.wants(operation):
                continue
            results["cases"]["http"][operation] = {}
            results["cases"]["raw_asyncpg"][operation] = {}
            for concurrency in config.concurrencies:
                log(f"{operation} c={concurrency}: HTTP")
                gate = quiet.wait()
                item = http.run(operation, concurrency)
                item["quiet_gate"] = gate
                results["cases"]["http"][operation][str(concurrency)] = item
                log(
                    f"  {item['requests_per_s']} req/s, p95 {item['latency_ms']['p95']} ms,"
                    f" other load {item['cpu']['other_pct']} %"
                )
                log(f"{operation} c={concurrency}: raw_asyncpg")
                gate = quiet.wait()
                base = raw.run(operation, concurrency)
                base["quiet_gate"] = gate
                results["cases"]["raw_asyncpg"][operation][str(concurrency)] = base
                log(f"  {base['requests_per_s']} req/s, p95 {base['latency_ms']['p95']} ms")
        if config.wants("bulk_import"):
            results["cases"]["raw_asyncpg"]["bulk_import"] = {}
            for concurrency in (1,) if config.quick else (1, 2):
                log(f"bulk_import c={concurrency}: HTTP")
                gate = quiet.wait()
                item = await run_bulk(
                    service,
                    probe,
                    bench_url,
                    fixtures.bulk_pairs,
                    concurrency=concurrency,
                    duration_s=config.bulk_duration_s / concurrency,
                    token=config.token,
                )
                item["quiet_gate"] = gate
                results["cases"]["bulk_import"][str(concurrency)] = item
                log(f"  {item['students_per_s']} students/s")
                log(f"bulk_import c={concurrency}: raw_asyncpg")
                gate = quiet.wait()
                base = raw.run("bulk_import", concurrency, duration_s=config.raw_duration_s)
                base["quiet_gate"] = gate
                results["cases"]["raw_asyncpg"]["bulk_import"][str(concurrency)] = base
        if config.wants("relay"):
            log("relay: backlog drain, then steady 100 events/s")
            quiet.wait()
            results["cases"]["relay"] = await relay_case(config, bench_url, probe, config.targets)
            log(f"  {results['cases']['relay'].get('summary', results['cases']['relay'])}")
        if config.wants("consumer"):
            log("consumer: suggestion events of 30 essays")
            quiet.wait()
            results["cases"]["consumer"] = await consumer_case(
                config, bench_url, service.base_url, probe, config.targets
            )
            log(f"  {results['cases']['consumer'].get('summary', results['cases']['consumer'])}")
        if profiler is not None:
            log("profiling cases that missed a target (py-spy)")
            profiles = profiler.run_all(results)
            in_process = {
                "relay": partial(relay_case, config, bench_url, probe, config.targets),
                "consumer": partial(
                    consumer_case, config, bench_url, service.base_url, probe, config.targets
                ),
            }
            for case, run_case in in_process.items():
                if results["cases"].get(case, {}).get("summary", {}).get("met") is False:
                    profiles[case] = await profiler.profile_in_process(case, run_case)
            results["profiles"] = profiles
        results["service"].update(service.memory())
    add_raw_fractions(results)
    results["summary"] = build_summary(results, config.targets)
    results["finished_at"] = datetime.now(UTC).isoformat()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    return results


async def main() -> int:
    config = load_config()
    # The in-process relay and consumer log through structlog; only problems belong on screen.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results = await run(config)
    path = write_results(results)
    print(table(results))
    print(f"\nresults: {path.relative_to(REPO_ROOT)} (and bench/results/latest.json)")
    return 0
