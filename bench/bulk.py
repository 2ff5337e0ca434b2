"""``bulk_import``: 5,000-row JSON imports over HTTP, each into a fresh class of its own teacher."""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.config import BULK_ROWS
from bench.database import fetch_count
from bench.fixtures import Api, bulk_body, new_bulk_pairs, teacher_headers
from bench.procfs import CpuProbe
from bench.service import ServiceProcess
from bench.stats import latency_summary

_STUDENT_EVENTS = (
    "SELECT count(*) FROM event_outbox WHERE event_type = 'huleedu.class.student.created.v1'"
)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Run:
    pairs: list[tuple[str, str]]
    api: Api
    client: httpx.AsyncClient
    body: bytes
    token: str
    latencies_s: list[float] = field(default_factory=list)
    students: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    extra_pairs: int = 0

    async def _next_pair(self) -> tuple[str, str]:
        if self.pairs:
            return self.pairs.pop()
        # Ran out of prepared targets: one extra class request, small next to an import.
        self.extra_pairs += 1
        prefix = f"bench-bulk-extra-{self.token}-{self.extra_pairs}"
        (pair,) = await new_bulk_pairs(self.api, prefix, 1)
        return pair

    async def import_one(self) -> None:
        teacher, class_id = await self._next_pair()
        started = time.perf_counter()
        response = await self.client.post(
            f"/v1/classes/{class_id}/students/bulk",
            headers=teacher_headers(teacher),
            content=self.body,
        )
        self.latencies_s.append(time.perf_counter() - started)
        if response.status_code != 200:
            self.errors += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(f"{response.status_code}: {response.text[:200]}")
            return
        self.students += response.json()["summary"]["created"]

    async def worker(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            await self.import_one()


async def run_bulk(
    service: ServiceProcess,
    probe: CpuProbe,
    database_url: str,
    pairs: list[tuple[str, str]],
    *,
    concurrency: int,
    duration_s: float,
    token: str,
) -> dict[str, Any]:
    """Imports back to back for ``duration_s`` (after one warm-up import per worker)."""
    body = bulk_body(BULK_ROWS)
    async with httpx.AsyncClient(base_url=service.base_url, timeout=300.0) as client:
        api = Api(client)
        warm = _Run(pairs, api, client, body, token)
        await asyncio.gather(*(warm.import_one() for _ in range(concurrency)))
        events_before = await fetch_count(database_url, _STUDENT_EVENTS)
        run = _Run(pairs, api, client, body, token, extra_pairs=warm.extra_pairs)
        start = probe.snapshot()
        cpu_start = _cpu_seconds()
        began = time.perf_counter()
        await asyncio.gather(*(run.worker(began + duration_s) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        cpu = _cpu_seconds() - cpu_start
        end = probe.snapshot()
        events = await fetch_count(database_url, _STUDENT_EVENTS) - events_before
    return {
        "concurrency": concurrency,
        "rows_per_import": BULK_ROWS,
        "imports": len(run.latencies_s),
        "students": run.students,
        "duration_s": round(elapsed, 3),
        "students_per_s": round(run.students / elapsed, 1),
        "import_latency_ms": latency_summary(run.latencies_s),
        "errors": run.errors,
        "error_samples": run.error_samples,
        "events_written": events,
        "events_match_students": events == run.students,
        "warmup_imports": len(warm.latencies_s),
        "classes_created_during_run": run.extra_pairs - warm.extra_pairs,
        "cpu": probe.share(start, end, cpu),
        "service_memory": service.memory(),
    }
