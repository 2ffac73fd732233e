"""The experiment's parent MLflow run."""

from __future__ import annotations

import json

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context

from components.experiment.leaderboard import Leaderboard
from components.experiment.tracking import ExperimentTracker
from components.search.store import SweepStore
from components.spec import ExperimentSpec
from tasks.settings import sweep_storage, tracking_uri
from tasks.types import ExperimentData


@task(name="start-experiment-run", cache_policy=NO_CACHE)
def start_experiment_run(spec: ExperimentSpec, data: ExperimentData) -> str:
    """Opens the parent run (named after the Prefect flow run) and returns its id."""
    tracker = ExperimentTracker(tracking_uri(), spec.name)
    flow_run = get_run_context().task_run.flow_run_id
    params = {
        "task": spec.task,
        "primary_metric": spec.metric_name(),
        "validation": data.plan.describe(),
        "n_rows": len(data.X),
        "n_features": data.X.shape[1],
        "models": ",".join(spec.model_names()),
        "limits": spec.limits.model_dump_json(),
        "seed": spec.seed,
    }
    tags = {
        "jido.run_name": f"automl-{str(flow_run)[:8]}",
        "jido.data_hash": data.data_hash,
        "prefect.flow_run_id": str(flow_run),
        "jido.columns": json.dumps({p.name: p.kind for p in data.profiles})[:4000],
    }
    return tracker.start(params, tags)


@task(name="finish-experiment-run", cache_policy=NO_CACHE)
def finish_experiment_run(spec: ExperimentSpec, parent_run_id: str, board: Leaderboard, registered_uri: str) -> None:
    """Closes the parent run with the leaderboard, the best metric and the registered model's URI."""
    tracker = ExperimentTracker(tracking_uri(), spec.name, parent_run_id)
    tracker.log_leaderboard(board)
    if board.sweep:
        SweepStore.close_study(sweep_storage(spec.name, spec.sweep.storage), board.sweep)
    tracker.finish(
        {f"best_{board.metric_name}": board.best().metric},
        {"jido.registered": registered_uri, "jido.status": "completed"},
    )
