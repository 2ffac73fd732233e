"""A registered pipeline loaded ahead of the flow that scores with it, on a thread of this process (for ``jido
score``)."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from components.registry.models import ModelRef, load_pipeline, resolve_model
from components.threads import in_background

# Pipelines loading ahead of their use, by tracking URI: one per command.
_PREFETCHED: dict[str, Future] = {}
_LOCK = threading.Lock()


def prefetch_pipeline(model_uri: str, tracking_uri: str) -> None:
    """Starts resolving ``model_uri`` and loading its pipeline, for ``take_prefetched`` to hand over.

    `jido score` starts Prefect's temporary API server first (seconds on 2
    cores, half of it waiting for the server to answer), and loading the model
    takes about as long: loading meanwhile overlaps the two
    (benchmarks/score_startup.py). An error is left for the flow's own load to report.
    """

    def load():
        ref = resolve_model(model_uri, tracking_uri)
        return ref, load_pipeline(ref, tracking_uri)

    with _LOCK:
        _PREFETCHED[tracking_uri] = in_background(load, name="jido-prefetch-model")


def take_prefetched(ref: ModelRef, tracking_uri: str):
    """The pipeline ``prefetch_pipeline`` loaded, when it loaded this very version; else None (the alias moved, or it
    failed)."""
    with _LOCK:
        ahead = _PREFETCHED.pop(tracking_uri, None)
    if ahead is None:
        return None
    try:
        found, pipeline = ahead.result()
    except Exception:  # whatever failed there fails again in the caller's own load, with its own message
        return None
    return pipeline if found == ref else None
