"""The seed's developer commands, run as a platform engineer types them, in a fresh clone.

``pdm run -p services/class_management_service dev`` serves on the configured port against the
embedded database and restarts when a source file changes; ``pdm run -p ... pytest-root`` and
``pdm run mypy services/class_management_service/`` run from the same clone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.operations_support import (
    REPO_ROOT,
    TEACHER,
    ServiceProcess,
    create_class,
    descendants,
    eventually,
    free_port,
    service_environment,
    start_process,
    stop_left_over_postgres,
)

pytestmark = pytest.mark.integration

SERVICE_PROJECT = "services/class_management_service"


def _pdm() -> Path:
    """The pdm a developer has: on PATH, or the one `make install` bootstrapped."""
    found = shutil.which("pdm")
    candidate = Path(found) if found else REPO_ROOT / ".local" / "pdm-venv" / "bin" / "pdm"
    assert candidate.exists(), "no pdm: run `make install` (it bootstraps one) or install pdm"
    return candidate


async def _clone(tmp_path: Path) -> Path:
    """A fresh clone that shares this checkout's installed environment (same lock).

    The clone's .venv is a link to ours, so nothing is installed again; the Makefile's install
    stamp (a hash of pyproject.toml + pdm.lock) tells that it is up to date for the clone."""
    clone = tmp_path / "clone"
    process = await asyncio.create_subprocess_exec("git", "clone", "-q", str(REPO_ROOT), str(clone))
    assert await process.wait() == 0
    (clone / ".venv").symlink_to(REPO_ROOT / ".venv", target_is_directory=True)
    return clone


def _environment(pdm: Path, **settings: str) -> dict[str, str]:
    env = service_environment(**settings)
    env["PATH"] = f"{pdm.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PDM_CHECK_UPDATE"] = "false"
    return env


def _serving_children(service: ServiceProcess) -> list[int]:
    """The serving process(es) under the reloader (the process that `service_pid` finds)."""
    return [
        pid
        for pid in descendants(service.service_pid())
        if b"\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


async def test_pdm_dev_serves_and_restarts_when_a_source_file_changes(tmp_path: Path) -> None:
    pdm = _pdm()
    clone = await _clone(tmp_path)
    port = free_port()
    command = [str(pdm), "run", "-p", SERVICE_PROJECT, "dev"]
    env = _environment(pdm, HTTP_PORT=str(port))
    service = await start_process(command, env, cwd=clone, log_path=tmp_path / "dev.log", port=port)
    try:
        await service.wait_ready(within=120)
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
            class_id = await create_class(client, "Seed dev 8C")
            before = _serving_children(service)
            assert len(before) == 1, service.output()

            # A real edit of a module the service imports.
            config = clone / SERVICE_PROJECT / "config.py"
            config.write_text(config.read_text() + "\n# edited while `pdm run dev` runs\n")

            async def restarted() -> bool:
                now = _serving_children(service)
                if len(now) != 1 or now == before:
                    return False
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get(
                        f"/v1/classes/{class_id}", headers={"X-User-ID": TEACHER}
                    )
                    return response.status_code == 200
                return False

            await eventually(restarted, "a new serving process answering", within=60)
        code, _ = await service.stop(signal.SIGTERM)
        assert code == 0, service.output()
        assert "embedded_postgres_started" in service.output()
    finally:
        await service.close()
        stop_left_over_postgres(clone / ".run" / "postgres")


async def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_pdm_pytest_root_and_mypy_run_from_a_fresh_clone(tmp_path: Path) -> None:
    pdm = _pdm()
    clone = await _clone(tmp_path)
    env = _environment(pdm)

    code, output = await _run(
        [
            str(pdm),
            "run",
            "-p",
            SERVICE_PROJECT,
            "pytest-root",
            "-q",
            "-m",
            "not integration",
            "tests/unit/common_core",
        ],
        clone,
        env,
    )
    assert code == 0, output
    assert re.search(r"^\d+ passed", output, re.MULTILINE), output

    # The checkout's cache (warm after `make typecheck`) saves re-analysing every dependency;
    # mypy still checks each of the clone's files against it by content.
    if (REPO_ROOT / ".mypy_cache").is_dir():
        shutil.copytree(REPO_ROOT / ".mypy_cache", clone / ".mypy_cache")
    code, output = await _run([str(pdm), "run", "mypy", f"{SERVICE_PROJECT}/"], clone, env)
    assert code == 0, output
    assert "Success: no issues found" in output
