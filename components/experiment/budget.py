"""The experiment's time budget: one deadline on one monotonic clock, and what is kept back for the steps after the
sweep.

``limits.experiment_timeout_hours`` covers the whole run, counted from its
start: the sweep, ensemble selection, the refit on all rows, registration and
the explanation. Once a trial has completed, the sweep ends early enough to
leave time for the rest (``post_sweep_reserve``); ensemble selection takes
only members whose refit fits in what is left (``refit_allowance``); the
explanation shrinks to the time left (``explanation_time``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from components.evaluate.metrics import get_metric
from components.experiment.results import TrialResult
from components.models import get_family

if TYPE_CHECKING:
    from components.experiment.leaderboard import Leaderboard

# What follows the sweep besides refitting: ensemble selection, logging and registering the model, its contract and
# explanation, the scoring deployment (8-12 s measured on the 2-core machine).
POST_SWEEP_FIXED_S = 12.0
# Ensembles of 2 to 4 members, most of their weight on the best 2 or 3, are what selection chose on the benchmark's
# tables. Members past these 3 are left out when their refit would not fit (see tasks.ensemble).
REFIT_MEMBERS = 3
# Registering a scikit-learn tree (see ModelFamily.saved_trees), with a margin.
SAVE_S_PER_TREE = 0.005
# What follows the refit: registering the model (3-8 s measured, the most when skops and great-expectations are first
# imported), its explanation (which fits itself to the time left, from ~1 s) and the deployment.
AFTER_REFIT_S = 8.0
# An explanation takes at most this long, with a budget or without.
EXPLAIN_CAP_S = 60.0
# Kept back for what follows the explanation (the scoring deployment, artifacts, the run's end).
AFTER_EXPLAINING_S = 2.0


class ExperimentBudget:
    """The time an experiment may take, created once when it starts and read by every step after.

    Args:
        hours: ``limits.experiment_timeout_hours``; None for no limit.
        elapsed_s: How long the experiment has already run (its flow run started before this object).
        clock: Seconds on a monotonic clock; every reading of the budget uses it.
    """

    def __init__(self, hours: float | None, elapsed_s: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self.hours = hours
        self.clock = clock
        self.started = clock() - max(0.0, elapsed_s)
        self.end = self.started + hours * 3600 if hours else math.inf

    @property
    def limited(self) -> bool:
        return self.hours is not None

    def elapsed(self) -> float:
        """Seconds since the experiment started."""
        return self.clock() - self.started

    def left(self) -> float:
        """Seconds until the budget's end (negative past it; infinite without a limit)."""
        return self.end - self.clock()

    def ran_out(self) -> bool:
        return self.clock() >= self.end

    def sweep_deadline(self, board: Leaderboard, n_folds: int) -> float:
        """When the sweep must end, on the budget's clock: the budget's end, less what follows the sweep once a trial
        has completed.

        Until a trial completes there is nothing to refit, so trials may use the whole budget.
        """
        if not self.limited or board.best() is None:
            return self.end
        return self.end - post_sweep_reserve(board, n_folds, self.hours * 3600)

    def refit_allowance(self) -> float | None:
        """Seconds left, now, for refitting the champion's pipelines; None without a limit."""
        if not self.limited:
            return None
        return self.left() - AFTER_REFIT_S

    def explanation_time(self) -> float:
        """Seconds the explanation may take: what is left (at least 1 s), at most ``EXPLAIN_CAP_S``."""
        if not self.limited:
            return EXPLAIN_CAP_S
        return float(min(EXPLAIN_CAP_S, max(1.0, self.left() - AFTER_EXPLAINING_S)))


def post_sweep_reserve(board: Leaderboard, n_folds: int, budget_s: float) -> float:
    """Seconds the sweep leaves at the end of the budget for what follows it.

    For the best ``REFIT_MEMBERS`` trials: their refit on all rows and the
    registration of the trees they keep (see ``refit_estimate``); plus
    ``POST_SWEEP_FIXED_S``. Never more than half the budget. The figures
    behind these settings are in benchmarks/experiment_timeout.py's notes.
    """
    sign = -1.0 if get_metric(board.metric_name).greater_is_better else 1.0
    best = sorted((r for r in board.results if r.status == "completed"), key=lambda r: sign * r.metric)[:REFIT_MEMBERS]
    return min(0.5 * budget_s, POST_SWEEP_FIXED_S + sum(refit_estimate(r, n_folds) for r in best))


def refit_estimate(result: TrialResult, n_folds: int) -> float:
    """Seconds to refit a trial's pipeline on all rows and register it, estimated from its trial.

    A trial fits once per fold, on (k-1)/k of the rows, and also featurizes
    and predicts, so one refit takes at most about its duration / k; each
    scikit-learn tree it keeps adds ``SAVE_S_PER_TREE`` to the registration.
    """
    return result.duration_s / max(1, n_folds) + SAVE_S_PER_TREE * _saved_trees(result)


def _saved_trees(result: TrialResult) -> int:
    try:
        return get_family(result.model_name).saved_trees(result.params)
    except KeyError:  # a family no longer registered (a resumed sweep's), or the voting ensemble
        return 0
