"""The training flow: one AutoML experiment, from data to a registered champion and its scoring deployment."""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow

from components.spec import ExperimentSpec
from tasks.data import load_training_data, read_spec, start_budget
from tasks.deploy import create_scoring_deployment
from tasks.ensemble import select_ensemble
from tasks.explain import explain_model
from tasks.register import register_champion
from tasks.report import publish_leaderboard
from tasks.tracking import finish_experiment_run, start_experiment_run
from tasks.trials import run_trials


@dataclass(frozen=True)
class TrainResult:
    """What an experiment produced.

    Attributes:
        champion_uri: ``models:/NAME@champion``.
        champion_version: The version holding the alias after this run.
        registered_uri: The version this run registered (champion or not).
        promoted: Whether this run's model became the champion.
        metric_name: The primary metric.
        champion_metric: The champion's metric on this run's validation rows.
        leaderboard: Every trial, best first.
        scoring_deployment: The generated deployment, ``flow/deployment``.
    """

    champion_uri: str
    champion_version: str
    registered_uri: str
    promoted: bool
    metric_name: str
    champion_metric: float
    leaderboard: list[dict]
    scoring_deployment: str


@flow(name="jido-train", log_prints=False)
def train(spec: ExperimentSpec | str) -> TrainResult:
    """Runs an AutoML experiment.

    Args:
        spec: The experiment spec, or the path of its YAML file.
    """
    spec = read_spec(spec)
    budget = start_budget(spec)
    data = load_training_data(spec)
    parent_run_id = start_experiment_run(spec, data)
    trials = run_trials(spec, data, parent_run_id, budget)
    # Bound to the champion alias, not to this run's version: created (2-7 s of API calls on the
    # 2-core machine) while the champion is chosen, refitted and explained, inside the time budget.
    deployment = create_scoring_deployment.submit(spec)
    sweep = select_ensemble(spec, data, trials, budget)
    board = sweep.board
    outcome = register_champion(spec, data, sweep, parent_run_id, budget)
    explain_model(spec, data, outcome, budget)
    publish_leaderboard(spec, board, outcome)
    finish_experiment_run(spec, parent_run_id, board, outcome.registered_uri)
    return TrainResult(
        champion_uri=outcome.champion_uri,
        champion_version=outcome.champion_version,
        registered_uri=outcome.registered_uri,
        promoted=outcome.promoted,
        metric_name=outcome.metric_name,
        champion_metric=outcome.champion_metric,
        leaderboard=board.table(),
        scoring_deployment=deployment.result(),
    )
