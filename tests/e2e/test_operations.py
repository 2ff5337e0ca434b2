"""Run and operate: the service as an operator starts, watches and stops it.

Every test here (but one) runs the real process, ``python -m class_management_service`` or
``make run``, and talks to it over HTTP: a fresh clone started with no configuration, ``/healthz``
following each dependency as it goes down and comes back, SIGTERM under load, invalid settings,
JSON logs and ``/metrics``, the outbox CLI, ``HTTP_WORKERS`` and the in-memory mode.

Redis and Kafka are the shared local servers of ``scripts/services.sh``; the health test stops
and restarts them (always restarted in ``finally``). PostgreSQL is never stopped: the service
reaches it through a TCP proxy that the test closes instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import make_url

from class_management_service.api.health_routes import BACKGROUND_KEY
from class_management_service.app import create_app
from class_management_service.di import make_container
from class_management_service.implementations.postgres.migrations import (
    head_revision,
    upgrade_to_head,
)
from common_core.topics import CLASS_CREATED_TOPIC
from tests.e2e.matching_fixtures import TcpProxy
from tests.e2e.operations_support import (
    REPO_ROOT,
    SHUTDOWN_BUDGET_SECONDS,
    TEACHER,
    ServiceProcess,
    alive,
    create_class,
    eventually,
    free_port,
    health,
    python_command,
    run_cli,
    running,
    service_environment,
    services_script,
    start_process,
    stop_left_over_postgres,
)
from tests.fixtures.database import asyncpg_dsn, scratch_database
from tests.fixtures.http import make_test_settings
from tests.fixtures.infrastructure import KafkaTopicFactory

# Every test here starts real processes (the service, `make run`, a fresh clone): none is a
# unit test, so `-m "not integration"` leaves them all out.
pytestmark = pytest.mark.integration

SECRET = "s3cr3t-Passw0rd"
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# http-api.md §11.2, every series the contract names.
METRIC_NAMES = (
    "cms_http_requests_total",
    "cms_http_request_duration_seconds",
    "cms_api_errors_total",
    "cms_class_creations_total",
    "cms_student_creations_total",
    "cms_associations_decided_total",
    "cms_consumer_messages_total",
    "cms_consumer_retries_total",
    "outbox_events_added_total",
    "outbox_events_published_total",
    "outbox_events_failed_total",
    "outbox_events_parked_total",
    "outbox_queue_depth",
    "outbox_failed_rows",
    "outbox_oldest_pending_age_seconds",
)
# The subset a few HTTP calls in the in-memory mode produce samples for; the rest need the
# consumer, a confirmation or a relay and are checked as declared series (HELP/TYPE).
METRICS_AFTER_HTTP = (
    "cms_http_requests_total",
    "cms_http_request_duration_seconds_count",
    "cms_api_errors_total",
    "cms_class_creations_total",
    "cms_student_creations_total",
    "outbox_events_added_total",
    "outbox_queue_depth",
    "outbox_failed_rows",
    "outbox_oldest_pending_age_seconds",
)


@pytest_asyncio.fixture(loop_scope="session")
async def scratch_url(database_url: str) -> AsyncIterator[str]:
    """A migrated database of this test's own (dropped with any connection left behind)."""
    async with scratch_database(database_url, prefix="cms_ops") as url:
        await upgrade_to_head(url)
        yield url


async def _fetch(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def _insert_outbox(url: str, destination: str, status: str, topic: str) -> None:
    failed = status == "failed"
    published = status == "published"
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            """
            INSERT INTO event_outbox (id, aggregate_type, aggregate_id, event_type, topic,
                destination, event_key, event_data, status, retry_count, failed_at, published_at,
                last_error)
            VALUES ($1, 'class', $2, $3, $3, $4, $2, '{"probe": true}', $5, $6,
                CASE WHEN $7 THEN now() END, CASE WHEN $8 THEN now() END,
                CASE WHEN $7 THEN 'parked by the test' END)
            """,
            uuid.uuid4(),
            str(uuid.uuid4()),
            topic,
            destination,
            status,
            20 if failed else 0,
            failed,
            published,
        )
    finally:
        await connection.close()


async def _expect_health(
    client: httpx.AsyncClient, code: int, status: str, what: str, **paths: object
) -> dict[str, Any]:
    """Poll ``/healthz`` until it answers ``code``/``status`` and every ``a__b=value`` holds."""

    async def probe() -> dict[str, Any] | None:
        got_code, body = await health(client)
        if got_code != code or body.get("status") != status:
            return None
        for path, expected in paths.items():
            value: Any = body
            for key in path.split("__"):
                value = value.get(key) if isinstance(value, dict) else None
            if value != expected:
                return None
        return body

    return await eventually(probe, f"/healthz {code} {status} ({what})", within=30)


# --- 1. A fresh clone, `make run`, no configuration -------------------------------------------


async def _run(*command: str, cwd: Path | None = None) -> int:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=service_environment(),
    )
    return await asyncio.wait_for(process.wait(), 120)


async def _make_run_command(clone: Path) -> tuple[list[str], bool]:
    """``make run``, reusing this checkout's environment when it is installed for the same lock.

    ``make -q install VENV=...`` asks the clone's own Makefile whether that environment is up to
    date for the clone's pyproject.toml + pdm.lock; only then is it reused (the Makefile's
    documented ``VENV`` variable). Otherwise, or with ``CMS_E2E_FRESH_INSTALL=1``, ``make run``
    installs everything in the clone first, as on a new machine (about a minute).
    """
    venv = REPO_ROOT / ".venv"
    if not os.environ.get("CMS_E2E_FRESH_INSTALL"):
        reusable = await _run("make", "-q", "install", f"VENV={venv}", cwd=clone) == 0
        if reusable:
            return ["make", "--no-print-directory", "run", f"VENV={venv}"], True
    return ["make", "--no-print-directory", "run"], False


async def test_make_run_migrates_a_new_configured_database_then_serves(
    tmp_path: Path, empty_database_url: str
) -> None:
    """configuration.md §6: `make run` applies the migrations, then starts the service (which
    itself only verifies the head)."""
    clone = tmp_path / "clone"
    assert await _run("git", "clone", "-q", str(REPO_ROOT), str(clone)) == 0
    command, reused = await _make_run_command(clone)
    port = free_port()
    env = service_environment(HTTP_PORT=str(port), DATABASE_URL=empty_database_url)
    service = await start_process(
        command, env, cwd=clone, log_path=tmp_path / "make-run.log", port=port
    )
    try:
        await service.wait_ready(within=60.0 if reused else 600.0)
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            code, body = await health(client)
            assert code == 200, body
            assert body["dependencies"]["database"]["status"] == "healthy"
            await create_class(client, "Configured 9A")
        exit_code, _ = await service.stop(signal.SIGTERM)
        assert exit_code == 0, service.output()
        assert "database is at the migration head" in service.output()
    finally:
        await service.close()
    connection = await asyncpg.connect(asyncpg_dsn(empty_database_url))
    try:
        assert (
            await connection.fetchval("SELECT version_num FROM alembic_version") == head_revision()
        )
        assert await connection.fetchval("SELECT count(*) FROM classes") == 1
    finally:
        await connection.close()


async def test_fresh_clone_make_run_serves_and_keeps_data_across_restarts(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    assert await _run("git", "clone", "-q", str(REPO_ROOT), str(clone)) == 0
    command, reused = await _make_run_command(clone)
    port = free_port()
    # Nothing configured but the port (the default 5002 may be taken on a shared machine).
    env = service_environment(HTTP_PORT=str(port))
    ready_within = 60.0 if reused else 600.0

    async def start(log: str) -> ServiceProcess:
        service = await start_process(command, env, cwd=clone, log_path=tmp_path / log, port=port)
        await service.wait_ready(within=ready_within)
        return service

    try:
        first = await start("first.log")
        try:
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
                code, body = await health(client)
                assert code == 200, body
                assert body["status"] == "healthy"
                assert body["environment"] == "development"
                dependencies = body["dependencies"]
                assert dependencies["database"]["status"] == "healthy"
                # Unconfigured dependencies and their workers (configuration.md §3.2-§3.4).
                assert dependencies["kafka"] == {"status": "disabled"}
                assert dependencies["redis"] == {"status": "disabled"}
                assert body["workers"] == {
                    "consumer": "disabled",
                    "kafka_relay": "disabled",
                    "redis_relay": "disabled",
                    "timeout_monitor": "running",
                    "housekeeping": "running",
                }
                class_id = await create_class(client, "Fresh clone 7B")
            exit_code, seconds = await first.stop(signal.SIGTERM)
        finally:
            await first.close()
        assert (exit_code, seconds < SHUTDOWN_BUDGET_SECONDS) == (0, True), first.output()
        venv = "reused" if reused else "installed"
        print(f"\nmake run ({venv} venv): SIGTERM exit after {seconds:.2f} s")
        assert "embedded_postgres_started" in first.output()
        assert (clone / ".run" / "postgres").is_dir()

        second = await start("second.log")
        try:
            async with httpx.AsyncClient(base_url=second.url, timeout=10) as client:
                response = await client.get(
                    f"/v1/classes/{class_id}", headers={"X-User-ID": TEACHER}
                )
                assert response.status_code == 200, response.text
                assert response.json()["name"] == "Fresh clone 7B"
            exit_code, seconds = await second.stop(signal.SIGTERM)
        finally:
            await second.close()
        assert (exit_code, seconds < SHUTDOWN_BUDGET_SECONDS) == (0, True), second.output()
        print(f"make run again: class read back; SIGTERM exit {seconds:.2f} s")
    finally:
        stop_left_over_postgres(clone / ".run" / "postgres")


# --- 2. /healthz follows each dependency ------------------------------------------------------


@pytest.mark.integration
async def test_health_follows_each_dependency_down_and_back(
    tmp_path: Path,
    scratch_url: str,
    kafka_bootstrap_servers: str,
    redis_url: str,
    kafka_topic_factory: KafkaTopicFactory,
) -> None:
    redis_address = urlsplit(redis_url)
    kafka_host, _, kafka_port = kafka_bootstrap_servers.split(",")[0].rpartition(":")
    addresses = {
        "redis": (redis_address.hostname or "127.0.0.1", redis_address.port or 6379),
        "kafka": (kafka_host, int(kafka_port)),
    }
    target = make_url(scratch_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.open()
    topic = await kafka_topic_factory(prefix="cms-ops-parked")
    try:
        async with (
            running(
                tmp_path,
                "health",
                DATABASE_URL=proxy.url_for(scratch_url),
                KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap_servers,
                REDIS_URL=redis_url,
                HEALTH_CHECK_TIMEOUT_SECONDS="1",
            ) as service,
            httpx.AsyncClient(base_url=service.url, timeout=15) as client,
        ):
            body = await _expect_health(client, 200, "healthy", "everything up")
            assert set(body["workers"].values()) == {"running"}

            for name in ("redis", "kafka"):
                await services_script("down", name, addresses[name])
                try:
                    body = await _expect_health(
                        client,
                        200,
                        "degraded",
                        f"{name} down",
                        **{f"dependencies__{name}__status": "unhealthy"},
                    )
                    assert body["dependencies"][name]["error"]
                    assert body["dependencies"]["database"]["status"] == "healthy"
                    assert body["checks"]["dependencies_available"] is False
                    assert body["message"] == "Class Management Service is degraded"
                finally:
                    await services_script("up", name, addresses[name])
                await _expect_health(client, 200, "healthy", f"{name} back")

            await proxy.close()
            try:
                body = await _expect_health(
                    client,
                    503,
                    "unhealthy",
                    "database unreachable",
                    dependencies__database__status="unhealthy",
                )
                assert body["dependencies"]["database"]["error"]
                assert body["message"] == "Class Management Service is unhealthy"
            finally:
                await proxy.open()
            await _expect_health(client, 200, "healthy", "database back")

            await _insert_outbox(scratch_url, "kafka", "failed", topic)
            body = await _expect_health(
                client, 200, "degraded", "a parked row", dependencies__outbox__failed=1
            )
            assert body["dependencies"]["outbox"]["status"] == "degraded"
            code, out, err = await run_cli(
                "outbox", "requeue", cwd=tmp_path, DATABASE_URL=scratch_url
            )
            assert (code, out.strip()) == (0, "re-queued 1 parked row(s)"), err
            await _expect_health(client, 200, "healthy", "row re-queued")
    finally:
        # Both were restarted above; this only matters when an assertion cut the test short.
        for name in ("redis", "kafka"):
            await services_script("up", name, addresses[name])
        await proxy.aclose()


async def test_a_worker_that_exits_turns_health_unhealthy() -> None:
    """In-process (a subprocess cannot be made to lose a worker): ``stopped`` → 503."""
    # Explicit Nones: the test run's services.env exports must not configure Kafka or Redis.
    settings = make_test_settings(
        use_mock_repository=True, database_url=None, kafka_bootstrap_servers=None, redis_url=None
    )
    registry = CollectorRegistry()
    app = create_app(
        make_container(settings, None, registry=registry), None, registry, run_workers=True
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/healthz")
        body = await response.get_json()
        assert (response.status_code, body["status"]) == (200, "healthy")
        assert body["dependencies"]["database"] == {"status": "disabled"}
        assert body["workers"]["housekeeping"] == "running"

        worker = next(
            w for w in app.extensions[BACKGROUND_KEY].workers.workers if w.name == "housekeeping"
        )
        worker.stop.set()  # its loop returns, as a loop that gave up would
        assert worker.task is not None
        await asyncio.wait_for(worker.task, 5)

        response = await client.get("/healthz")
        body = await response.get_json()
        assert (response.status_code, body["status"]) == (503, "unhealthy")
        assert body["workers"]["housekeeping"] == "stopped"
        assert body["message"] == "Class Management Service is unhealthy"


# --- 3. SIGTERM under load --------------------------------------------------------------------


async def _create_until_refused(
    url: str, teacher: str, done: asyncio.Event, accepted: list[tuple[str, float]]
) -> None:
    """One client creating classes back to back until the service is gone."""
    async with httpx.AsyncClient(base_url=url, timeout=20) as client:
        number = 0
        while not done.is_set():
            number += 1
            try:
                response = await client.post(
                    "/v1/classes",
                    json={"name": f"Load {number}", "course_codes": ["SV1"]},
                    headers={"X-User-ID": teacher},
                )
            except httpx.TransportError:
                await asyncio.sleep(0.02)  # refused or cut: not accepted, nothing to check
                continue
            if response.status_code == 201:
                accepted.append((response.json()["id"], time.monotonic()))


@pytest.mark.integration
async def test_sigterm_under_load_loses_no_accepted_write_and_no_event(
    tmp_path: Path, scratch_url: str, kafka_bootstrap_servers: str, redis_url: str
) -> None:
    settings = {
        "DATABASE_URL": scratch_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "REDIS_URL": redis_url,
        # Small claims, so relay work is in flight whenever the signal lands.
        "OUTBOX_BATCH_SIZE": "5",
    }
    accepted: list[tuple[str, float]] = []
    async with running(tmp_path, "load", **settings) as service:
        done = asyncio.Event()
        clients = [
            asyncio.create_task(
                _create_until_refused(service.url, str(uuid.uuid4()), done, accepted)
            )
            for _ in range(20)
        ]
        try:
            await eventually(
                lambda: asyncio.sleep(0, len(accepted) >= 200), "200 classes", within=30
            )
            exit_code, seconds = await service.stop(signal.SIGTERM)
            signalled_at = time.monotonic() - seconds
        finally:
            done.set()
            await asyncio.gather(*clients)
    assert exit_code == 0, service.output()[-4000:]
    assert seconds < SHUTDOWN_BUDGET_SECONDS
    print(f"\nSIGTERM under load: exit after {seconds:.2f} s; {len(accepted)} classes accepted")

    ids = [uuid.UUID(class_id) for class_id, _ in accepted]
    stored = {row["id"] for row in await _fetch(scratch_url, "SELECT id FROM classes")}
    assert set(ids) <= stored, "a 201 was answered for a class that was not stored"
    rows = await _fetch(
        scratch_url,
        "SELECT aggregate_id, status FROM event_outbox WHERE event_type = $1",
        CLASS_CREATED_TOPIC,
    )
    by_class = {uuid.UUID(row["aggregate_id"]): row["status"] for row in rows}
    assert len(rows) == len(by_class) == len(stored), "one ClassCreatedV1 row per stored class"
    assert set(by_class) == stored
    answered_after_signal = sum(1 for _, at in accepted if at > signalled_at)
    pending = sum(1 for status in by_class.values() if status == "pending")
    print(f"answered after SIGTERM: {answered_after_signal}; events still pending: {pending}")

    async with running(tmp_path, "load-restart", **settings) as service:

        async def all_published() -> bool:
            statuses = await _fetch(
                scratch_url,
                "SELECT count(*) FILTER (WHERE status <> 'published') AS left FROM event_outbox",
            )
            return int(statuses[0]["left"]) == 0

        await eventually(all_published, "every outbox row published after the restart")
        exit_code, seconds = await service.stop(signal.SIGTERM)
    assert (exit_code, seconds < SHUTDOWN_BUDGET_SECONDS) == (0, True)
    print(f"restarted service drained the outbox; exit after {seconds:.2f} s")


# --- 4. Invalid settings stop `serve` ---------------------------------------------------------

INVALID_SETTINGS = [
    ({"CLASS_MANAGEMENT_SERVICE_HTTP_PORT": "abc"}, "CLASS_MANAGEMENT_SERVICE_HTTP_PORT"),
    (
        {"CLASS_MANAGEMENT_SERVICE_OUTBOX_BATCH_SIZE": "0"},
        "CLASS_MANAGEMENT_SERVICE_OUTBOX_BATCH_SIZE",
    ),
    ({"CLASS_MANAGEMENT_SERVICE_ENVIRONMENT": "prod"}, "CLASS_MANAGEMENT_SERVICE_ENVIRONMENT"),
    ({"ENVIRONMENT": "prod"}, "ENVIRONMENT:"),
    ({"CLASS_MANAGEMENT_SERVICE_ENVIRONMENT": "staging"}, "CLASS_MANAGEMENT_SERVICE_DATABASE_URL"),
    (
        {"ENVIRONMENT": "production", "CLASS_MANAGEMENT_SERVICE_USE_MOCK_REPOSITORY": "true"},
        "CLASS_MANAGEMENT_SERVICE_USE_MOCK_REPOSITORY",
    ),
    (
        {"CLASS_MANAGEMENT_SERVICE_DATABASE_URL": f"mysql://cms:{SECRET}@db:3306/cms"},
        "CLASS_MANAGEMENT_SERVICE_DATABASE_URL",
    ),
    (
        {"CLASS_MANAGEMENT_SERVICE_DATABASE_URL": f"postgresql://cms:{SECRET}@db:port/cms"},
        "CLASS_MANAGEMENT_SERVICE_DATABASE_URL",
    ),
    (
        {"CLASS_MANAGEMENT_SERVICE_REDIS_URL": f"http://:{SECRET}@redis:6379/0"},
        "CLASS_MANAGEMENT_SERVICE_REDIS_URL",
    ),
    (
        {
            "CLASS_MANAGEMENT_SERVICE_INTERNAL_API_KEY": SECRET,
            "CLASS_MANAGEMENT_SERVICE_DB_POOL_PRE_PING": "maybe",
        },
        "CLASS_MANAGEMENT_SERVICE_DB_POOL_PRE_PING",
    ),
    ({"CLASS_MANAGEMENT_SERVICE_HTTP_WORKERS": "2"}, "CLASS_MANAGEMENT_SERVICE_HTTP_WORKERS"),
]


async def test_invalid_settings_stop_serve_naming_the_variable_not_the_secret(
    tmp_path: Path,
) -> None:
    command, pythonpath = python_command("serve")

    async def serve(env: dict[str, str]) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=tmp_path,
            env=service_environment() | pythonpath | env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, stdout.decode(), stderr.decode()

    # A valid URL whose server is down: a startup failure, not a settings error.
    closed = f"postgresql://cms:{SECRET}@127.0.0.1:{free_port()}/cms"
    cases = [
        *INVALID_SETTINGS,
        ({"CLASS_MANAGEMENT_SERVICE_DATABASE_URL": closed}, "service_failed"),
    ]
    results = await asyncio.gather(*(serve(env) for env, _ in cases))
    for (env, named), (code, out, err) in zip(cases, results, strict=True):
        assert code != 0, (env, out, err)
        assert named in err + out, (env, err)
        assert SECRET not in out + err, (env, out, err)
        assert "Traceback" not in out + err, (env, err)


# --- 5 and 8. In-memory mode: JSON logs, metrics, health -------------------------------------


def _samples(exposition: str) -> dict[str, list[dict[str, str]]]:
    """Metric sample name → the label sets of its samples."""
    samples: dict[str, list[dict[str, str]]] = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
        assert match, line
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        samples.setdefault(match.group(1), []).append(labels)
    return samples


async def test_in_memory_mode_serves_with_json_logs_and_metrics(tmp_path: Path) -> None:
    async with running(
        tmp_path,
        "memory",
        USE_MOCK_REPOSITORY="yes",
        LOG_FORMAT="json",
        ASSOCIATION_MONITOR_ENABLED="off",
    ) as service:
        sent = 1  # wait_ready's /healthz
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            code, body = await health(client)
            sent += 1
            assert (code, body["status"]) == (200, "healthy")
            assert body["dependencies"]["database"] == {"status": "disabled"}
            assert body["workers"] == {
                "consumer": "disabled",
                "kafka_relay": "disabled",
                "redis_relay": "disabled",
                "timeout_monitor": "disabled",
                "housekeeping": "running",
            }
            class_id = await create_class(client, "In memory 8A")
            teacher = {"X-User-ID": TEACHER}
            correlation = "1dadebc3-de19-442c-bd92-c7a1c7eae297"
            read = await client.get(
                f"/v1/classes/{class_id}", headers={**teacher, "X-Correlation-ID": correlation}
            )
            assert read.status_code == 200
            student = await client.post(
                "/v1/classes/students",
                json={
                    "person_name": {"first_name": "Anna", "last_name": "Lindqvist"},
                    "class_ids": [class_id],
                },
                headers=teacher,
            )
            assert student.status_code == 201, student.text
            missing = await client.get(f"/v1/classes/{uuid.uuid4()}", headers=teacher)
            assert missing.status_code == 404
            unknown = await client.get(f"/v1/nothing/{uuid.uuid4()}")
            assert unknown.status_code == 404
            metrics = await client.get("/metrics")
            sent += 6
        exit_code, _seconds = await service.stop()
    assert exit_code == 0

    assert metrics.status_code == 200
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    exposition = metrics.text
    for name in METRIC_NAMES:
        family = name.removesuffix("_total")
        assert re.search(rf"^# HELP {family}(_total)? ", exposition, re.M), name
        assert re.search(rf"^# TYPE {family}(_total)? ", exposition, re.M), name
    samples = _samples(exposition)
    for name in METRICS_AFTER_HTTP:
        assert name in samples, name
    endpoints = {labels["endpoint"] for labels in samples["cms_http_requests_total"]}
    assert {
        "/v1/classes",
        "/v1/classes/{class_id}",
        "/v1/classes/students",
        "unmatched",
    } <= endpoints
    assert not any(UUID_PATTERN.search(endpoint) for endpoint in endpoints), endpoints
    assert all(
        labels["service"] == "class_management_service"
        for name in samples
        if name.startswith("outbox_")
        for labels in samples[name]
    )
    assert {"endpoint": "unmatched", "error_type": "resource_not_found"} in samples[
        "cms_api_errors_total"
    ]

    # Every stdout line is one JSON object with the contract's fields.
    logs = service.json_logs()
    for entry in logs:
        assert {"timestamp", "level", "event"} <= entry.keys(), entry
        assert entry["service.name"] == "class_management_service", entry
    access = [entry for entry in logs if entry["event"] == "http_request"]
    assert len(access) == sent
    assert all(UUID_PATTERN.fullmatch(entry["correlation_id"]) for entry in access)
    routes = [entry["route"] for entry in access]
    assert routes.count("/v1/classes/{class_id}") == 2
    assert "unmatched" in routes
    assert not any(UUID_PATTERN.search(route) for route in routes), routes
    by_correlation = [entry for entry in access if entry["correlation_id"] == correlation]
    assert [entry["route"] for entry in by_correlation] == ["/v1/classes/{class_id}"]


# --- 6. The outbox CLI ------------------------------------------------------------------------


def _status_table(output: str) -> dict[str, tuple[int, int, str]]:
    rows = {}
    for line in output.splitlines()[1:]:
        destination, pending, parked, age = line.split()
        rows[destination] = (int(pending), int(parked), age)
    return rows


@pytest.mark.integration
async def test_outbox_status_and_requeue(tmp_path: Path, scratch_url: str) -> None:
    for destination, status in [
        ("kafka", "pending"),
        ("kafka", "pending"),
        ("kafka", "failed"),
        ("kafka", "published"),
        ("redis", "failed"),
        ("redis", "failed"),
    ]:
        await _insert_outbox(scratch_url, destination, status, "cms-ops-cli")

    code, out, err = await run_cli("outbox", "status", cwd=tmp_path, DATABASE_URL=scratch_url)
    assert code == 0, err
    table = _status_table(out)
    assert table["kafka"][:2] == (2, 1)
    assert float(table["kafka"][2]) >= 0
    assert table["redis"] == (0, 2, "-")

    code, out, err = await run_cli("outbox", "requeue", cwd=tmp_path, DATABASE_URL=scratch_url)
    assert (code, out.strip()) == (0, "re-queued 3 parked row(s)"), err
    rows = await _fetch(
        scratch_url,
        "SELECT status, retry_count, failed_at, next_attempt_at <= now() AS due FROM event_outbox"
        " WHERE status <> 'published'",
    )
    assert len(rows) == 5
    assert all(
        (row["status"], row["retry_count"], row["failed_at"], row["due"])
        == ("pending", 0, None, True)
        for row in rows
    )

    code, out, err = await run_cli("outbox", "status", cwd=tmp_path, DATABASE_URL=scratch_url)
    table = _status_table(out)
    assert (table["kafka"][:2], table["redis"][:2]) == ((3, 0), (2, 0))


# --- 7. HTTP_WORKERS --------------------------------------------------------------------------


@pytest.mark.integration
async def test_http_workers_serve_from_several_processes(tmp_path: Path, scratch_url: str) -> None:
    async with running(
        tmp_path, "workers", DATABASE_URL=scratch_url, HTTP_WORKERS="2", LOG_FORMAT="json"
    ) as service:
        children = service.children()
        assert len(children) == 2, service.output()

        async def create(number: int) -> str:
            # A connection per request, so the kernel can hand them to either process.
            async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
                return await create_class(client, f"Worker class {number}")

        ids = await asyncio.gather(*(create(n) for n in range(40)))
        stored = await _fetch(scratch_url, "SELECT id FROM classes")
        assert {uuid.UUID(i) for i in ids} == {row["id"] for row in stored}

        # Ready means one process answered /healthz; the other may still be opening its pool.
        async def every_child_started() -> bool:
            started = {e["pid"] for e in service.json_logs() if e["event"] == "service_starting"}
            return started == set(children)

        await eventually(every_child_started, "service_starting from both serving processes")
        logs = service.json_logs()
        serving = {e["pid"] for e in logs if e["event"] == "http_request"}
        assert serving <= set(children)

        exit_code, seconds = await service.stop(signal.SIGTERM, pid=service.process.pid)
        assert (exit_code, seconds < SHUTDOWN_BUDGET_SECONDS) == (0, True), service.output()
        assert not any(alive(pid) for pid in children)
        stopped = [e for e in service.json_logs() if e["event"] == "service_stopped"]
        assert {e["pid"] for e in stopped} == set(children)
        print(f"\nHTTP_WORKERS=2: exit after {seconds:.2f} s; {len(serving)} of 2 processes served")
