"""``python -m bench`` (``make bench``): run every case and write bench/results/*.json."""

from __future__ import annotations

import asyncio
import sys

import uvloop

from bench.runner import main

if __name__ == "__main__":
    # The relay and consumer cases run in this process: on uvloop, as the service runs them.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sys.exit(runner.run(main()))
