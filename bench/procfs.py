"""CPU and memory of processes and of the machine, read from /proc (Linux only)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far; 0 when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _parent(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (parent := _parent(int(entry))) is not None:
            parents[int(entry)] = parent
    tree = [root]
    frontier = [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        tree += children
        frontier += children
    return tree


def memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM, the kernel's high-water mark) resident set in MiB,
    summed over ``pid`` and its children (``HTTP_WORKERS`` > 1 serves from several processes)."""
    totals = {"VmRSS": 0.0, "VmHWM": 0.0}
    processes = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            continue
        processes += 1
        for line in lines:
            key, _, rest = line.partition(":")
            if key in totals:
                totals[key] += int(rest.split()[0]) / 1024
    return {
        "rss_mb": round(totals["VmRSS"], 1),
        "peak_rss_mb": round(totals["VmHWM"], 1),
        "processes": processes,
    }


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal): CPU seconds all cores spent running, and seconds the hypervisor kept the
    virtual CPUs waiting while they had work (steal), since boot. Busy excludes steal: stolen
    time is capacity this VM did not get, not work anyone here did."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    steal = ticks[7]
    return (sum(ticks) - idle - steal) / _TICKS, steal / _TICKS


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


_AUX_TITLES = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
    "stats collector",
    "archiver",
)


def postgres_role(pid: int, database: str) -> str:
    """``bench`` (a backend of ``database``), ``aux`` (shared server process) or ``foreign``."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError, UnicodeDecodeError):
        return "foreign"
    if not title.startswith("postgres: "):
        return "aux"  # the postmaster itself
    rest = title[len("postgres: ") :]
    if rest.startswith("autovacuum worker"):
        return "bench" if database in rest.split() else "foreign"
    if rest.startswith(_AUX_TITLES):
        return "aux"
    words = rest.split()
    return "bench" if len(words) > 1 and words[1] == database else "foreign"


def boost(pid: int, nice: int) -> None:
    """Raise a process's CPU priority (root only); silently skipped when not permitted."""
    try:
        if os.getpriority(os.PRIO_PROCESS, pid) > nice:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    except (PermissionError, ProcessLookupError, OSError):
        pass


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    machine: float
    steal: float
    service: float
    postgres: dict[int, float]


@dataclass
class CpuProbe:
    """Attributes CPU over a window to the service, PostgreSQL, the load generator and the rest.

    PostgreSQL counts the bench database's backends and the server's shared processes; other
    databases' backends (other people's tests on the same server) count as ``other``. With
    ``nice`` set, each snapshot also raises the bench backends to that priority, as the bench's
    own processes already are.
    """

    service_pid: int | None
    postgres_root: int | None
    database: str
    nice: int | None = None

    def snapshot(self) -> CpuSnapshot:
        postgres: dict[int, float] = {}
        if self.postgres_root is not None:
            for pid in process_tree(self.postgres_root):
                role = postgres_role(pid, self.database)
                if role == "foreign":
                    continue
                if role == "bench" and self.nice is not None:
                    boost(pid, self.nice)
                postgres[pid] = process_cpu_seconds(pid)
        busy, steal = machine_cpu_seconds()
        return CpuSnapshot(
            wall=time.perf_counter(),
            machine=busy,
            steal=steal,
            service=(
                sum(process_cpu_seconds(pid) for pid in process_tree(self.service_pid))
                if self.service_pid
                else 0.0
            ),
            postgres=postgres,
        )

    def share(self, start: CpuSnapshot, end: CpuSnapshot, loadgen_cpu_s: float) -> dict[str, float]:
        """Percent of one core over the window (the machine has 200 %)."""
        wall = end.wall - start.wall
        postgres = sum(cpu - start.postgres.get(pid, 0.0) for pid, cpu in end.postgres.items())
        machine = end.machine - start.machine
        service = end.service - start.service
        other = machine - service - postgres - loadgen_cpu_s

        def pct(seconds: float) -> float:
            return round(100 * seconds / wall, 1) if wall > 0 else 0.0

        return {
            "machine_pct": pct(machine),
            "service_pct": pct(service),
            "postgres_pct": pct(postgres),
            "loadgen_pct": pct(loadgen_cpu_s),
            "other_pct": pct(max(other, 0.0)),
            # A noisy neighbour on the host shows here, not as our CPU: figures of a case with
            # a high steal share are low for reasons outside this machine.
            "steal_pct": pct(end.steal - start.steal),
            "loadgen_share_of_busy": round(loadgen_cpu_s / machine, 3) if machine > 0 else 0.0,
        }

    def background_pct(self, seconds: float = 0.5) -> float:
        """CPU used by anything but the service and the bench database, over ``seconds``."""
        start = self.snapshot()
        time.sleep(seconds)
        return self.share(start, self.snapshot(), 0.0)["other_pct"]


@dataclass
class QuietGate:
    """Waits (within a budget) until other work on the machine is below ``threshold_pct``."""

    probe: CpuProbe
    threshold_pct: float
    per_case_s: float
    budget_s: float

    def wait(self) -> dict[str, float]:
        waited = 0.0
        background = self.probe.background_pct()
        while (
            background > self.threshold_pct
            and waited < self.per_case_s
            and self.budget_s - waited > 0
        ):
            time.sleep(1.0)
            waited += 1.5  # the sleep plus the measurement
            background = self.probe.background_pct()
        self.budget_s -= waited
        return {"background_pct_before": background, "waited_s": waited}
