"""The service under test: ``python -m class_management_service serve`` as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from bench.config import REPO_ROOT
from bench.database import service_env
from bench.procfs import memory_mb, process_tree

READY_TIMEOUT_S = 60.0


class ServiceProcess:
    """Started with the production entry point and settings; its log goes to ``log_path``."""

    def __init__(self, *, database_url: str, port: int, log_path: Path, **settings: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._env = service_env(
            database_url,
            http_host="127.0.0.1",
            http_port=str(port),
            environment="production",
            **settings,
        )
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the service is not running")
        return self._process.pid

    def start(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_path.open("ab" if self.starts else "wb")
        self.starts += 1
        self._process = subprocess.Popen(
            [sys.executable, "-m", "class_management_service", "serve"],
            env=self._env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the service exited early; see {self._log_path}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the service was not ready in {READY_TIMEOUT_S} s")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ensure_running(self) -> bool:
        """Restart the service if something stopped it; True when it had to."""
        if self.alive():
            return False
        self.stop()
        self.start()
        return True

    @contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the service (its background relays too) while something else is measured."""
        self._signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        """To the service and its serving children (``HTTP_WORKERS`` > 1)."""
        if self._process is None or self._process.poll() is not None:
            return
        for pid in process_tree(self._process.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signum)

    def memory(self) -> dict[str, float]:
        return memory_mb(self.pid)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
