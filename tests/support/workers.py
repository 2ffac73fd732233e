"""What tests run on Dask workers to see where, and when, a task ran."""

from __future__ import annotations

import os
import time

from distributed import get_worker


def where() -> tuple[str, str | None]:
    """The worker's name and the GPUs it sees."""
    return get_worker().name, os.environ.get("CUDA_VISIBLE_DEVICES")


def hold(seconds: float) -> tuple[str, float, float]:
    """Holds the worker's thread for ``seconds``: its name, and when the hold began and ended."""
    started = time.time()
    time.sleep(seconds)
    return get_worker().name, started, time.time()
