"""Ensemble selection: which trials vote, and with what weights, chosen on their kept validation predictions.

Selection follows Caruana et al., "Ensemble Selection from Libraries of
Models" (ICML 2004): start from nothing, and in each round add (with
replacement) the trial whose predictions most improve the averaged
ensemble's metric on the validation rows; the best round's multiset gives
integer weights. No library offers this over precomputed predictions
(scikit-learn's voting estimators refit their members and take fixed
weights), so it is written here; it is a few lines of NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.evaluate.metrics import TIE, Metric
from components.experiment.results import TrialResult
from components.problems import Problem


@dataclass(frozen=True)
class EnsembleChoice:
    """The selected ensemble.

    Attributes:
        weights: Each member's weight (they sum to 1), by trial iteration, heaviest first.
        fold_metrics: The weighted ensemble's metric on each fold's validation rows.
        metric: Their mean, comparable with a trial's metric.
        rounds: How many picks the selection made (a trial picked twice counts twice).
        tiebreak: The ensemble's ``Problem.tiebreak`` value on all validation rows.
    """

    weights: dict[int, float]
    fold_metrics: tuple[float, ...]
    metric: float
    rounds: int
    tiebreak: float = 0.0


def best_calibrated(
    best: TrialResult,
    results: list[TrialResult],
    candidates: dict[int, np.ndarray],
    y_true: np.ndarray,
    problem: Problem,
    metric: Metric,
    classes: np.ndarray | None,
) -> tuple[TrialResult, float, float]:
    """Of the trials that tie the best one on the primary metric, the one ``Problem.tiebreak`` ranks first (a
    classifier's best calibrated).

    On easy data many trials reach an AUC or accuracy of 1.0 on the
    validation rows; the first to get there is not the best of them.
    Returns it with its own and the best trial's tie-break values. The best
    trial stays when its predictions were not kept (nothing to compare) or no
    tied trial beats it by more than ``TIE``; ties among the others go to the
    earliest, like ties on the primary metric.
    """
    if best.iteration not in candidates:
        return best, 0.0, 0.0
    incumbent = problem.tiebreak(metric, y_true, candidates[best.iteration], classes)
    chosen, chosen_value = best, incumbent
    for result in tied_with(best, results, candidates):
        if result is not best:
            value = problem.tiebreak(metric, y_true, candidates[result.iteration], classes)
            if value > chosen_value + TIE:
                chosen, chosen_value = result, value
    return chosen, chosen_value, incumbent


def tied_with(best: TrialResult, results: list[TrialResult], candidates: dict[int, np.ndarray]) -> list[TrialResult]:
    """The completed trials (``best`` among them) whose predictions were kept and that tie ``best`` on the primary
    metric, the earliest first."""
    return [
        r
        for r in sorted(results, key=lambda r: r.iteration)
        if r.status == "completed"
        and r.iteration in candidates
        and r.metric is not None
        and abs(r.metric - best.metric) <= TIE
    ]


class EnsembleCandidates:
    """The validation predictions of the best completed trials, kept within a memory cap.

    Args:
        max_candidates: Trials kept at most (the selection rarely uses more than a handful).
        max_bytes: Memory the kept predictions may take in all; on a large
            validation set fewer trials are kept (two at least).
    """

    def __init__(self, problem: Problem, metric: Metric, max_candidates: int = 30, max_bytes: int = 512 * 2**20):
        self.problem = problem
        self.metric = metric
        self.max_candidates = max_candidates
        self.max_bytes = max_bytes
        self.predictions: dict[int, np.ndarray] = {}
        self._metrics: dict[int, float] = {}

    def add(self, result, predictions: np.ndarray) -> None:
        """Keeps a completed trial's predictions if it ranks among the best and they can be averaged (a classifier's
        labels cannot)."""
        if not self.problem.averages(predictions):
            return
        self.predictions[result.iteration] = predictions
        self._metrics[result.iteration] = result.metric
        limit = min(self.max_candidates, max(2, self.max_bytes // max(1, predictions.nbytes)))
        while len(self.predictions) > limit:
            sign = 1.0 if self.metric.greater_is_better else -1.0
            worst = min(self._metrics, key=lambda k: (sign * self._metrics[k], -k))
            del self.predictions[worst], self._metrics[worst]


def fold_segments(fold_sizes: list[int]) -> list[slice]:
    """Where each fold's validation rows lie in predictions kept fold after fold."""
    ends = np.cumsum(fold_sizes)
    return [slice(int(end - size), int(end)) for size, end in zip(fold_sizes, ends)]


def _blend(candidates: dict[int, np.ndarray], weights: dict[int, float]) -> np.ndarray:
    """The weighted average of the candidates' predictions (the weights sum to 1)."""
    return sum(weight * candidates[key].astype(np.float64) for key, weight in weights.items())


def _mean_metric(
    problem: Problem, metric: Metric, y_true: np.ndarray, predictions: np.ndarray, segments: list[slice], classes
) -> tuple[float, tuple[float, ...]]:
    scores = tuple(problem.score(metric, y_true[part], predictions[part], classes) for part in segments)
    return float(np.mean(scores)), scores


def greedy_selection(
    candidates: dict[int, np.ndarray],
    y_true: np.ndarray,
    segments: list[slice],
    problem: Problem,
    metric: Metric,
    classes: np.ndarray | None,
    rounds: int = 25,
    max_candidates: int = 15,
) -> EnsembleChoice:
    """Caruana's forward selection with replacement over kept validation predictions.

    Each round scores every candidate's addition on all validation rows at
    once (one metric call per candidate, not one per fold); the chosen
    ensemble's metric is then the mean over folds, comparable with a trial's.

    Args:
        candidates: Each trial's validation predictions (probabilities for a
            classifier; values for a regressor), by iteration, in one row order.
        y_true: The true targets of those rows, in the same order.
        segments: Each fold's rows.
        rounds: Picks to make; the best prefix wins, so extra rounds cost time only.
        max_candidates: Only the best candidates alone (by the same measure) take part.
    """
    if not candidates:
        raise ValueError("no candidate predictions to select an ensemble from")
    sign = 1.0 if metric.greater_is_better else -1.0

    def pooled(predictions: np.ndarray) -> tuple[float, float]:
        # Ranked by the primary metric, rounded so that ties fall to the tie-break.
        value = problem.score(metric, y_true, predictions, classes)
        if not np.isfinite(value):
            return (-np.inf, -np.inf)
        return (round(sign * value / TIE) * TIE, problem.tiebreak(metric, y_true, predictions, classes))

    alone = {key: pooled(predictions) for key, predictions in candidates.items()}
    keys = sorted(sorted(candidates), key=lambda k: alone[k], reverse=True)[:max_candidates]
    keys.sort()
    total = np.zeros_like(candidates[keys[0]], dtype=np.float64)
    picks: list[int] = []
    best: tuple[tuple[float, float], int] | None = None
    for _ in range(rounds):
        round_best: tuple[tuple[float, float], int] | None = None
        for key in keys:
            value = pooled((total + candidates[key]) / (len(picks) + 1))
            if value[0] > -np.inf and (round_best is None or value > round_best[0]):
                round_best = (value, key)
        if round_best is None:
            break
        total += candidates[round_best[1]]
        picks.append(round_best[1])
        if best is None or round_best[0] > best[0]:
            best = (round_best[0], len(picks))
    if best is None:
        raise ValueError("no candidate gives a finite metric")
    n_picks = best[1]
    counts = pd.Series(picks[:n_picks]).value_counts()
    weights = {int(key): float(count) / n_picks for key, count in counts.items()}
    weights = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])))
    blended = _blend(candidates, weights)
    value, scores = _mean_metric(problem, metric, y_true, blended, segments, classes)
    return EnsembleChoice(weights, scores, value, n_picks, best[0][1])


# Trials tied for the best on the primary metric from which validation can no longer tell them apart (see tied_vote);
# at most as many as EnsembleCandidates keeps predictions of.
MIN_TIED = 3
MAX_TIED_MEMBERS = 30


def tied_vote(
    best: TrialResult,
    results: list[TrialResult],
    candidates: dict[int, np.ndarray],
    y_true: np.ndarray,
    segments: list[slice],
    problem: Problem,
    metric: Metric,
    classes: np.ndarray | None,
    max_members: int = MAX_TIED_MEMBERS,
) -> EnsembleChoice | None:
    """An equal vote of the trials that tie the best one on the primary metric, when at least ``MIN_TIED`` do.

    On easy data dozens of trials reach an AUC of 1.0 on every fold, and the
    validation rows cannot rank them; the log loss that breaks a tie then
    favours the most confident, which tested worse on new rows than an equal
    vote of all of them (penguins in benchmarks/automl_vs_flaml.py). So when
    that many tie, all of them vote with equal weights.

    Members are the tied trials whose predictions were kept, the earliest
    first, up to ``max_members``. Returns None when fewer than ``MIN_TIED``
    take part, or when the vote scores worse than the best trial on the
    primary metric (it cannot when every member ranks all rows right).
    """
    tied = tied_with(best, results, candidates)[:max_members]
    if len(tied) < MIN_TIED:
        return None
    weights = {r.iteration: 1.0 / len(tied) for r in tied}
    blended = _blend(candidates, weights)
    value, scores = _mean_metric(problem, metric, y_true, blended, segments, classes)
    if not np.isfinite(value) or (metric.is_better(best.metric, value) and abs(value - best.metric) > TIE):
        return None
    return EnsembleChoice(weights, scores, value, len(tied), problem.tiebreak(metric, y_true, blended, classes))
