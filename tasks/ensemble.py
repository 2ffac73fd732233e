"""Ensemble selection after the sweep: a weighted vote of the best trials, kept only when it beats the best one."""

from __future__ import annotations

import math
import time
from dataclasses import replace

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.evaluate.metrics import TIE, get_metric
from components.experiment.budget import ExperimentBudget, refit_estimate
from components.experiment.results import TrialResult
from components.experiment.selection import (
    MIN_TIED,
    best_calibrated,
    fold_segments,
    greedy_selection,
    tied_vote,
    tied_with,
)
from components.experiment.trial import build_pipeline
from components.experiment.voting import ENSEMBLE_NAME, ensemble_pipeline
from components.spec import ExperimentSpec
from tasks.settings import task_logger
from tasks.types import ExperimentData, SweepOutcome

# Selections run again, each without the costliest member of the last, before giving up on an ensemble.
_MAX_RESELECTIONS = 3


@task(name="select-ensemble", cache_policy=NO_CACHE)
def select_ensemble(
    spec: ExperimentSpec, data: ExperimentData, sweep: SweepOutcome, budget: ExperimentBudget
) -> SweepOutcome:
    """Breaks a tie for the best trial, then chooses a weighted vote of trials on their validation predictions
    (Caruana's greedy selection).

    Of the trials that tie the best on the primary metric, the one with the
    lowest log loss on the validation rows becomes the best single pipeline.

    The ensemble joins the leaderboard as one more row, with its weights as
    parameters, only when it has two members or more and its metric beats the
    best trial's on the same validation rows (mean over folds, like a trial's).
    Its members are refitted on all rows when it is registered.

    One exception: when ``MIN_TIED`` trials or more tie the best on the
    primary metric, the validation rows cannot tell them apart, and an equal
    vote of them (``components.ensemble.tied_vote``) is registered unless a
    greedy selection strictly beats it.

    Under ``experiment_timeout_hours`` only trials whose refit fits in what is
    left of ``budget`` take part. A task type without ensembles gets the tie-break only.
    """
    logger = task_logger()
    started = time.perf_counter()
    problem, metric = spec.problem(), get_metric(sweep.board.metric_name)
    y_valid, classes = data.y.iloc[data.plan.validation_rows()].to_numpy(), problem.classes(data.y)
    if sweep.board.best() is not None and sweep.trained_best is None:
        # Not when the best is a deep model kept as trained: switching would cost its whole training again.
        _prefer_the_better_calibrated(sweep, y_valid, classes, problem, metric)
    if not (spec.enable_voting_ensemble and problem.ensembles):
        return sweep
    if len(sweep.predictions) < 2:
        logger.info("no voting ensemble: fewer than two completed trials with predictions to average")
        return sweep
    decided = _choose(spec, data, sweep, budget, y_valid, classes)
    if decided is None:
        return sweep
    choice, how = decided
    board = sweep.board
    by_iteration = {r.iteration: r for r in board.results}
    members = [
        build_pipeline(by_iteration[i].model_name, problem, by_iteration[i].params, spec.seed) for i in choice.weights
    ]
    columns = [p.name for p in data.profiles if p.kind != "dropped"]
    pipeline = ensemble_pipeline(members, list(choice.weights.values()), spec.task, columns)
    params = {
        "weights": {str(i): w for i, w in choice.weights.items()},
        "members": {str(i): by_iteration[i].model_name for i in choice.weights},
    }
    seconds = time.perf_counter() - started
    board.add(
        TrialResult(
            max(by_iteration) + 1, ENSEMBLE_NAME, params, "completed", choice.metric, seconds, None, choice.fold_metrics
        ),
        wins_tie=True,
    )
    logger.info("voting ensemble of %s: %s=%.4f %s", _weights(choice), metric.name, choice.metric, how)
    return replace(sweep, ensemble=pipeline)


def _prefer_the_better_calibrated(sweep: SweepOutcome, y_valid, classes, problem, metric) -> None:
    """Of the trials tied with the best on the primary metric, the one the task type's tie-break ranks first becomes
    the best.

    On easy data many trials reach an AUC of 1.0; the first to get there is not the best of them.
    """
    board, best = sweep.board, sweep.board.best()
    calibrated, its_value, best_value = best_calibrated(
        best, board.results, sweep.predictions, y_valid, problem, metric, classes
    )
    if calibrated is not best:
        board.prefer(calibrated)
        task_logger().info(
            "trial %d (%s) ties trial %d on %s and is better calibrated (log loss %.4f against %.4f): "
            "it is the best single pipeline",
            calibrated.iteration,
            calibrated.model_name,
            best.iteration,
            metric.name,
            -its_value,
            -best_value,
        )


def _choose(
    spec: ExperimentSpec, data: ExperimentData, sweep: SweepOutcome, budget: ExperimentBudget, y_valid, classes
):
    """The ensemble to register and why, or None: the tied trials' equal vote, unless a greedy selection strictly beats
    it; else a greedy selection of two or more members that beats the best trial (or ties it, better calibrated)."""
    board, problem = sweep.board, spec.problem()
    metric, best = get_metric(board.metric_name), board.best()
    by_iteration = {r.iteration: r for r in board.results}
    n_tied = len(tied_with(best, board.results, sweep.predictions))
    vote = _affordable_vote(spec, data, sweep, budget, y_valid, classes) if n_tied >= MIN_TIED else None
    choice = _affordable_selection(spec, data, sweep, budget, by_iteration, y_valid, classes)
    greedy_wins = (
        vote is not None
        and choice is not None
        and metric.is_better(choice.metric, vote.metric)
        and abs(choice.metric - vote.metric) > TIE
    )
    if vote is not None and not greedy_wins:
        return vote, (
            f"{n_tied} trials tie trial {best.iteration} on {metric.name} ({best.metric:.4f}); "
            f"validation cannot tell them apart, so {len(vote.weights)} of them vote with equal weights"
        )
    if choice is None:
        return None
    # Tied on the primary metric (an AUC of 1.0 on easy data), the better calibrated wins.
    tied = abs(choice.metric - best.metric) <= TIE
    kept = sweep.predictions.get(best.iteration)
    best_tiebreak = problem.tiebreak(metric, y_valid, kept, classes) if kept is not None else math.inf
    wins = metric.is_better(choice.metric, best.metric) or (tied and choice.tiebreak > best_tiebreak + TIE)
    if len(choice.weights) < 2 or not wins:
        task_logger().info(
            "no voting ensemble: the best selection (%s: %s=%.4f) does not beat trial %d (%.4f)",
            _weights(choice),
            metric.name,
            choice.metric,
            best.iteration,
            best.metric,
        )
        return None
    if tied:
        return (
            choice,
            f"ties trial {best.iteration} and is better calibrated "
            f"(log loss {-choice.tiebreak:.4f} against {-best_tiebreak:.4f})",
        )
    return choice, f"beats trial {best.iteration} ({best.metric:.4f})"


def _weights(choice) -> str:
    return ", ".join(f"#{i} {w:.2f}" for i, w in choice.weights.items())


def _affordable_vote(
    spec: ExperimentSpec, data: ExperimentData, sweep: SweepOutcome, budget: ExperimentBudget, y_valid, classes
):
    """The equal vote of the trials tied for the best (``tied_vote``) whose refits fit together in what is left of
    experiment_timeout_hours.

    Under a budget the tied trials join the cheapest refit first, as long as
    the sum of their refits fits. Returns None when fewer than ``MIN_TIED`` do.
    """
    board = sweep.board
    best, metric = board.best(), get_metric(board.metric_name)
    kept = dict(sweep.predictions)
    allowance = budget.refit_allowance()
    if allowance is not None:
        n_folds = len(data.plan.folds)
        costs = {r.iteration: refit_estimate(r, n_folds) for r in tied_with(best, board.results, kept)}
        tied = sorted(costs, key=lambda i: (costs[i], i))
        chosen, total = [], 0.0
        for i in tied:
            total += costs[i]
            if total > allowance:
                break
            chosen.append(i)
        if len(chosen) < len(tied):
            task_logger().info(
                "%d of the %d tied trials can be refitted in the %.0f s left for refitting",
                len(chosen),
                len(tied),
                max(0.0, allowance),
            )
        kept = {i: kept[i] for i in chosen}
    segments = fold_segments(data.plan.fold_sizes())
    return tied_vote(best, board.results, kept, y_valid, segments, spec.problem(), metric, classes)


def _affordable_selection(
    spec: ExperimentSpec,
    data: ExperimentData,
    sweep: SweepOutcome,
    budget: ExperimentBudget,
    by_iteration: dict[int, TrialResult],
    y_valid,
    classes,
):
    """Greedy selection among the trials whose refit fits in what is left of experiment_timeout_hours.

    The members are refitted on all rows and registered after this, inside
    the budget. Trials whose own refit (``refit_estimate``) would not fit are
    no candidates; when the chosen members' refits together would not fit,
    the costliest member leaves the candidates and selection runs again, up
    to ``_MAX_RESELECTIONS`` times (each run takes up to a few seconds).
    Returns None when no ensemble can be afforded.
    """
    logger = task_logger()
    metric = get_metric(sweep.board.metric_name)
    segments = fold_segments(data.plan.fold_sizes())
    n_folds = len(data.plan.folds)
    allowance = budget.refit_allowance()
    candidates = dict(sweep.predictions)
    left_out: list[int] = []
    if allowance is not None:
        if allowance <= 0:
            logger.info("no voting ensemble: no time is left of experiment_timeout_hours to refit one")
            return None
        left_out = [i for i in candidates if refit_estimate(by_iteration[i], n_folds) > allowance]
        candidates = {i: p for i, p in candidates.items() if i not in left_out}
    for _ in range(_MAX_RESELECTIONS + 1):
        if len(candidates) < 2:
            break
        choice = greedy_selection(
            candidates, y_valid, segments, spec.problem(), metric, classes, spec.ensemble_iterations
        )
        costs = {i: refit_estimate(by_iteration[i], n_folds) for i in choice.weights}
        if allowance is None or sum(costs.values()) <= allowance or len(costs) < 2:
            if left_out:
                logger.info(
                    "left trial(s) %s out of ensemble selection: refitting them would not fit in the %.0f s left for "
                    "refitting",
                    ", ".join(map(str, left_out)),
                    allowance,
                )
            return choice
        costliest = max(costs, key=costs.get)
        del candidates[costliest]
        left_out.append(costliest)
    logger.info(
        "no voting ensemble: no selection of two or more trials could be refitted in the %.0f s left for refitting",
        allowance,
    )
    return None
