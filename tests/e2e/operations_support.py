"""Helpers for the operations tests: the service as a real process, its logs, the shared servers.

Kept out of ``conftest.py`` so these tests own their support code; nothing here is a fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from class_management_service.config import PLATFORM_FALLBACKS, PREFIX

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = REPO_ROOT / "scripts" / "services.sh"
# The contract's shutdown budget (configuration.md §6 asks for a drain; 10 s is the brief's).
SHUTDOWN_BUDGET_SECONDS = 10.0
TEACHER = "d5918e0d-7655-4456-a123-f0049d22768c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_environment(**settings: str) -> dict[str, str]:
    """This process's environment minus every setting the service reads, plus ``settings``.

    ``settings`` are given without the prefix (``HTTP_PORT="5002"``). The services.env exports
    of the test run (DATABASE_URL, Kafka, Redis) must not leak into a "no configuration" start.
    """
    # Also what an outer `make pytest` or an activated virtualenv would pass down.
    unset = {name.upper() for name in PLATFORM_FALLBACKS.values()} | {
        "VIRTUAL_ENV",
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "MAKEOVERRIDES",
    }
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(PREFIX) and name.upper() not in unset
    }
    env.update({f"{PREFIX}{name}": value for name, value in settings.items()})
    return env


def python_command(*args: str, repo: Path = REPO_ROOT) -> tuple[list[str], dict[str, str]]:
    """``python -m class_management_service <args>`` from ``repo``, as ``make run`` would."""
    return [sys.executable, "-m", "class_management_service", *args], {
        "PYTHONPATH": f"{repo / 'libs'}{os.pathsep}{repo / 'services'}"
    }


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, within: float = 20.0
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: object = None
    while True:
        try:
            value = await probe()
        except (httpx.TransportError, AssertionError) as exc:
            value, last = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.2)


@dataclass
class ServiceProcess:
    """A process started for a test: ``make run`` or ``python -m class_management_service``.

    It runs in a session of its own (so a signal to the test run does not reach it) with its
    output in ``log_path``."""

    process: asyncio.subprocess.Process
    port: int
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.strip()]

    def json_logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_lines()]

    def service_pid(self) -> int:
        """The serving python process: this one, or the child that ``make`` runs."""
        pid = self.process.pid
        for _ in range(3):
            if b"\0-m\0class_management_service\0" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
            children = _children(pid)
            if not children:
                break
            pid = children[0]
        raise AssertionError(f"no service process under pid {self.process.pid}")

    def children(self) -> list[int]:
        return _children(self.process.pid)

    async def wait_ready(self, within: float = 60.0) -> None:
        """Until ``/healthz`` answers at all (200 or 503); fails early if the process exits."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(
                        f"service exited with {self.process.returncode}:\n{self.output()[-4000:]}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    await client.get("/healthz")
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"service not ready after {within} s:\n{self.output()}")
                await asyncio.sleep(0.1)

    async def stop(self, signum: int = signal.SIGTERM, pid: int | None = None) -> tuple[int, float]:
        """Signal the service (or ``pid``) and wait for this process; (exit code, seconds)."""
        target = pid if pid is not None else self.service_pid()
        started = time.monotonic()
        os.kill(target, signum)
        try:
            code = await asyncio.wait_for(self.process.wait(), SHUTDOWN_BUDGET_SECONDS + 20)
        except TimeoutError:
            self.kill()
            raise AssertionError(f"no exit after SIGTERM:\n{self.output()[-4000:]}") from None
        return code, time.monotonic() - started

    async def close(self) -> None:
        """After the test: SIGTERM (a clean leave of the consumer group), SIGKILL if need be."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, AssertionError):
                self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), SHUTDOWN_BUDGET_SECONDS)
        self.kill()
        await self.process.wait()

    def kill(self) -> None:
        """Last resort for a failed test: the whole session this test started."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children first."""
    children = _children(pid)
    return children + [d for child in children for d in descendants(child)]


def stop_left_over_postgres(data_dir: Path) -> None:
    """If a failed run left an embedded server up, stop it (fast shutdown) by its pid."""
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(item) for item in path.read_text().split()]
    except FileNotFoundError:
        return []


async def start_process(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    cwd: Path,
    log_path: Path,
    port: int,
) -> ServiceProcess:
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    return ServiceProcess(process, port, log_path)


@contextlib.asynccontextmanager
async def running(tmp_path: Path, name: str, **settings: str) -> AsyncIterator[ServiceProcess]:
    """``python -m class_management_service serve`` with ``settings`` on a free port.

    The working directory is a fresh directory, so no developer ``.env`` is read."""
    port = int(settings.pop("HTTP_PORT", "0")) or free_port()
    if "KAFKA_BOOTSTRAP_SERVERS" in settings:
        # A group of its own: a member of a shared group that a test stops (or kills) would make
        # every other member rebalance, here and in whatever else uses the broker.
        settings.setdefault("KAFKA_CONSUMER_GROUP_ID", f"cms-ops-{name}-{uuid.uuid4().hex[:8]}")
    workdir = tmp_path / name
    workdir.mkdir(exist_ok=True)
    command, extra = python_command("serve")
    env = service_environment(HTTP_PORT=str(port), **settings) | extra
    service = await start_process(
        command, env, cwd=workdir, log_path=workdir / "service.log", port=port
    )
    try:
        await service.wait_ready()
        yield service
    finally:
        await service.close()


async def run_cli(*args: str, cwd: Path, **settings: str) -> tuple[int, str, str]:
    """``python -m class_management_service <args>``: (exit code, stdout, stderr)."""
    command, extra = python_command(*args)
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=service_environment(**settings) | extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def accepts_connections(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


async def services_script(action: str, service: str, address: tuple[str, int]) -> None:
    """``bash scripts/services.sh <action> <service>`` (the shared local servers).

    Checks that ``address`` follows: servers this checkout's script does not own (another
    checkout's, a container's) cannot be stopped, and the test must say so rather than wait."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(SERVICES_SCRIPT),
        action,
        service,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    if process.returncode != 0:
        raise AssertionError(f"services.sh {action} {service} failed: {stderr.decode()}")
    if action == "down" and accepts_connections(address):
        raise AssertionError(
            f"{service} at {address[0]}:{address[1]} still answers after `services.sh down "
            f"{service}`: this test needs the servers that {SERVICES_SCRIPT} runs"
        )


async def health(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def create_class(client: httpx.AsyncClient, name: str, teacher: str = TEACHER) -> str:
    response = await client.post(
        "/v1/classes", json={"name": name, "course_codes": ["ENG5"]}, headers={"X-User-ID": teacher}
    )
    assert response.status_code == 201, response.text
    class_id: str = response.json()["id"]
    return class_id
