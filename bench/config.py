"""What a run measures and against what: durations, concurrency, ports, URLs and targets."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
WORK_DIR = REPO_ROOT / ".local" / "bench"

HTTP_OPERATIONS = ("get_class", "get_student", "list_classes", "create_class", "create_student")
READ_OPERATIONS = frozenset({"get_class", "get_student", "list_classes"})
BULK_ROWS = 5000
CLASS_SIZE = 25  # students per class read by get_class / list_classes
READER_CLASSES = 20  # the reading teacher's classes: one list_classes page (limit 20)
HEADLINE_CONCURRENCY = 10


@dataclass(frozen=True)
class Targets:
    """The issue's targets for a 2-core machine, at concurrency 10."""

    writes_per_s: float = 800.0  # create_class; create_student: student_writes_per_s
    student_writes_per_s: float = 600.0
    reads_per_s: float = 1500.0
    p95_ms: float = 10.0  # reads; writes: write_p95_ms
    write_p95_ms: float = 20.0
    bulk_students_per_s: float = 10_000.0
    relay_events_per_s: float = 20_000.0
    relay_commit_to_kafka_p95_ms: float = 20.0
    relay_one_key_rows_per_s: float = 5_000.0
    postgres_cpu_ms_per_created_class: float = 1.2
    district_p95_x: float = 1.5  # each case's p95 on the district database against the small
    consumer_essays_per_s: float = 2_000.0
    service_rss_mb: float = 200.0


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"{name} is not set: run `make bench` or source .local/services.env")
    return value


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    duration_s: float
    warmup_s: float
    raw_duration_s: float
    raw_warmup_s: float
    bulk_duration_s: float
    concurrencies: tuple[int, ...]
    http_port: int
    database_url: str  # the server's URL from services.env; the bench uses its own database
    bench_database: str
    kafka_bootstrap: str
    redis_url: str
    log_level: str
    writer_pool_classes: int
    profile: bool
    only: frozenset[str] | None
    service_settings: dict[str, str]  # BENCH_SERVICE_SETTINGS="db_pool_size=30,..." (experiments)
    experiment_sql: str  # BENCH_EXPERIMENT_SQL: run on the fresh database after migrating it
    service_kafka: bool  # the service runs its Kafka relay and consumer, as in production
    nice: int | None  # CPU priority of every bench process and bench backend; None: unchanged
    quiet_threshold_pct: float  # other load (of one core) the quiet gate waits to fall below
    quiet_wait_per_case_s: float
    quiet_wait_budget_s: float
    scale: str = "small"  # BENCH_SCALE=district: the same cases again on a district's database
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    targets: Targets = field(default_factory=Targets)

    def wants(self, case: str) -> bool:
        return self.only is None or case in self.only


def load_config() -> BenchConfig:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    only_raw = os.environ.get("BENCH_ONLY", "").strip()
    nice_raw = os.environ.get("BENCH_NICE", "-10").strip()
    return BenchConfig(
        quick=quick,
        duration_s=_float_env("BENCH_DURATION", 3.0 if quick else 20.0),
        warmup_s=_float_env("BENCH_WARMUP", 1.0 if quick else 2.0),
        raw_duration_s=_float_env("BENCH_RAW_DURATION", 3.0 if quick else 5.0),
        raw_warmup_s=_float_env("BENCH_RAW_WARMUP", 0.5),
        bulk_duration_s=_float_env("BENCH_BULK_DURATION", 3.0 if quick else 20.0),
        concurrencies=(1, 10, 50),
        http_port=int(_float_env("BENCH_HTTP_PORT", 5802)),
        database_url=_required_env("CLASS_MANAGEMENT_SERVICE_DATABASE_URL"),
        bench_database=os.environ.get("BENCH_DATABASE", "cms_bench"),
        kafka_bootstrap=_required_env("CLASS_MANAGEMENT_SERVICE_KAFKA_BOOTSTRAP_SERVERS"),
        redis_url=_required_env("CLASS_MANAGEMENT_SERVICE_REDIS_URL"),
        log_level=os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        writer_pool_classes=300 if quick else 2000,
        profile=os.environ.get("BENCH_PROFILE", "") not in ("", "0"),
        only=frozenset(only_raw.split(",")) if only_raw else None,
        service_settings=dict(
            item.split("=", 1)
            for item in os.environ.get("BENCH_SERVICE_SETTINGS", "").split(",")
            if "=" in item
        ),
        experiment_sql=os.environ.get("BENCH_EXPERIMENT_SQL", "").strip(),
        service_kafka=os.environ.get("BENCH_SERVICE_KAFKA", "1") not in ("", "0"),
        nice=None if nice_raw in ("", "off", "0") else int(nice_raw),
        quiet_threshold_pct=_float_env("BENCH_QUIET_THRESHOLD", 25.0),
        quiet_wait_per_case_s=_float_env("BENCH_QUIET_WAIT", 4.0 if quick else 10.0),
        quiet_wait_budget_s=_float_env("BENCH_QUIET_BUDGET", 20.0 if quick else 45.0),
        scale=_scale(os.environ.get("BENCH_SCALE", "small").strip() or "small"),
    )


def _scale(raw: str) -> str:
    if raw not in ("small", "district"):
        raise SystemExit(f"BENCH_SCALE must be small or district, not {raw!r}")
    return raw
