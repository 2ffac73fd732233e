"""What the sweep benchmarks share: a scratch MLflow store and a timed jido sweep."""

from __future__ import annotations

import os
import tempfile
import time


def scratch_environment(prefix: str) -> str:
    """A temporary working folder with its own MLflow store; Prefect uses its temporary local API."""
    folder = tempfile.mkdtemp(prefix=prefix)
    os.chdir(folder)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
    for key in ("PREFECT_SERVER_ANALYTICS_ENABLED", "GX_ANALYTICS_ENABLED"):
        os.environ[key] = "false"
    return folder


def time_jido_sweep(
    address: str, data, target: str, models: list[str], n_trials: int, n_concurrent: int, seed: int
) -> tuple[float, list]:
    """Seconds jido's run-trials task takes for a random sweep on the Dask scheduler at ``address``, and the trials'
    results."""
    from prefect import flow

    from components.experiment.budget import ExperimentBudget
    from components.spec import build_spec
    from tasks.tracking import start_experiment_run
    from tasks.trials import run_trials

    spec = build_spec(
        {
            "name": f"benchmark-{time.time_ns()}",
            "task": "classification",
            "training_data": "unused.csv",
            "target_column": target,
            "allowed_models": models,
            "primary_metric": "AUC_weighted",
            "seed": seed,
            "limits": {"iterations": n_trials, "max_concurrent_iterations": n_concurrent},
            "compute": {"address": address},
            "sweep": {"sampling": "random"},
        }
    )

    @flow(name="jido-benchmark")
    def measure() -> tuple[float, list]:
        parent = start_experiment_run(spec, data)
        started = time.perf_counter()
        outcome = run_trials(spec, data, parent, ExperimentBudget(None))
        return time.perf_counter() - started, outcome.board.results

    return measure()


def train_with_cli(folder: str, name: str, training_csv: str, target: str, iterations: int) -> str:
    """Registers a model as a user would, with `jido train` in its own process; returns its champion URI.

    Its own process, so no Prefect API thread shares the measuring process afterwards.
    """
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    spec = {
        "name": name,
        "task": "classification",
        "training_data": training_csv,
        "target_column": target,
        "primary_metric": "AUC_weighted",
        "validation_size": 0.2,
        "limits": {"iterations": iterations, "max_concurrent_iterations": 2},
    }
    Path(folder, "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    trained = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "train", "spec.yaml"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if trained.returncode:
        raise SystemExit(trained.stderr[-3000:])
    print(trained.stdout.strip().splitlines()[-1], flush=True)
    return f"models:/{name}@champion"
