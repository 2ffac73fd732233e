"""MLflow tracking: one parent run per experiment, one nested run per trial.

Runs are written from the driver's side with MlflowClient's batch calls (a trial
costs a handful of store writes), so the workers never need a tracking URI.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
from mlflow.entities import Metric as MlflowMetric
from mlflow.entities import Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from components.experiment.results import TrialResult
from components.search.store import SweepStore
from components.sqlite import write_ahead

if (
    TYPE_CHECKING
):  # the recorder process imports this module: it stays clear of scikit-learn (see components/experiment/results.py)
    from components.experiment.leaderboard import Leaderboard

_MAX_TAG = 4000
_RUN_STATUS = {"completed": "FINISHED", "early_terminated": "KILLED", "failed": "FAILED"}


class ExperimentTracker:
    """Writes an experiment's runs to one MLflow tracking store.

    Args:
        tracking_uri: The MLflow tracking URI.
        experiment_name: The MLflow experiment (jido uses the spec's ``name``).
        parent_run_id: The experiment's parent run, when it is already open.
    """

    def __init__(self, tracking_uri: str, experiment_name: str, parent_run_id: str | None = None):
        self.tracking_uri = tracking_uri
        write_ahead(tracking_uri)  # a nested run per finished trial: see components/sqlite.py
        self.client = MlflowClient(tracking_uri)
        experiment = self.client.get_experiment_by_name(experiment_name)
        self.experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(experiment_name)
        self.parent_run_id = parent_run_id

    def start(self, params: dict[str, str], tags: dict[str, str]) -> str:
        """Opens the experiment's parent run and records its settings."""
        run = self.client.create_run(self.experiment_id, run_name=tags.get("jido.run_name"), tags=tags)
        self.parent_run_id = run.info.run_id
        self.client.log_batch(self.parent_run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        return self.parent_run_id

    def resume_from(self, previous_run_id: str) -> None:
        """Links this parent run to the one an interrupted run of the same sweep left open, and closes that one."""
        self.client.set_tag(self.parent_run_id, "jido.resumed_from", previous_run_id)
        try:
            previous = self.client.get_run(previous_run_id)
        except MlflowException:  # deleted, or in another store: nothing to close
            return
        if previous.info.status == "RUNNING":
            self.client.set_tag(previous_run_id, "jido.resumed_by", self.parent_run_id)
            self.client.set_terminated(previous_run_id, "KILLED")

    def log_trial(self, result: TrialResult, metric_name: str, pipeline: str) -> str:
        """Records one finished trial as a nested run."""
        tags = {
            "mlflow.parentRunId": self.parent_run_id,
            "jido.status": result.status,
            "jido.pipeline": pipeline,
            "jido.iteration": str(result.iteration),
        }
        if result.error:
            tags["jido.error"] = result.error[:_MAX_TAG]
        run = self.client.create_run(self.experiment_id, run_name=f"trial-{result.iteration:03d}", tags=tags)
        now = int(time.time() * 1000)
        metrics = [MlflowMetric("duration_s", result.duration_s, now, 0)]
        if result.metric is not None:
            metrics.append(MlflowMetric(metric_name, result.metric, now, 0))
            metrics += [MlflowMetric(f"{metric_name}_fold", v, now, i) for i, v in enumerate(result.fold_metrics)]
        metrics += [MlflowMetric(f"{metric_name}_curve", v, now, step) for step, v in enumerate(result.curve, start=1)]
        params = [Param("model_name", result.model_name)] + [Param(k, json.dumps(v)) for k, v in result.params.items()]
        self.client.log_batch(run.info.run_id, metrics=metrics, params=params)
        self.client.set_terminated(run.info.run_id, _RUN_STATUS[result.status])
        return run.info.run_id

    def log_leaderboard(self, board: Leaderboard) -> None:
        """Attaches the leaderboard (JSON, loadable with ``Leaderboard.load``) to the parent run."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "leaderboard.json"
            board.save(path)
            self.client.log_artifact(self.parent_run_id, str(path))

    def log_metrics(self, metrics: dict[str, float]) -> None:
        """Metrics of the parent run."""
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.parent_run_id, metrics=[MlflowMetric(k, float(v), now, 0) for k, v in metrics.items()]
        )

    def finish(self, metrics: dict[str, float], tags: dict[str, str], failed: bool = False) -> None:
        """Closes the parent run with its summary."""
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.parent_run_id,
            metrics=[MlflowMetric(k, float(v), now, 0) for k, v in metrics.items()],
            tags=[RunTag(k, str(v)[:_MAX_TAG]) for k, v in tags.items()],
        )
        self.client.set_terminated(self.parent_run_id, "FAILED" if failed else "FINISHED")


class TrialRecorder:
    """Writes a sweep's finished trials, from one thread or process: first each one's durable record, then its nested
    run.

    Args:
        tracking_uri: The MLflow tracking URI.
        experiment_name: The MLflow experiment.
        parent_run_id: The experiment's parent run.
        storage_url: The sweep's Optuna storage.
        study_name: The sweep's study.
    """

    def __init__(self, tracking_uri: str, experiment_name: str, parent_run_id: str, storage_url: str, study_name: str):
        self.tracker = ExperimentTracker(tracking_uri, experiment_name, parent_run_id)
        self.store = SweepStore(storage_url, study_name, resumed=True)

    def record(self, result: TrialResult, metric_name: str, pipeline: str, durable: optuna.trial.FrozenTrial) -> None:
        """Writes one trial; once its durable record is in, a rerun never runs it again."""
        self.store.add(durable)
        self.tracker.log_trial(result, metric_name, pipeline)
