"""Ensembles of trials: greedy selection over their validation predictions, and the fitted ensemble.

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
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from components.metrics import TIE, Metric
from components.results import TrialResult
from components.trial import score_predictions

ENSEMBLE_NAME = "VotingEnsemble"


@dataclass(frozen=True)
class EnsembleChoice:
    """The selected ensemble.

    Attributes:
        weights: Each member's weight (they sum to 1), by trial iteration, heaviest first.
        fold_metrics: The weighted ensemble's metric on each fold's validation rows.
        metric: Their mean, comparable with a trial's metric.
        rounds: How many picks the selection made (a trial picked twice counts twice).
        tiebreak: The ensemble's ``tiebreak`` value on all validation rows.
    """

    weights: dict[int, float]
    fold_metrics: tuple[float, ...]
    metric: float
    rounds: int
    tiebreak: float = 0.0


def tiebreak(metric: Metric, y_true: np.ndarray, predictions: np.ndarray, classes: np.ndarray | None) -> float:
    """What separates predictions the primary metric ties: minus the log loss of a classifier's probabilities, else 0.

    On easy data many trials reach an AUC or accuracy of 1.0 on the
    validation rows; the better calibrated of them is the better model.
    """
    if metric.task != "classification" or predictions.ndim != 2 or metric.name == "log_loss":
        return 0.0
    from sklearn.metrics import log_loss

    proba = np.clip(predictions.astype(float), 1e-15, 1.0)
    return -float(log_loss(y_true, proba / proba.sum(axis=1, keepdims=True), labels=classes))  # kept as float32: rows sum to 1 only roughly


def best_calibrated(
    best: TrialResult, results: list[TrialResult], candidates: dict[int, np.ndarray], y_true: np.ndarray, metric: Metric, classes: np.ndarray | None
) -> tuple[TrialResult, float, float]:
    """Of the trials that tie the best one on the primary metric, the one ``tiebreak`` ranks first.

    Returns it with its own and the best trial's ``tiebreak`` values. The best
    trial stays when its predictions were not kept (nothing to compare) or no
    tied trial beats it by more than ``TIE``; ties among the others go to the
    earliest, like ties on the primary metric.
    """
    if best.iteration not in candidates:
        return best, 0.0, 0.0
    incumbent = tiebreak(metric, y_true, candidates[best.iteration], classes)
    chosen, chosen_value = best, incumbent
    for result in tied_with(best, results, candidates):
        if result is not best:
            value = tiebreak(metric, y_true, candidates[result.iteration], classes)
            if value > chosen_value + TIE:
                chosen, chosen_value = result, value
    return chosen, chosen_value, incumbent


def tied_with(best: TrialResult, results: list[TrialResult], candidates: dict[int, np.ndarray]) -> list[TrialResult]:
    """The completed trials (``best`` among them) whose predictions were kept and that tie ``best`` on the primary metric, the earliest first."""
    return [
        r for r in sorted(results, key=lambda r: r.iteration)
        if r.status == "completed" and r.iteration in candidates and r.metric is not None and abs(r.metric - best.metric) <= TIE
    ]


class EnsembleCandidates:
    """The validation predictions of the best completed trials, kept within a memory cap.

    Args:
        max_candidates: Trials kept at most (the selection rarely uses more than a handful).
        max_bytes: Memory the kept predictions may take in all; on a large
            validation set fewer trials are kept (two at least).
    """

    def __init__(self, metric: Metric, max_candidates: int = 30, max_bytes: int = 512 * 2**20):
        self.metric = metric
        self.max_candidates = max_candidates
        self.max_bytes = max_bytes
        self.predictions: dict[int, np.ndarray] = {}
        self._metrics: dict[int, float] = {}

    def add(self, result, predictions: np.ndarray) -> None:
        """Keeps a completed trial's predictions if it ranks among the best; a classifier's labels are not kept (nothing to average)."""
        if self.metric.task == "classification" and predictions.ndim != 2:
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


def _mean_metric(metric: Metric, y_true: np.ndarray, predictions: np.ndarray, segments: list[slice], classes) -> tuple[float, tuple[float, ...]]:
    scores = tuple(score_predictions(metric, y_true[part], predictions[part], classes) for part in segments)
    return float(np.mean(scores)), scores


def greedy_selection(
    candidates: dict[int, np.ndarray],
    y_true: np.ndarray,
    segments: list[slice],
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
        value = score_predictions(metric, y_true, predictions, classes)
        if not np.isfinite(value):
            return (-np.inf, -np.inf)
        return (round(sign * value / TIE) * TIE, tiebreak(metric, y_true, predictions, classes))

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
    blended = sum(weight * candidates[key].astype(np.float64) for key, weight in weights.items())
    value, scores = _mean_metric(metric, y_true, blended, segments, classes)
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
    metric: Metric,
    classes: np.ndarray | None,
    max_members: int = MAX_TIED_MEMBERS,
) -> EnsembleChoice | None:
    """An equal vote of the trials that tie the best one on the primary metric, when at least ``MIN_TIED`` do.

    On easy data dozens of trials reach an AUC of 1.0 on every fold, and the
    validation rows cannot rank them. The log loss that breaks a tie then
    favours the most confident, which is not the best on new rows: on
    penguins (split 0) 27 trials tied, with test AUCs from 0.974 to 1.0; the
    surest of them (an SGD) tested at 0.991, an equal vote of the 10 surest
    at 0.9905, and an equal vote of all 27 at 0.9993. So when that many tie,
    all of them vote with equal weights: no signal left on the validation
    rows picks members, and averaging them removes the luck of the draw.

    Members are the tied trials whose predictions were kept, the earliest
    first, up to ``max_members``. Returns None when fewer than ``MIN_TIED``
    take part, or when the vote scores worse than the best trial on the
    primary metric (it cannot when every member ranks all rows right).
    """
    tied = tied_with(best, results, candidates)[:max_members]
    if len(tied) < MIN_TIED:
        return None
    weights = {r.iteration: 1.0 / len(tied) for r in tied}
    blended = sum(weight * candidates[key].astype(np.float64) for key, weight in weights.items())
    value, scores = _mean_metric(metric, y_true, blended, segments, classes)
    if not np.isfinite(value) or (metric.is_better(best.metric, value) and abs(value - best.metric) > TIE):
        return None
    return EnsembleChoice(weights, scores, value, len(tied), tiebreak(metric, y_true, blended, classes))


class SelectColumns(TransformerMixin, BaseEstimator):
    """The ensemble's first step: passes the input columns its members read, unchanged.

    It gives batch scoring and ``jido serve`` the columns to require, as
    jido's featurizer does for a single pipeline.
    """

    def __init__(self, columns: list[str]):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X

    def used_columns(self) -> list[str]:
        return list(self.columns)


def _is_classifier(ensemble: "VotingEnsemble") -> bool:
    return ensemble.task == "classification"


class Densify(BaseEstimator, TransformerMixin):
    """Sparse features made dense, for a member that needs dense input but shares a sparse featurizer."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.toarray() if sparse.issparse(X) else np.asarray(X)


def _sparse_featurized(member: Pipeline) -> Pipeline:
    """``member`` with a featurizer that may give sparse output, followed by :class:`Densify` where it asked for dense features.

    The featurizer's output is otherwise the same, so members that differ only
    there (gradient boosting takes dense features, forests sparse) share one.
    """
    featurizer = member.steps[0][1]
    if featurizer.get_params().get("sparse_output") is False:
        member.steps[0] = (member.steps[0][0], featurizer.set_params(sparse_output=True))
        member.steps.insert(1, ("densify", Densify()))
    return member


def _featurizer_key(member: Pipeline) -> str:
    import joblib

    return joblib.hash(member.steps[0][1])


class VotingEnsemble(BaseEstimator):
    """A weighted average of whole pipelines' probabilities (classification) or predictions (regression).

    ``fit`` fits a fresh clone of every member, so cloning and refitting the
    ensemble (on all rows, or on each fold to compare it with a new
    experiment's models) works like any scikit-learn estimator.

    Members whose featurizers are configured alike (most of a tabular
    ensemble: one featurizer, several models; one that needs dense features
    gets them from the shared sparse ones) share one fitted featurizer, so a
    prediction featurizes the input once per group, not once per member.
    """

    def __init__(self, members: list[Pipeline], weights: list[float], task: str):
        self.members = members
        self.weights = weights
        self.task = task

    def fit(self, X: pd.DataFrame, y: pd.Series):
        if len(self.members) != len(self.weights) or not self.members:
            raise ValueError("an ensemble needs one weight per member, and at least one member")
        members = [_sparse_featurized(clone(member)) for member in self.members]
        groups: dict[str, list[int]] = {}
        for i, member in enumerate(members):
            groups.setdefault(_featurizer_key(member), []).append(i)
        for group in groups.values():
            featurizer = members[group[0]].steps[0]
            features = featurizer[1].fit_transform(X, y)  # as Pipeline.fit does: a target encoder's training rows are cross-fitted
            for i in group:
                members[i].steps[0] = featurizer
                own = features
                for _, step in members[i].steps[1:-1]:
                    own = step.fit_transform(own, y)
                members[i].steps[-1][1].fit(own, y)
        self.members_ = members
        self.feature_groups_ = [list(group) for group in groups.values()]
        self.weights_ = np.asarray(self.weights, dtype=float) / float(np.sum(self.weights))
        if self.task == "classification":
            self.classes_ = np.sort(np.asarray(pd.unique(y)))
        return self

    def _outputs(self, X: pd.DataFrame, method: str):
        """Each member's index and ``method``'s output on ``X``, featurizing once per group of members that share a featurizer."""
        check_is_fitted(self, "members_")
        for group in getattr(self, "feature_groups_", None) or [[i] for i in range(len(self.members_))]:
            features = self.members_[group[0]].steps[0][1].transform(X)
            for i in group:
                own = features
                for _, step in self.members_[i].steps[1:-1]:
                    own = step.transform(own)
                yield i, getattr(self.members_[i].steps[-1][1], method)(own)

    @available_if(_is_classifier)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        total = np.zeros((len(X), len(self.classes_)))
        for i, proba in self._outputs(X, "predict_proba"):
            columns = np.searchsorted(self.classes_, self.members_[i].classes_)
            total[:, columns] += self.weights_[i] * proba
        return total

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.task == "classification":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        total = np.zeros(len(X))
        for i, values in self._outputs(X, "predict"):
            total += self.weights_[i] * np.asarray(values, dtype=float)
        return total


def ensemble_pipeline(members: list[Pipeline], weights: list[float], task: str, columns: list[str]) -> Pipeline:
    """The unfitted ensemble as jido registers and scores it: select the members' columns, then vote."""
    return Pipeline([("featurize", SelectColumns(columns)), ("model", VotingEnsemble(members, weights, task))])
