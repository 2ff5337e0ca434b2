"""HTTP cases driven by wrk, and their raw_asyncpg denominators driven by ``bench.raw_client``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import REPO_ROOT, BenchConfig
from bench.fixtures import Fixtures
from bench.procfs import CpuProbe, CpuSnapshot
from bench.service import ServiceProcess
from bench.stats import wrk_latency_ms
from bench.wrk import formatted_body_script, rotating_requests_script, run_wrk

CREATE_STUDENT_BODY = (
    '{"person_name":{"first_name":"Bench","last_name":"Student"},'
    '"email":"%s-%d@bench.example","class_ids":["%s"]}'
)


def write_scripts(directory: Path, fixtures: Fixtures) -> dict[str, Path]:
    """One wrk Lua script per HTTP operation."""
    reader = {"X-User-ID": fixtures.reader_teacher}
    json_type = {"Content-Type": "application/json"}
    scripts = {
        "get_class": rotating_requests_script(
            "GET", [f"/v1/classes/{c}" for c in fixtures.reader_class_ids], reader
        ),
        "get_student": rotating_requests_script(
            "GET", [f"/v1/classes/students/{s}" for s in fixtures.reader_student_ids], reader
        ),
        "list_classes": rotating_requests_script("GET", ["/v1/classes"], reader),
        "create_class": rotating_requests_script(
            "POST",
            ["/v1/classes"],
            {"X-User-ID": fixtures.class_writer, **json_type},
            '{"name":"Bench class","course_codes":["ENG5"]}',
        ),
        "create_student": formatted_body_script(
            "POST",
            "/v1/classes/students",
            {"X-User-ID": fixtures.student_writer, **json_type},
            CREATE_STUDENT_BODY,
            fixtures.student_writer_class_ids,
        ),
    }
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for operation, script in scripts.items():
        paths[operation] = directory / f"{operation}.lua"
        paths[operation].write_text(script)
    return paths


@dataclass
class HttpBench:
    config: BenchConfig
    wrk: str
    service: ServiceProcess
    probe: CpuProbe
    scripts: dict[str, Path]

    def run(self, operation: str, concurrency: int) -> dict[str, Any]:
        """A warm-up run, then the measured run, each a fresh wrk process."""
        label = f"http-{self.config.token}-{operation}-c{concurrency}"
        warm = run_wrk(
            self.wrk,
            self.scripts[operation],
            self.service.base_url,
            duration_s=self.config.warmup_s,
            script_args=[f"{label}-w"],
            connections=concurrency,
            probe=self.probe,
        )
        measured = run_wrk(
            self.wrk,
            self.scripts[operation],
            self.service.base_url,
            duration_s=self.config.duration_s,
            script_args=[f"{label}-m"],
            connections=concurrency,
            probe=self.probe,
        )
        result = measured.result
        seconds = result["duration_us"] / 1e6
        errors = dict(result["errors"])
        warm_errors = sum(warm.result["errors"].values())
        return {
            "concurrency": concurrency,
            "requests": int(result["requests"]),
            "duration_s": round(seconds, 3),
            "requests_per_s": round(result["requests"] / seconds, 1),
            "latency_ms": wrk_latency_ms(result["latency_us"]),
            "errors": int(sum(errors.values())),
            "error_breakdown": errors,
            "warmup": {"requests": int(warm.result["requests"]), "errors": int(warm_errors)},
            "cpu": self.probe.share(measured.start, measured.end, measured.loadgen_cpu_s),
            "service_memory": self.service.memory(),
        }


@dataclass
class RawBench:
    """``bench.raw_client`` in a subprocess, with the CPU window it announces."""

    config: BenchConfig
    recipes_path: Path
    dsn: str
    probe: CpuProbe
    pool_limit: int

    def run(self, operation: str, concurrency: int, *, duration_s: float | None = None) -> Any:
        pool = min(concurrency, self.pool_limit)
        command = [
            sys.executable,
            "-m",
            "bench.raw_client",
            str(self.recipes_path),
            operation,
            str(concurrency),
            str(self.config.raw_warmup_s),
            str(duration_s or self.config.raw_duration_s),
            str(pool),
            self.dsn,
            f"raw-{self.config.token}-{operation}-c{concurrency}",
        ]
        start: CpuSnapshot | None = None
        end: CpuSnapshot | None = None
        result: dict[str, Any] | None = None
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("WINDOW_START"):
                    start = self.probe.snapshot()
                elif line.startswith("WINDOW_END"):
                    end = self.probe.snapshot()
                elif line.startswith("RESULT "):
                    result = json.loads(line[len("RESULT ") :])
            process.wait()
            stderr.seek(0)
            problem = stderr.read().decode(errors="replace")
        if process.returncode != 0 or result is None or start is None or end is None:
            raise RuntimeError(f"raw client failed for {operation}: {problem}")
        result["concurrency"] = concurrency
        result["cpu"] = self.probe.share(start, end, result.pop("loadgen_cpu_s"))
        return result
