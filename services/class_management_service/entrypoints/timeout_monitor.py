"""The timeout monitor as a background worker loop of the serving process."""

from __future__ import annotations

import asyncio

from dishka import AsyncContainer

from class_management_service.application.timeout_monitor import TimeoutMonitor
from huleedu_service_libs.workers import WorkerLoop


def timeout_monitor_loop(container: AsyncContainer) -> WorkerLoop:
    """A ``WorkerSet`` loop; run it only when ``ASSOCIATION_MONITOR_ENABLED``."""

    async def loop(stop: asyncio.Event) -> None:
        # One scope for the worker's life: the monitor re-enters its unit of work per
        # transaction, so nothing is shared between batches but the engine.
        async with container() as scope:
            monitor = await scope.get(TimeoutMonitor)
            await monitor.run(stop)

    return loop
