"""Ensemble selection as the training flow calls it, with and without a time budget."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.experiment.budget import ExperimentBudget
from components.experiment.leaderboard import Leaderboard
from components.experiment.results import TrialResult
from components.features.columns import profile_table
from components.problems import get_problem
from components.spec import build_spec
from tasks.ensemble import select_ensemble
from tasks.types import ExperimentData, SweepOutcome


def _select(spec, data: ExperimentData, sweep: SweepOutcome) -> SweepOutcome:
    """Ensemble selection as the flow runs it, with the spec's budget starting now."""
    return select_ensemble.fn(spec, data, sweep, ExperimentBudget(spec.limits.experiment_timeout_hours))


def _three_trials(durations: tuple[float, float, float] = (3.0, 3.0, 300.0)) -> tuple[ExperimentData, SweepOutcome]:
    """Three trials whose errors are independent, so a vote of all three beats any pair; they took ``durations``
    seconds."""
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({"x": rng.normal(size=n)})
    y = pd.Series(3.0 * X["x"] + rng.normal(scale=0.1, size=n), name="y")
    plan = get_problem("regression").plan_split(y, 0, n_cross_validations=3)
    valid = plan.validation_rows()
    data = ExperimentData(X, y, plan, "hash", tuple(profile_table(X)))
    board = Leaderboard("r2_score")
    predictions = {}
    for i, seconds in enumerate(durations):
        predictions[i] = y.iloc[valid].to_numpy() + rng.normal(scale=1.0, size=len(valid))
        metric = 1 - np.mean((predictions[i] - y.iloc[valid].to_numpy()) ** 2) / np.var(y.iloc[valid].to_numpy())
        board.add(TrialResult(i, "ElasticNet", {"alpha": 0.01, "l1_ratio": 0.5}, "completed", float(metric), seconds))
    return data, SweepOutcome(board, predictions=predictions)


def _spec(hours: float | None):
    return build_spec(
        {
            "name": "vote",
            "task": "regression",
            "training_data": "train.csv",
            "target_column": "y",
            "primary_metric": "r2_score",
            "limits": {"iterations": 3, "experiment_timeout_hours": hours},
        }
    )


def _members(outcome: SweepOutcome) -> set[str]:
    ensemble = outcome.board.best()
    return set(ensemble.params["members"]) if ensemble.params.get("members") else set()


def test_the_vote_takes_only_trials_whose_refit_fits_in_the_time_left(caplog):
    # No budget: all three vote.
    assert _members(_select(_spec(None), *_three_trials())) == {"0", "1", "2"}
    # One minute: trial 2's refit (about 300 s / 3 folds) does not fit; the two others still vote.
    with caplog.at_level("INFO"):
        chosen = _select(_spec(1 / 60), *_three_trials())
    assert _members(chosen) == {"0", "1"}
    assert "left trial(s) 2 out of ensemble selection" in caplog.text
    # Each refit fits (20, 20 and 30 s against the 52 s left after registering), all three together do not: the
    # costliest goes.
    assert _members(_select(_spec(1 / 60), *_three_trials((60.0, 60.0, 90.0)))) == {"0", "1"}
    # No time left at all: no vote, the best trial stays.
    caplog.clear()
    with caplog.at_level("INFO"):
        alone = _select(_spec(5 / 3600), *_three_trials())
    assert alone.ensemble is None and alone.board.best().model_name == "ElasticNet"
    assert "no time is left" in caplog.text


def _perfect_classifiers(
    sharpness: list[float], durations: list[float] | None = None
) -> tuple[ExperimentData, SweepOutcome]:
    """Trials that all rank every validation row right (AUC 1.0), each as sure of itself as ``sharpness`` says (0 to
    0.5), taking ``durations`` seconds."""
    rng = np.random.default_rng(0)
    n = 90
    X = pd.DataFrame({"x": rng.normal(size=n)})
    y = pd.Series(np.where(X["x"] > 0, "yes", "no"), name="y")
    plan = get_problem("classification").plan_split(y, 0, n_cross_validations=3)
    valid = plan.validation_rows()
    data = ExperimentData(X, y, plan, "hash", tuple(profile_table(X)))
    board = Leaderboard("AUC_weighted")
    predictions = {}
    is_yes = (y.iloc[valid] == "yes").to_numpy()
    for i, sure in enumerate(sharpness):
        p_yes = np.where(is_yes, 0.5 + sure, 0.5 - sure) + rng.uniform(-0.01, 0.01, size=len(valid))
        predictions[i] = np.column_stack([1 - p_yes, p_yes]).astype(np.float32)
        board.add(
            TrialResult(i, "LogisticRegression", {"C": 1.0}, "completed", 1.0, durations[i] if durations else 1.0)
        )
    return data, SweepOutcome(board, predictions=predictions)


def _classification_spec(hours: float | None = None):
    return build_spec(
        {
            "name": "tied",
            "task": "classification",
            "training_data": "train.csv",
            "target_column": "y",
            "primary_metric": "AUC_weighted",
            "limits": {"iterations": 5, "experiment_timeout_hours": hours},
        }
    )


def test_many_trials_tied_for_the_best_are_registered_as_an_equal_vote(caplog):
    with caplog.at_level("INFO"):
        chosen = _select(_classification_spec(), *_perfect_classifiers([0.1, 0.3, 0.2, 0.45, 0.15]))
    best = chosen.board.best()
    assert best.model_name == "VotingEnsemble" and chosen.ensemble is not None
    assert best.params["weights"] == {str(i): 0.2 for i in range(5)}
    assert best.metric == 1.0
    # Trial 3, the surest, is the best single pipeline the vote ties.
    assert "5 trials tie trial 3" in caplog.text and "5 of them vote with equal weights" in caplog.text


def test_two_trials_tied_for_the_best_keep_the_log_loss_tie_break():
    # Both perfect: averaging only blurs the surer one, which stays the best single pipeline.
    chosen = _select(_classification_spec(), *_perfect_classifiers([0.1, 0.45]))
    assert chosen.ensemble is None and chosen.board.best().iteration == 1


def test_under_a_budget_the_tied_trials_cheapest_to_refit_vote(caplog):
    # Refits of about 1, 1, 1, 100 and 30 s (a third of each 3-fold trial) against the 52 s left after registering: all
    # but trial 3.
    with caplog.at_level("INFO"):
        chosen = _select(
            _classification_spec(1 / 60),
            *_perfect_classifiers([0.1, 0.3, 0.2, 0.45, 0.15], [3.0, 3.0, 3.0, 300.0, 90.0]),
        )
    assert set(chosen.board.best().params["weights"]) == {"0", "1", "2", "4"}
    assert "4 of the 5 tied trials can be refitted" in caplog.text
