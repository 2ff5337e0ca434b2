"""``BENCH_PROFILE=1``: py-spy samples the service under the load of cases that miss a target.

py-spy lives in its own venv under .local/ (profiling only, never a project dependency); it is
installed there from PyPI when missing. Each profile is a separate wrk run at concurrency 10 so
that sampling never perturbs the measured figures. The collapsed stacks are kept under
.local/bench/profiles/ and summarised into self time per component and per function.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import HEADLINE_CONCURRENCY, READ_OPERATIONS, REPO_ROOT, WORK_DIR, BenchConfig
from bench.http_cases import HttpBench
from bench.service import ServiceProcess

PYSPY_VENV = REPO_ROOT / ".local" / "pyspy-venv"
PYSPY = PYSPY_VENV / "bin" / "py-spy"
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")

# Leaf-frame file patterns → component, first match wins.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("sqlalchemy", "/sqlalchemy/"),
    ("sqlalchemy", "/orm/"),
    ("sqlalchemy", "/engine/"),
    ("sqlalchemy", "/sql/"),
    ("asyncpg", "/asyncpg/"),
    ("greenlet", "/greenlet/"),
    ("dishka", "/dishka/"),
    ("quart_dishka", "/quart_dishka/"),
    ("quart_schema", "/quart_schema/"),
    ("quart", "/quart/"),
    ("werkzeug", "/werkzeug/"),
    ("hypercorn", "/hypercorn/"),
    ("h11", "/h11/"),
    ("pydantic", "/pydantic"),
    ("structlog", "/structlog/"),
    ("logging", "/logging/"),
    ("prometheus_client", "/prometheus_client/"),
    ("json", "/json/"),
    ("asyncio", "/asyncio/"),
    ("service code", "class_management_service/"),
    ("service libs", "huleedu_service_libs/"),
    ("common_core", "common_core/"),
    ("aiokafka", "/aiokafka/"),
    ("stdlib", "<frozen"),
)

# Stack markers: the share of samples whose stack passes through one of these functions.
MARKERS: dict[str, tuple[str, ...]] = {
    "access log (_log_request)": ("_log_request",),
    "HTTP metrics (_observe/_start)": ("_observe",),
    "pool pre-ping (_ping)": ("_ping",),
    "dishka request scope": ("dishka/",),
    "pydantic body validation": ("read_json_body",),
    "response JSON (json_response)": ("json_response",),
    "correlation middleware (own frames)": ("with_correlation_header", "incoming_header"),
    "SQLAlchemy execute": ("sqlalchemy/",),
    "asyncpg protocol": ("asyncpg/",),
    "outbox rendering (OutboxMessages)": ("outbox_messages.py",),
}


def ensure_pyspy() -> Path:
    if not PYSPY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PYSPY_VENV)], check=True)
        subprocess.run([str(PYSPY_VENV / "bin" / "pip"), "install", "-q", "py-spy"], check=True)
    return PYSPY


def _component(file: str) -> str:
    file = "/" + file  # py-spy shortens paths to the package: "asyncio/events.py"
    for name, pattern in COMPONENTS:
        if pattern in file:
            return name
    return "other"


def summarise(collapsed: str, top: int = 15) -> dict[str, Any]:
    """Self time by component and function, and the share of stacks through each marker."""
    self_by_function: Counter[str] = Counter()
    self_by_component: Counter[str] = Counter()
    markers: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        match = _FRAME.match(frames[-1])
        function, file = (match["function"], match["file"]) if match else (frames[-1], "")
        short = "/".join(file.split("/")[-2:])
        self_by_function[f"{function} ({short})"] += count
        self_by_component[_component(file)] += count
        for marker, needles in MARKERS.items():
            if any(needle in stack for needle in needles):
                markers[marker] += count

    def share(value: int) -> float:
        return round(value / total, 3) if total else 0.0

    return {
        "samples": total,
        "self_by_component": {k: share(v) for k, v in self_by_component.most_common()},
        "top_self_functions": {k: share(v) for k, v in self_by_function.most_common(top)},
        "stacks_through": {k: share(v) for k, v in markers.most_common()},
    }


@dataclass
class Profiler:
    config: BenchConfig
    service: ServiceProcess
    http: HttpBench

    @staticmethod
    def _sampler(pid: int, output: Path) -> subprocess.Popen[bytes]:
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [str(ensure_pyspy()), "record", "--pid", str(pid), "--rate", "250"]
        command += ["--nonblocking", "--format", "raw", "--output", str(output)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @staticmethod
    def _finish(sampler: subprocess.Popen[bytes], output: Path) -> dict[str, Any]:
        # py-spy writes its output when interrupted, as on Ctrl-C.
        sampler.send_signal(signal.SIGINT)
        _, errors = sampler.communicate(timeout=60)
        if not output.exists():
            return {"error": errors.decode(errors="replace")[-500:]}
        summary = summarise(output.read_text())
        summary["file"] = str(output.relative_to(REPO_ROOT))
        return summary

    def profile(self, operation: str) -> dict[str, Any]:
        output = WORK_DIR / "profiles" / f"{operation}-c{HEADLINE_CONCURRENCY}.txt"
        sampler = self._sampler(self.service.pid, output)
        load = self.http.run(operation, HEADLINE_CONCURRENCY)
        summary = self._finish(sampler, output)
        summary["requests_per_s_while_sampled"] = load["requests_per_s"]
        return summary

    async def profile_in_process(
        self, name: str, run: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Samples this process (the in-process relay or consumer) while ``run`` runs."""
        output = WORK_DIR / "profiles" / f"{name}.txt"
        sampler = self._sampler(os.getpid(), output)
        result = await run()
        summary = self._finish(sampler, output)
        summary["case_while_sampled"] = result.get("summary", result.get("status"))
        return summary

    def run_all(self, results: dict[str, Any]) -> dict[str, Any]:
        """Profile every HTTP operation that missed its target at concurrency 10."""
        targets = self.config.targets
        profiles: dict[str, Any] = {}
        headline = str(HEADLINE_CONCURRENCY)
        forced = self.config.only is not None
        for operation, by_concurrency in results["cases"]["http"].items():
            figures = by_concurrency.get(headline)
            if figures is None:
                continue
            wanted = targets.reads_per_s if operation in READ_OPERATIONS else targets.writes_per_s
            missed = (
                figures["requests_per_s"] < wanted or figures["latency_ms"]["p95"] > targets.p95_ms
            )
            if missed or forced:
                profiles[operation] = self.profile(operation)
        return profiles
