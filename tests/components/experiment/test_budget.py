"""The experiment's time budget: one deadline on one clock, and what the sweep keeps back for the steps after it."""

from __future__ import annotations

import math

import pytest

from components.experiment.budget import (
    AFTER_EXPLAINING_S,
    AFTER_REFIT_S,
    EXPLAIN_CAP_S,
    ExperimentBudget,
    post_sweep_reserve,
    refit_estimate,
)
from components.experiment.leaderboard import Leaderboard
from components.experiment.results import TrialResult


class Clock:
    """A clock that moves only when told: the budget reads nothing else."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_sweep_leaves_time_for_the_refit_of_its_best_trials():
    board = Leaderboard("r2_score")
    for i, (metric, seconds) in enumerate([(0.5, 30.0), (0.9, 12.0), (0.8, 6.0), (0.1, 300.0)]):
        board.add(TrialResult(i, "ElasticNet", {}, "completed", metric, seconds))
    board.add(TrialResult(9, "ElasticNet", {}, "failed", None, 500.0))
    # The best three completed trials (not the 300 s one), one refit each of 1/3 of a 3-fold trial, plus the fixed part.
    assert post_sweep_reserve(board, 3, 3600) == pytest.approx(12.0 + (30 + 12 + 6) / 3)
    assert post_sweep_reserve(board, 3, 40) == 20.0  # never more than half the budget
    assert post_sweep_reserve(Leaderboard("r2_score"), 3, 3600) == 12.0
    # Forests and histogram boosting keep scikit-learn trees, which take time to register; LightGBM's do not.
    board.add(TrialResult(10, "ExtremeRandomTrees", {"n_estimators": 400}, "completed", 0.95, 3.0))
    board.add(TrialResult(11, "HistGradientBoosting", {"max_iter": 200}, "completed", 0.94, 3.0))
    board.add(TrialResult(12, "LightGBM", {"n_estimators": 2000}, "completed", 0.93, 3.0))
    expected = 12.0 + (3 + 3 + 3) / 3 + 0.005 * (400 + 200)
    assert post_sweep_reserve(board, 3, 3600) == pytest.approx(expected)


def test_the_budget_counts_from_the_experiments_start_on_its_one_clock():
    clock = Clock()
    budget = ExperimentBudget(0.01, elapsed_s=6.0, clock=clock)  # 36 s, 6 of them gone before the budget was made
    assert budget.limited and budget.left() == pytest.approx(30.0) and budget.elapsed() == pytest.approx(6.0)
    clock.now += 29.0
    assert not budget.ran_out() and budget.left() == pytest.approx(1.0)
    clock.now += 1.0
    assert budget.ran_out()
    unlimited = ExperimentBudget(None, clock=clock)
    assert not unlimited.limited and unlimited.left() == math.inf and not unlimited.ran_out()


def test_the_sweep_deadline_keeps_the_reserve_back_once_a_trial_completed():
    clock = Clock()
    budget = ExperimentBudget(1.0, clock=clock)
    board = Leaderboard("r2_score")
    assert budget.sweep_deadline(board, 3) == budget.end  # nothing to refit yet: the whole budget
    board.add(TrialResult(0, "ElasticNet", {}, "failed", None, 5.0))
    assert budget.sweep_deadline(board, 3) == budget.end
    board.add(TrialResult(1, "ElasticNet", {}, "completed", 0.5, 30.0))
    assert budget.sweep_deadline(board, 3) == pytest.approx(budget.end - post_sweep_reserve(board, 3, 3600))
    assert ExperimentBudget(None, clock=clock).sweep_deadline(board, 3) == math.inf


def test_refitting_and_explaining_take_what_is_left():
    clock = Clock()
    budget = ExperimentBudget(0.02, clock=clock)  # 72 s
    clock.now += 40.0
    assert budget.refit_allowance() == pytest.approx(32.0 - AFTER_REFIT_S)
    assert budget.explanation_time() == pytest.approx(32.0 - AFTER_EXPLAINING_S)
    clock.now += 100.0
    assert budget.explanation_time() == 1.0  # past the end: the explanation still gets a second
    unlimited = ExperimentBudget(None, clock=clock)
    assert unlimited.refit_allowance() is None and unlimited.explanation_time() == EXPLAIN_CAP_S
    assert ExperimentBudget(10.0, clock=clock).explanation_time() == EXPLAIN_CAP_S


def test_a_refit_is_estimated_from_its_trial_and_the_trees_it_keeps():
    forest = TrialResult(0, "RandomForest", {"n_estimators": 200}, "completed", 0.9, 9.0)
    assert refit_estimate(forest, 3) == pytest.approx(3.0 + 0.005 * 200)
    assert (
        refit_estimate(TrialResult(1, "VotingEnsemble", {}, "completed", 0.9, 4.0), 1) == 4.0
    )  # no family of that name: no trees counted
