"""One trial: build a pipeline from a sampled configuration, fit it, score it.

Everything here is a plain function of its arguments, so a Dask worker can run
it without Prefect, MLflow or any global state.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from components.data.split import SplitPlan
from components.evaluate.metrics import Metric
from components.experiment.results import TrialResult, TrialStatus
from components.models import ModelFamily, get_family
from components.problems import Problem

# Called after each stage with (metric so far, step); True means "stop this trial".
Reporter = Callable[[float, int], bool]


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


def build_pipeline(model_name: str, problem: Problem, params: dict[str, Any], seed: int) -> Pipeline:
    """The unfitted featurizer + estimator pipeline for one configuration.

    ``featurization: off`` (the parameter ``featurization``, which the
    experiment sets for every family) puts the columns through as they are.
    """
    from components.features.auto import NumericPassthrough

    family = get_family(model_name)
    model_params = {k: v for k, v in params.items() if k != "featurization"}
    featurizer = NumericPassthrough() if params.get("featurization") == "off" else family.featurizer(model_params)
    return Pipeline([("featurize", featurizer), ("model", family.build(problem, model_params, seed))])


def evaluate_pipeline(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    plan: SplitPlan,
    problem: Problem,
    metric: Metric,
    fitted: list[Pipeline] | None = None,
    kept: list[np.ndarray] | None = None,
) -> tuple[float, ...]:
    """Fits a fresh clone of ``pipeline`` on each fold's training rows and scores its validation rows.

    Each fold's fitted pipeline is appended to ``fitted``, and its validation
    predictions (see ``Problem.validation_predictions``) to ``kept``, when given.
    """
    classes = problem.classes(y)
    scores = []
    for train_rows, valid_rows in plan:
        fold = clone(pipeline).fit(X.iloc[train_rows], y.iloc[train_rows])
        if fitted is not None:
            fitted.append(fold)
        predictions = problem.validation_predictions(fold, X.iloc[valid_rows], classes)
        if kept is not None:
            kept.append(predictions)
        scores.append(problem.score(metric, y.iloc[valid_rows].to_numpy(), predictions, classes))
    return tuple(scores)


def evaluate_staged(
    pipeline: Pipeline,
    stages: list[dict[str, Any]],
    X: pd.DataFrame,
    y: pd.Series,
    plan: SplitPlan,
    problem: Problem,
    metric: Metric,
    reporter: Reporter,
    fitted: list[Pipeline] | None = None,
    kept: list[np.ndarray] | None = None,
) -> tuple[tuple[float, ...], tuple[float, ...], bool]:
    """Grows the estimator stage by stage on every fold, reporting the mean metric after each stage.

    The featurizer is fitted once per fold; the estimator is warm-started.
    Returns the curve, the last stage's fold metrics and whether the reporter stopped the trial.
    When every stage ran, each fold's fitted pipeline is appended to
    ``fitted`` and its last validation predictions to ``kept``, when given.
    """
    classes = problem.classes(y)
    folds, featurizers = [], []
    for train_rows, valid_rows in plan:
        featurizer, *fold = _featurized_fold(pipeline, X, y, train_rows, valid_rows)
        featurizers.append(featurizer)
        folds.append((*fold, clone(pipeline.named_steps["model"])))
    curve: list[float] = []
    scores: list[float] = []
    for step, stage in enumerate(stages, start=1):
        scores, predictions = [], []
        for X_train, y_train, X_valid, y_valid, model in folds:
            model.set_params(**stage).fit(X_train, y_train)
            predictions.append(problem.validation_predictions(model, X_valid, classes))
            scores.append(problem.score(metric, y_valid.to_numpy(), predictions[-1], classes))
        curve.append(float(np.mean(scores)))
        if step < len(stages) and reporter(curve[-1], step):
            return tuple(curve), tuple(scores), True
    if fitted is not None:
        fitted.extend(
            Pipeline([("featurize", featurizer), ("model", model)])
            for featurizer, (*_, model) in zip(featurizers, folds)
        )
    if kept is not None:
        kept.extend(predictions)
    return tuple(curve), tuple(scores), False


def _featurized_fold(
    pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, train_rows: np.ndarray, valid_rows: np.ndarray
) -> tuple:
    """A fresh clone of the pipeline's featurizer fitted on a fold's training rows, and the fold's rows through it:
    (featurizer, X_train, y_train, X_valid, y_valid)."""
    featurizer = clone(pipeline.named_steps["featurize"])
    # fit_transform, as Pipeline.fit does: target encodings of the training rows are cross-fitted.
    X_train = featurizer.fit_transform(X.iloc[train_rows], y.iloc[train_rows])
    return featurizer, X_train, y.iloc[train_rows], featurizer.transform(X.iloc[valid_rows]), y.iloc[valid_rows]


def evaluate_stopping_early(
    pipeline: Pipeline,
    family: ModelFamily,
    patience: int,
    X: pd.DataFrame,
    y: pd.Series,
    plan: SplitPlan,
    problem: Problem,
    metric: Metric,
    kept: list[np.ndarray] | None = None,
) -> tuple[tuple[float, ...], int]:
    """Like ``evaluate_pipeline``, for a booster that stops on each fold once its loss on the fold's validation rows
    stalls.

    Each fold's model predicts with the rounds up to its best validation loss.
    Returns the fold metrics and the mean of those round counts: what a refit
    on all rows grows (AutoGluon and LightGBM's own ``cv`` settle the count alike).
    """
    classes = problem.classes(y)
    scores, rounds = [], []
    for train_rows, valid_rows in plan:
        _, X_train, y_train, X_valid, y_valid = _featurized_fold(pipeline, X, y, train_rows, valid_rows)
        model = clone(pipeline.named_steps["model"])
        rounds.append(family.fit_stopping_early(model, X_train, y_train, X_valid, y_valid, patience))
        predictions = problem.validation_predictions(model, X_valid, classes)
        if kept is not None:
            kept.append(predictions)
        scores.append(problem.score(metric, y_valid.to_numpy(), predictions, classes))
    return tuple(scores), max(1, round(float(np.mean(rounds))))


def run_trial(
    config: TrialConfig,
    X: pd.DataFrame,
    y: pd.Series,
    plan: SplitPlan,
    problem: Problem,
    metric: Metric,
    seed: int,
    reporter: Reporter | None = None,
) -> TrialResult:
    """Runs one trial; an exception inside it becomes a failed result, not a crash.

    With a ``reporter``, a family that grows in stages reports its metric after
    each stage and stops when the reporter says so (status ``early_terminated``).
    """
    return run_trial_full(config, X, y, plan, problem, metric, seed, reporter).result


@dataclass(frozen=True)
class TrialOutput:
    """A trial's result and what it can hand back besides.

    Attributes:
        model: The pipeline the trial trained, when asked for, the plan is a
            holdout (one fold) and the trial completed; else None. For models
            whose training takes minutes (deep text models), registering it
            spares a refit that would repeat the whole training.
        predictions: The completed trial's predictions of every validation row,
            in the plan's order (fold after fold): float32 class probabilities,
            or labels or values. The material of ensemble selection.
    """

    result: TrialResult
    model: Pipeline | None = None
    predictions: np.ndarray | None = None


def run_trial_full(
    config: TrialConfig,
    X: pd.DataFrame,
    y: pd.Series,
    plan: SplitPlan,
    problem: Problem,
    metric: Metric,
    seed: int,
    reporter: Reporter | None = None,
    keep_model: bool = False,
    keep_predictions: bool = False,
) -> TrialOutput:
    """Runs one trial like ``run_trial``, handing back its model and validation predictions when asked (see
    ``TrialOutput``)."""
    started = time.perf_counter()
    fitted: list[Pipeline] = []
    kept: list[np.ndarray] = []
    try:
        family = get_family(config.model_name)
        stages = family.stages(problem, config.params) if reporter is not None else None
        curve, stopped, params = (), False, config.params
        patience = config.params.get("early_stopping_rounds") if family.rounds_param else None
        if stages:
            pipeline = build_pipeline(config.model_name, problem, {**config.params, **stages[0]}, seed)
            curve, fold_metrics, stopped = evaluate_staged(
                pipeline, stages, X, y, plan, problem, metric, reporter, fitted, kept
            )
        elif patience:
            pipeline = build_pipeline(config.model_name, problem, config.params, seed)
            fold_metrics, rounds = evaluate_stopping_early(
                pipeline, family, int(patience), X, y, plan, problem, metric, kept
            )
            params = {**config.params, family.rounds_param: rounds}  # what the refit on all rows grows
        else:
            fold_metrics = evaluate_pipeline(
                build_pipeline(config.model_name, problem, config.params, seed),
                X,
                y,
                plan,
                problem,
                metric,
                fitted,
                kept,
            )
        value = float(np.mean(fold_metrics))
        if not np.isfinite(value):
            raise ValueError(f"the metric is not finite ({value})")
        status: TrialStatus = "early_terminated" if stopped else "completed"
        result = TrialResult(
            config.iteration,
            config.model_name,
            params,
            status,
            value,
            time.perf_counter() - started,
            None,
            fold_metrics,
            curve,
        )
        done = status == "completed"
        model = fitted[0] if keep_model and done and len(fitted) == 1 else None
        predictions = np.concatenate(kept) if keep_predictions and done and kept else None
        return TrialOutput(result, model, predictions)
    # A failed trial is recorded with its reason and the experiment goes on.
    # SystemExit too: a library calling sys.exit would otherwise close the Dask
    # worker in a way its nanny does not always restart, costing the sweep a worker.
    except (Exception, SystemExit) as error:
        reason = f"{type(error).__name__}: {error}"
        detail = traceback.format_exc(limit=3)
        failed = TrialResult(
            config.iteration,
            config.model_name,
            config.params,
            "failed",
            None,
            time.perf_counter() - started,
            f"{reason}\n{detail}",
        )
        return TrialOutput(failed)


def shipped(value: Any) -> Any:
    """Returns ``value``: the task a sweep ships its data through to the workers.

    Here, beside the trials, so that a worker runs it with the module its trials
    need anyway: defined among jido's Prefect tasks, it made every worker import Prefect first (seconds before the first
        trial).
    """
    return value
