"""``python -m bench`` (``make bench``): run every case and write bench/results/*.json."""

from __future__ import annotations

import sys

import uvloop

from bench.runner import main

if __name__ == "__main__":
    # The relay and consumer cases run in this process: on uvloop, as the service runs them.
    sys.exit(uvloop.run(main()))
