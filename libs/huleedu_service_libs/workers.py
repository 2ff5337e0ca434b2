"""Background workers of a service: started together, watched for health, stopped in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

import structlog

logger = structlog.get_logger(__name__)

WorkerStatus = Literal["running", "stopped", "disabled"]
# After the stop timeout and a cancel, how long a worker may still take to unwind.
CANCEL_GRACE_SECONDS = 1.0
WorkerLoop = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class Worker:
    """A named loop that runs until its stop event is set; ``None`` means disabled here."""

    name: str
    loop: WorkerLoop | None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def status(self) -> WorkerStatus:
        if self.loop is None:
            return "disabled"
        if self.task is None or self.task.done():
            return "stopped"
        return "running"


class WorkerSet:
    """Owns the worker tasks; a loop that exits or crashes shows as ``stopped`` in health."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    def start(self) -> None:
        for worker in self.workers:
            if worker.loop is not None and worker.task is None:
                worker.task = asyncio.create_task(
                    self._guarded(worker, worker.loop), name=f"worker:{worker.name}"
                )

    @staticmethod
    async def _guarded(worker: Worker, loop: WorkerLoop) -> None:
        try:
            await loop(worker.stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Loops handle their own errors; reaching here is a bug, made visible in /healthz.
            logger.exception("worker_crashed", worker=worker.name)

    def statuses(self) -> dict[str, WorkerStatus]:
        return {worker.name: worker.status for worker in self.workers}

    async def stop(self, timeout_seconds: float) -> None:
        """Ask every worker to stop, in list order, then cancel any that overstay."""
        for worker in self.workers:
            worker.stop.set()
        tasks = [w.task for w in self.workers if w.task is not None and not w.task.done()]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout_seconds)
        for task in pending:
            logger.warning("worker_cancelled_on_shutdown", task=task.get_name())
            task.cancel()
        if pending:
            # A clean-up step after the cancellation could await again; do not wait for it long.
            _done, stuck = await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
            for task in stuck:
                logger.error("worker_abandoned_on_shutdown", task=task.get_name())
