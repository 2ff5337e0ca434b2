"""Pieces of the outage drills: a steady write load, CPU and log accounting of the service
process, a TCP proxy that can stall like a network partition, and Kafka read-back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.matching_fixtures import TopicWatch
from tests.e2e.operations_support import TEACHER, ServiceProcess

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Window:
    """CPU and log lines of the service between ``start()`` and ``stop()``."""

    service: ServiceProcess
    cpu_started: float = 0.0
    wall_started: float = 0.0
    lines_started: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> None:
        self.cpu_started = cpu_seconds(self.service.service_pid())
        self.wall_started = time.monotonic()
        self.lines_started = len(self.service.log_lines())

    def stop(self) -> None:
        self.cpu = cpu_seconds(self.service.service_pid()) - self.cpu_started
        self.wall = time.monotonic() - self.wall_started
        raw = self.service.log_lines()[self.lines_started :]
        self.lines = [json.loads(line) for line in raw]

    @property
    def cores(self) -> float:
        return self.cpu / self.wall

    def lines_besides_access_log(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") != "http_request"]


@dataclass
class WrittenClass:
    class_id: str
    names: list[str]


@dataclass
class SteadyWrites:
    """Units of three requests at a fixed rate: create a class, then rename it twice, in order
    (so each class's events have an order to keep). Every answer is recorded."""

    client: httpx.AsyncClient
    units_per_second: float
    prefix: str
    statuses: list[int] = field(default_factory=list)
    written: list[WrittenClass] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        n = 0
        while not stop.is_set():
            task = asyncio.create_task(self._unit(n))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            n += 1
            next_at += 1 / self.units_per_second
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - loop.time()))
        await asyncio.gather(*self._tasks)

    @property
    def requests(self) -> int:
        return len(self.statuses)

    @property
    def failures(self) -> list[int]:
        return [status for status in self.statuses if not 200 <= status < 300]

    async def _unit(self, n: int) -> None:
        headers = {"X-User-ID": TEACHER}
        name = f"{self.prefix} {n:04d}"
        response = await self.client.post(
            "/v1/classes", json={"name": name, "course_codes": ["ENG5"]}, headers=headers
        )
        self.statuses.append(response.status_code)
        if response.status_code != 201:
            return
        written = WrittenClass(response.json()["id"], [name])
        for revision in (1, 2):
            renamed = f"{name} rev {revision}"
            response = await self.client.put(
                f"/v1/classes/{written.class_id}", json={"name": renamed}, headers=headers
            )
            self.statuses.append(response.status_code)
            if response.status_code != 200:
                break
            written.names.append(renamed)
        self.written.append(written)


async def watch_topics(bootstrap_servers: str, topics: Sequence[str]) -> list[TopicWatch]:
    """What is appended to ``topics`` from now on."""
    return [await TopicWatch.from_now(bootstrap_servers, topic) for topic in topics]


async def appended(watches: Sequence[TopicWatch]) -> list[Any]:
    """Every record appended to the watched topics since their watch started."""
    return [record for watch in watches for record in await watch.records()]


class StallingProxy:
    """``127.0.0.1:<port>`` → target; ``stall()`` stops forwarding without closing anything.

    A partition, not a refusal: connections stay open and new ones are accepted, but no byte
    crosses until ``resume()`` (then what was held is delivered, as TCP would after a healed
    partition). A client sees a server that has stopped answering."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            await self._flowing.wait()
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except OSError:
            pass
        finally:
            for end in (writer, upstream_writer):
                if end is not None:
                    end.transport.abort()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await source.read(65536):
                await self._flowing.wait()
                sink.write(chunk)
                await sink.drain()
        sink.transport.abort()
