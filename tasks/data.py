"""Loading and checking the experiment's data, and starting its time budget."""

from __future__ import annotations

import time

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from components.data.tables import hash_frame, load_table
from components.errors import JidoError, at_most
from components.experiment.budget import ExperimentBudget
from components.features.columns import profile_table
from components.spec import ExperimentSpec, load_spec
from tasks.settings import experiment_started, task_logger
from tasks.types import ExperimentData


@task(name="read-spec", cache_policy=NO_CACHE)
def read_spec(spec: ExperimentSpec | str) -> ExperimentSpec:
    """Accepts a spec object or the path of a YAML spec."""
    return spec if isinstance(spec, ExperimentSpec) else load_spec(spec)


@task(name="start-budget", cache_policy=NO_CACHE)
def start_budget(spec: ExperimentSpec) -> ExperimentBudget:
    """The experiment's time budget, counted from its flow run's start; every later step reads this one object."""
    return ExperimentBudget(spec.limits.experiment_timeout_hours, elapsed_s=time.time() - experiment_started())


@task(name="load-training-data", cache_policy=NO_CACHE)
def load_training_data(spec: ExperimentSpec) -> ExperimentData:
    """Loads, checks and splits the training data (and the validation data, when given), as the spec's task type reads
    it."""
    logger = task_logger()
    problem = spec.problem()
    train = problem.learning_data(
        load_table(spec.training_data, "training_data"), spec.target_column, spec.ignore_columns
    )
    X, y, n_validation = train.X, train.y, 0
    if spec.validation_data:
        valid = problem.learning_data(
            load_table(spec.validation_data, "validation_data"),
            spec.target_column,
            spec.ignore_columns,
            "validation_data",
        )
        missing = [c for c in X.columns if c not in valid.X.columns]
        if missing:
            raise JidoError(f"validation_data lacks column(s) of training_data: {', '.join(missing)}")
        X = pd.concat([X, valid.X[X.columns]], ignore_index=True)
        y = pd.concat([y, valid.y], ignore_index=True)
        n_validation = len(valid.X)
    named_text = [c for c in (spec.text_dnn.text_columns or []) if c not in X.columns]
    if named_text:
        raise JidoError(
            f"text_dnn.text_columns: {', '.join(map(repr, named_text))} not among the feature columns: "
            f"{', '.join(map(str, X.columns))}"
        )
    if spec.featurization == "off":
        not_numbers = [
            str(c) for c in X.columns if pd.api.types.is_bool_dtype(X[c]) or not pd.api.types.is_numeric_dtype(X[c])
        ]
        if not_numbers:
            raise JidoError(
                f"featurization: off takes number columns only; these are not: {', '.join(at_most(not_numbers, 10))}. "
                "Encode them first, list them in ignore_columns, or use featurization: auto"
            )
    plan = problem.plan_split(y, spec.seed, spec.validation_size, spec.n_cross_validations, n_validation)
    if train.n_dropped_rows:
        logger.warning("dropped %d rows whose target %r is empty", train.n_dropped_rows, spec.target_column)
    profiles = tuple(profile_table(X))
    by_kind: dict[str, list[str]] = {}
    for profile in profiles:
        by_kind.setdefault(profile.kind, []).append(
            profile.name if profile.kind != "dropped" else f"{profile.name} ({profile.reason})"
        )
    logger.info(
        "columns: %s",
        "; ".join(f"{kind} {len(names)}: {', '.join(at_most(names, 8))}" for kind, names in by_kind.items()),
    )
    logger.info("%d rows, %d feature columns; validation: %s", len(X), X.shape[1], plan.describe())
    return ExperimentData(
        X=X, y=y, plan=plan, data_hash=hash_frame(pd.concat([X, y.rename("__target__")], axis=1)), profiles=profiles
    )
