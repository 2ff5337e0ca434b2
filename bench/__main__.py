"""``python -m bench`` (``make bench``): run every case and write bench/results/*.json."""

from __future__ import annotations

import asyncio
import sys

from bench.runner import main

if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
