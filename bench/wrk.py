"""wrk as the HTTP load generator: Lua scripts per case, runs with CPU accounting, parsed output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procfs import CpuProbe, CpuSnapshot

RESULT_MARKER = "BENCH_JSON "

# Runs once per wrk thread when the run ends; latency is in microseconds.
_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,'
    .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},'
    .. '"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,"max":%.0f,'
    .. '"p50":%.0f,"p90":%.0f,"p95":%.0f,"p99":%.0f,"p999":%.0f}}\\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for ASCII


def _lua_headers(headers: dict[str, str]) -> str:
    items = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    return "{" + items + "}"


def rotating_requests_script(
    method: str, paths: Sequence[str], headers: dict[str, str], body: str | None = None
) -> str:
    """Requests pre-formatted once, then sent round-robin over ``paths``."""
    paths_lua = ", ".join(_lua_string(path) for path in paths)
    body_lua = _lua_string(body) if body is not None else "nil"
    return f"""
local paths = {{{paths_lua}}}
local headers = {_lua_headers(headers)}
local reqs = {{}}
local idx = 0
init = function(args)
  for i, p in ipairs(paths) do
    reqs[i] = wrk.format({_lua_string(method)}, p, headers, {body_lua})
  end
end
request = function()
  idx = idx % #reqs + 1
  return reqs[idx]
end
{_DONE}"""


def formatted_body_script(
    method: str,
    path: str,
    headers: dict[str, str],
    body_format: str,
    choices: Sequence[str],
) -> str:
    """A fresh body per request: ``string.format(body_format, prefix, n, choice)``.

    ``n`` counts the requests, ``choice`` cycles through ``choices``, and ``prefix`` is the first
    argument after ``--``: unique per run, so that with ``n`` it makes e-mails unique.
    """
    choices_lua = ", ".join(_lua_string(choice) for choice in choices)
    return f"""
local choices = {{{choices_lua}}}
local headers = {_lua_headers(headers)}
local fmt = {_lua_string(body_format)}
local prefix = "x"
local n = 0
init = function(args)
  prefix = args[1]
end
request = function()
  n = n + 1
  local body = string.format(fmt, prefix, n, choices[(n - 1) % #choices + 1])
  return wrk.format({_lua_string(method)}, {_lua_string(path)}, headers, body)
end
{_DONE}"""


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, check=False, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(install, check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and `apt-get install wrk` failed")
    return found


@dataclass(frozen=True)
class WrkRun:
    result: dict[str, Any]
    loadgen_cpu_s: float
    start: CpuSnapshot
    end: CpuSnapshot


def run_wrk(
    wrk: str,
    script: Path,
    url: str,
    *,
    connections: int,
    duration_s: float,
    probe: CpuProbe,
    script_args: Sequence[str] = (),
) -> WrkRun:
    """One closed-loop wrk run on one thread; the CPU window is the wrk process's lifetime."""
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    with tempfile.TemporaryFile() as stderr:
        start = probe.snapshot()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert process.stdout is not None
        output = process.stdout.read()
        # wait4 rather than wait: it also returns the child's own CPU time.
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        end = probe.snapshot()
        stderr.seek(0)
        errors = stderr.read().decode(errors="replace")
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARKER)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({process.returncode}): {errors.strip()}\n{output}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARKER) :])
    return WrkRun(result, usage.ru_utime + usage.ru_stime, start, end)
