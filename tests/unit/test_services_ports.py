"""`make services` binds its servers outside the kernel's ephemeral port range.

Inside it, a client that keeps reconnecting while a server is down can be given the server's own
port as its source port and connect to itself; the restarted server then cannot bind (seen in
outage drills). The `SERVICES_*_PORT` knobs still move the servers anywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "services.sh"
KNOBS = (
    "SERVICES_PG_PORT",
    "SERVICES_REDIS_PORT",
    "SERVICES_KAFKA_PORT",
    "SERVICES_KAFKA_CONTROLLER_PORT",
)


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def _defaults() -> dict[str, int]:
    found = {
        match.group(1): int(match.group(2))
        for match in re.finditer(r"\$\{(SERVICES_\w+_PORT):-(\d+)\}", SCRIPT.read_text())
    }
    assert set(found) == set(KNOBS)
    return found


def test_every_default_port_is_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()

    inside = {knob: port for knob, port in _defaults().items() if low <= port <= high}

    assert inside == {}, f"ephemeral range {low}-{high}"


def test_the_environment_file_names_the_default_ports() -> None:
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    printed = subprocess.run(
        ["bash", str(SCRIPT), "env"], capture_output=True, text=True, check=True, env=env
    ).stdout
    defaults = _defaults()

    assert f"@127.0.0.1:{defaults['SERVICES_PG_PORT']}/" in printed
    assert f"redis://127.0.0.1:{defaults['SERVICES_REDIS_PORT']}/" in printed
    assert f"BOOTSTRAP_SERVERS=127.0.0.1:{defaults['SERVICES_KAFKA_PORT']}\n" in printed


def test_a_knob_still_moves_a_server() -> None:
    env = {**os.environ, "SERVICES_REDIS_PORT": "27777"}
    printed = subprocess.run(
        ["bash", str(SCRIPT), "env"], capture_output=True, text=True, check=True, env=env
    ).stdout

    assert "redis://127.0.0.1:27777/" in printed
