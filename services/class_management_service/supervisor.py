"""``HTTP_WORKERS`` > 1: serving processes that share one listening socket.

The supervisor binds the address, then starts ``HTTP_WORKERS`` children, each a complete
``serve`` process (its own event loop, engine pool, background workers and metrics) that inherits
the socket; the kernel spreads connections over them. Each child is what a replica is in the
contract (outbox claims use ``SKIP LOCKED``, the consumer shares one group), which is why this
mode needs a real ``DATABASE_URL`` (Settings enforces it). ``/healthz`` and ``/metrics`` describe
the process that answers.

SIGTERM/SIGINT are forwarded to every child, which drains as a single process does. A child that
exits on its own stops the others and the supervisor exits non-zero, for the orchestrator to
restart the whole unit, rather than serving on with fewer processes than configured.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

import structlog

from class_management_service.config import Settings
from class_management_service.listener import bind_listener

logger = structlog.get_logger(__name__)

# A child drains within the 10 s shutdown budget (and exits by itself at 9.5 s, runtime.py); one
# that still hangs is killed just before the budget ends.
KILL_AFTER_SECONDS = 9.8
POLL_SECONDS = 0.1


def _child_command(listen_fd: int) -> list[str]:
    module = "class_management_service"
    return [sys.executable, "-m", module, "serve", "--listen-fd", str(listen_fd)]


def _child_environment() -> dict[str, str]:
    # The children import exactly what this process imports, however it was started.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    return env


def supervise(settings: Settings) -> int:
    """Run ``HTTP_WORKERS`` serving processes until a signal, then wait for them; exit code."""
    listener = bind_listener(settings)
    stop_requested: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(signum)

    # Installed before the children start, so no signal is lost while they boot.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    children: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(settings.http_workers):
            children.append(
                subprocess.Popen(
                    _child_command(listener.fileno()),
                    pass_fds=[listener.fileno()],
                    env=_child_environment(),
                )
            )
        logger.info(
            "supervisor_started",
            host=settings.http_host,
            port=settings.http_port,
            workers=[child.pid for child in children],
        )
        return _wait(children, stop_requested)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        listener.close()


def _wait(children: list[subprocess.Popen[bytes]], stop_requested: list[int]) -> int:
    forwarded = 0
    deadline: float | None = None
    exit_code = 0
    while any(child.poll() is None for child in children):
        if len(stop_requested) > forwarded:
            signum = stop_requested[-1]
            forwarded = len(stop_requested)
            if deadline is None:
                logger.info("supervisor_stopping", signal=signal.Signals(signum).name)
                deadline = time.monotonic() + KILL_AFTER_SECONDS
            _signal_all(children, signum)
        elif deadline is None and (exited := _first_exited(children)) is not None:
            logger.error("worker_process_exited", pid=exited.pid, exit_code=exited.returncode)
            exit_code = 1
            deadline = time.monotonic() + KILL_AFTER_SECONDS
            _signal_all(children, signal.SIGTERM)
        elif deadline is not None and time.monotonic() > deadline:
            logger.error("worker_processes_killed", reason="shutdown took too long")
            for child in children:
                if child.poll() is None:
                    child.kill()
            exit_code = 1
        time.sleep(POLL_SECONDS)
    codes = [child.returncode for child in children]
    logger.info("supervisor_stopped", exit_codes=codes)
    return 0 if exit_code == 0 and all(code == 0 for code in codes) else 1


def _signal_all(children: list[subprocess.Popen[bytes]], signum: int) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)


def _first_exited(children: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes] | None:
    return next((child for child in children if child.returncode is not None), None)
