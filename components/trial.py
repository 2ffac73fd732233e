"""One trial: build a pipeline from a sampled configuration, fit it, score it.

Everything here is a plain function of its arguments, so a Dask worker can run
it without Prefect, MLflow or any global state.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from components.data import SplitPlan
from components.featurize import AutoFeaturizer
from components.metrics import Metric, Task
from components.models import get_family

TrialStatus = Literal["completed", "failed"]


@dataclass(frozen=True)
class TrialConfig:
    """A sampled pipeline: which family, with which hyperparameters."""

    iteration: int
    model_name: str
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The pipeline as Azure's progress table names it: preprocessing, then model."""
        scaler = "StandardScaler " if get_family(self.model_name).needs_scaling else ""
        return f"{scaler}{self.model_name}"


@dataclass(frozen=True)
class TrialResult:
    """What one trial produced."""

    iteration: int
    model_name: str
    params: dict[str, Any]
    status: TrialStatus
    metric: float | None
    duration_s: float
    error: str | None = None
    fold_metrics: tuple[float, ...] = ()


def build_pipeline(model_name: str, task: Task, params: dict[str, Any], seed: int) -> Pipeline:
    """The unfitted featurizer + estimator pipeline for one configuration."""
    family = get_family(model_name)
    featurizer = AutoFeaturizer(scale_numeric=family.needs_scaling, sparse_output=family.accepts_sparse)
    return Pipeline([("featurize", featurizer), ("model", family.build(task, params, seed))])


def predict_for_metric(pipeline: Pipeline, X: pd.DataFrame, metric: Metric, classes: np.ndarray | None) -> np.ndarray:
    """Labels, or probabilities aligned to ``classes`` (zeros for classes the model never saw)."""
    if not metric.needs_proba:
        return pipeline.predict(X)
    proba = pipeline.predict_proba(X)
    seen = list(pipeline.classes_)
    aligned = np.zeros((len(X), len(classes)))
    for j, label in enumerate(classes):
        if label in seen:
            aligned[:, j] = proba[:, seen.index(label)]
    return aligned


def evaluate_pipeline(
    pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, plan: SplitPlan, metric: Metric
) -> tuple[float, ...]:
    """Fits a fresh clone of ``pipeline`` on each fold's training rows and scores its validation rows."""
    classes = np.sort(np.asarray(pd.unique(y))) if metric.task == "classification" else None
    scores = []
    for train_rows, valid_rows in plan:
        fitted = clone(pipeline).fit(X.iloc[train_rows], y.iloc[train_rows])
        predictions = predict_for_metric(fitted, X.iloc[valid_rows], metric, classes)
        scores.append(metric.score(y.iloc[valid_rows].to_numpy(), predictions, classes))
    return tuple(scores)


def run_trial(config: TrialConfig, X: pd.DataFrame, y: pd.Series, plan: SplitPlan, metric: Metric, seed: int) -> TrialResult:
    """Runs one trial; an exception inside it becomes a failed result, not a crash."""
    started = time.perf_counter()
    try:
        pipeline = build_pipeline(config.model_name, metric.task, config.params, seed)
        fold_metrics = evaluate_pipeline(pipeline, X, y, plan, metric)
        value = float(np.mean(fold_metrics))
        if not np.isfinite(value):
            raise ValueError(f"the metric is not finite ({value})")
        return TrialResult(
            config.iteration, config.model_name, config.params, "completed", value, time.perf_counter() - started, None, fold_metrics
        )
    except Exception as error:  # a failed trial is recorded with its reason; the experiment goes on
        reason = f"{type(error).__name__}: {error}"
        detail = traceback.format_exc(limit=3)
        return TrialResult(
            config.iteration, config.model_name, config.params, "failed", None, time.perf_counter() - started, f"{reason}\n{detail}"
        )
