"""schemathesis against the running service on PostgreSQL: every check, every phase, 0 failures.

Each phase runs as its own ``st run`` so that a failure names its phase and the report gives the
number of cases per phase. The configuration (``schemathesis.toml``) enables every check and
explains the two places where the contract makes a check's premise false.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.contract.conftest import SERVICE_ID, SERVICE_KEY
from tests.e2e.matching_fixtures import TEACHER_ID
from tests.e2e.operations_support import ServiceProcess

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")
# Fixed so that CI is repeatable; set SCHEMATHESIS_SEED to explore other inputs locally.
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261202")
PHASES = ("examples", "coverage", "fuzzing", "stateful")


async def run_schemathesis(
    service: ServiceProcess, phase: str, report: Path, workdir: Path
) -> tuple[int, str]:
    # schemathesis keeps a cache in its working directory: a temporary one, not the checkout.
    process = await asyncio.create_subprocess_exec(
        str(ST),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{service.url}/openapi.json",
        "--phases",
        phase,
        "--seed",
        SEED,
        "-H",
        f"X-User-ID: {TEACHER_ID}",
        "-H",
        f"X-Internal-API-Key: {SERVICE_KEY}",
        "-H",
        f"X-Service-ID: {SERVICE_ID}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=workdir,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


@pytest.mark.parametrize("phase", PHASES)
async def test_schemathesis_phase_finds_no_failure(
    api_service: ServiceProcess, artifacts: Path, phase: str, tmp_path: Path
) -> None:
    report = artifacts / f"schemathesis-{phase}.json"
    code, output = await run_schemathesis(api_service, phase, report, tmp_path)
    summary = json.loads(report.read_text())
    assert code == 0, output[-8000:]
    assert (summary["failures"], summary["errors"]) == ([], []), output[-8000:]
    assert summary["phases"][phase]["status"] == "success", summary["phases"]
    operations = summary["operations"]
    if phase in ("coverage", "fuzzing"):
        # Every operation of the document is exercised by these two phases.
        assert operations["tested"] == operations["total"] >= 20, operations
    else:
        # The examples phase covers the operations with examples, the stateful one those that
        # links reach (everything from creating a class or a student onwards).
        assert operations["tested"] >= 5, operations
    assert summary["test_cases"]["generated"] >= 10
    print(f"schemathesis {phase}: {summary['test_cases']['generated']} cases")
