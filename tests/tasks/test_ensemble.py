"""Ensemble selection as the training flow calls it, with and without a time budget."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.data import plan_split
from components.featurize import profile_table
from components.leaderboard import Leaderboard
from components.spec import build_spec
from components.trial import TrialResult
from tasks.data import ExperimentData
from tasks.ensemble import select_ensemble
from tasks.trials import SweepOutcome


def _three_trials(durations: tuple[float, float, float] = (3.0, 3.0, 300.0)) -> tuple[ExperimentData, SweepOutcome]:
    """Three trials whose errors are independent, so a vote of all three beats any pair; they took ``durations`` seconds."""
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({"x": rng.normal(size=n)})
    y = pd.Series(3.0 * X["x"] + rng.normal(scale=0.1, size=n), name="y")
    plan = plan_split(y, "regression", 0, n_cross_validations=3)
    valid = np.concatenate([rows for _, rows in plan])
    data = ExperimentData(X, y, plan, "hash", tuple(profile_table(X)))
    board = Leaderboard("r2_score")
    predictions = {}
    for i, seconds in enumerate(durations):
        predictions[i] = y.iloc[valid].to_numpy() + rng.normal(scale=1.0, size=len(valid))
        metric = 1 - np.mean((predictions[i] - y.iloc[valid].to_numpy()) ** 2) / np.var(y.iloc[valid].to_numpy())
        board.add(TrialResult(i, "ElasticNet", {"alpha": 0.01, "l1_ratio": 0.5}, "completed", float(metric), seconds))
    return data, SweepOutcome(board, predictions=predictions)


def _spec(hours: float | None):
    return build_spec({
        "name": "vote", "task": "regression", "training_data": "train.csv", "target_column": "y", "primary_metric": "r2_score",
        "limits": {"iterations": 3, "experiment_timeout_hours": hours},
    })


def _members(outcome: SweepOutcome) -> set[str]:
    ensemble = outcome.board.best()
    return set(ensemble.params["members"]) if ensemble.params.get("members") else set()


def test_the_vote_takes_only_trials_whose_refit_fits_in_the_time_left(caplog):
    # No budget: all three vote.
    assert _members(select_ensemble.fn(_spec(None), *_three_trials())) == {"0", "1", "2"}
    # One minute: trial 2's refit (about 300 s / 3 folds) does not fit; the two others still vote.
    with caplog.at_level("INFO"):
        chosen = select_ensemble.fn(_spec(1 / 60), *_three_trials())
    assert _members(chosen) == {"0", "1"}
    assert "left trial(s) 2 out of ensemble selection" in caplog.text
    # Each refit fits (20, 20 and 30 s against the 52 s left after registering), all three together do not: the costliest goes.
    assert _members(select_ensemble.fn(_spec(1 / 60), *_three_trials((60.0, 60.0, 90.0)))) == {"0", "1"}
    # No time left at all: no vote, the best trial stays.
    caplog.clear()
    with caplog.at_level("INFO"):
        alone = select_ensemble.fn(_spec(5 / 3600), *_three_trials())
    assert alone.ensemble is None and alone.board.best().model_name == "ElasticNet"
    assert "no time is left" in caplog.text
