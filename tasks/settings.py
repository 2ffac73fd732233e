"""Settings read from the environment, in one place."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else ``mlflow.db`` (SQLite) in the working directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def experiment_folder(name: str) -> Path:
    """Where an experiment keeps its local state: ``JIDO_HOME`` when set, else ``jido-experiments`` in the working
    directory."""
    return Path(os.environ.get("JIDO_HOME") or Path.cwd() / "jido-experiments") / name


def sweep_storage(name: str, configured: str | None) -> str:
    """The Optuna storage of an experiment's sweep: the configured URL, else SQLite in its folder."""
    from components.search.store import sqlite_url

    return configured or sqlite_url(experiment_folder(name))


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) built from ``parts``."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def experiment_started() -> float:
    """When the experiment began (epoch seconds): its flow run's start, or now outside a flow."""
    import time

    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    start = context.flow_run.start_time if context and context.flow_run else None
    return start.timestamp() if start else time.time()


def task_logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger inside a run; a plain logger when a task is called with ``.fn()``."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("jido")
