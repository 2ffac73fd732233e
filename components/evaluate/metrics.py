"""Primary metrics, named as in Azure Automated ML.

Each metric is a small frozen object: its name, the task types it serves, its
direction and whether it needs class probabilities. The arithmetic comes from
scikit-learn and SciPy; only the Azure-specific normalisations are written here.
A task type's allowed metrics are those that name it (see components/problems).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Metric values closer than this are a tie (several pipelines reaching an AUC of 1.0, up to rounding).
TIE = 1e-9


@dataclass(frozen=True)
class Metric:
    """A primary metric.

    Attributes:
        name: Azure's metric name, e.g. ``AUC_weighted``.
        tasks: The task types the metric serves.
        greater_is_better: Direction used to rank trials.
        needs_proba: Whether ``score`` takes class probabilities instead of labels.
    """

    name: str
    tasks: frozenset[str]
    greater_is_better: bool
    needs_proba: bool
    _compute: Callable[..., float]

    def score(self, y_true: np.ndarray, y_pred: np.ndarray, classes: np.ndarray | None = None) -> float:
        """Scores predictions: labels, values, or an (n, n_classes) probability matrix ordered like ``classes``."""
        return float(
            self._compute(np.asarray(y_true), np.asarray(y_pred), None if classes is None else np.asarray(classes))
        )

    def is_better(self, candidate: float, incumbent: float | None) -> bool:
        """True when ``candidate`` strictly beats ``incumbent`` (None or NaN always loses)."""
        if candidate is None or np.isnan(candidate):
            return False
        if incumbent is None or np.isnan(incumbent):
            return True
        return candidate > incumbent if self.greater_is_better else candidate < incumbent


def _indicator(y_true: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One column per class, 1 where the row has that class (two columns for binary too)."""
    return (y_true.reshape(-1, 1) == classes.reshape(1, -1)).astype(int)


def _accuracy(y, pred, classes):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y, pred)


def _auc_weighted(y, proba, classes):
    from sklearn.metrics import roc_auc_score

    # Weighted one-vs-rest AUC over every class, binary included (Azure's definition).
    indicator = _indicator(y, classes)
    present = indicator.sum(axis=0) > 0
    return roc_auc_score(indicator[:, present], proba[:, present], average="weighted")


def _average_precision_weighted(y, proba, classes):
    from sklearn.metrics import average_precision_score

    indicator = _indicator(y, classes)
    present = indicator.sum(axis=0) > 0
    return average_precision_score(indicator[:, present], proba[:, present], average="weighted")


def _norm_macro_recall(y, pred, classes):
    from sklearn.metrics import recall_score

    # Macro recall rescaled so that random guessing scores 0 and a perfect model 1.
    chance = 1.0 / len(classes)
    macro = recall_score(y, pred, labels=classes, average="macro", zero_division=0)
    return (macro - chance) / (1.0 - chance)


def _precision_weighted(y, pred, classes):
    from sklearn.metrics import precision_score

    return precision_score(y, pred, labels=classes, average="weighted", zero_division=0)


def _f1_weighted(y, pred, classes):
    from sklearn.metrics import f1_score

    return f1_score(y, pred, labels=classes, average="weighted", zero_division=0)


def _log_loss(y, proba, classes):
    from sklearn.metrics import log_loss

    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 2:  # probabilities kept as float32 (an ensemble's votes) sum to 1 only roughly
        proba = proba / proba.sum(axis=1, keepdims=True)
    return log_loss(y, proba, labels=classes)


def _r2(y, pred, classes=None):
    from sklearn.metrics import r2_score

    return r2_score(y.astype(float), pred.astype(float))


def _spearman(y, pred, classes=None):
    from scipy.stats import spearmanr

    value = spearmanr(y.astype(float), pred.astype(float)).statistic
    return 0.0 if np.isnan(value) else value


def _target_range(y: np.ndarray) -> float:
    spread = float(np.max(y) - np.min(y))
    return spread if spread > 0 else 1.0


def _nrmse(y, pred, classes=None):
    from sklearn.metrics import root_mean_squared_error

    y = y.astype(float)
    return root_mean_squared_error(y, pred.astype(float)) / _target_range(y)


def _nmae(y, pred, classes=None):
    from sklearn.metrics import mean_absolute_error

    y = y.astype(float)
    return mean_absolute_error(y, pred.astype(float)) / _target_range(y)


_CLASSIFICATION = frozenset({"classification"})
_REGRESSION = frozenset({"regression"})

METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", _CLASSIFICATION, True, False, _accuracy),
        Metric("AUC_weighted", _CLASSIFICATION, True, True, _auc_weighted),
        Metric("average_precision_score_weighted", _CLASSIFICATION, True, True, _average_precision_weighted),
        Metric("norm_macro_recall", _CLASSIFICATION, True, False, _norm_macro_recall),
        Metric("precision_score_weighted", _CLASSIFICATION, True, False, _precision_weighted),
        Metric("f1_score_weighted", _CLASSIFICATION, True, False, _f1_weighted),
        Metric("log_loss", _CLASSIFICATION, False, True, _log_loss),
        Metric("r2_score", _REGRESSION, True, False, _r2),
        Metric("spearman_correlation", _REGRESSION, True, False, _spearman),
        Metric("normalized_root_mean_squared_error", _REGRESSION, False, False, _nrmse),
        Metric("normalized_mean_absolute_error", _REGRESSION, False, False, _nmae),
    )
}


def metric_names(task: str) -> list[str]:
    """The metric names that serve the task type ``task``, in table order."""
    return [name for name, metric in METRICS.items() if task in metric.tasks]


def get_metric(name: str) -> Metric:
    """Looks up a metric by its Azure name."""
    return METRICS[name]
