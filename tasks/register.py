"""Refit the best pipeline, register it, and move the champion alias only when it wins."""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import numpy as np
from joblib import parallel_config
from prefect import task
from prefect.cache_policies import NO_CACHE
from threadpoolctl import threadpool_limits

from components.evaluate.metrics import get_metric
from components.experiment.budget import ExperimentBudget
from components.experiment.trial import build_pipeline, evaluate_pipeline
from components.experiment.voting import ENSEMBLE_NAME
from components.models import get_family
from components.registry.artifacts import log_contract
from components.registry.models import (
    CHAMPION_ALIAS,
    TASK_TAG,
    champion,
    champion_uri,
    load_pipeline,
    log_and_register,
    set_champion,
)
from components.registry.skops import import_skops
from components.spec import ExperimentSpec
from components.threads import in_background
from tasks.settings import task_logger, tracking_uri
from tasks.types import ExperimentData, RegisterOutcome, SweepOutcome

# What registering a model imports first, besides skops, and its cost in a flow's process on the 2-core machine:
# great-expectations 2.8 s. skops.io took 4.5 s when it imported torch (see components.skops_import).
_REGISTRATION_MODULES = ("great_expectations", "great_expectations.expectations")


def preload_registration_modules() -> Future:
    """Imports what registration needs on a daemon thread, so a sweep under a time budget spends those seconds, not the
    time after it.

    They took a third of the time from the sweep's end to the run's under a 60 s
    budget (benchmarks/experiment_timeout.py). Python's import lock makes
    registration wait for an import still in progress rather than start it again.
    """

    def preload() -> None:
        import_skops()
        for name in _REGISTRATION_MODULES:
            importlib.import_module(name)

    return in_background(preload, name="jido-preload")


def free_cores(sample_s: float = 0.25) -> int:
    """The cores no other program is using now, at least one: what the refit may take.

    The refit runs alone once the sweep is over, but not alone on the machine:
    two OpenMP threads on the one core another program left free spin at every
    barrier, and refitting a four-member vote took 116 s instead of 4 s
    (benchmarks/under_load.py). Busy cores are read over ``sample_s`` seconds.
    """
    import psutil

    cores = os.cpu_count() or 1
    busy = psutil.cpu_percent(interval=sample_s) / 100 * cores
    return max(1, min(cores, round(cores - busy)))


@contextmanager
def _free_cores(cores: int) -> Iterator[None]:
    """The refit on ``cores`` threads: OpenMP and BLAS whatever Dask's nanny set, forests' trees built by a job each.

    On one core, two 350-tree RandomForest members of the demo took 21 s and 23 s to refit.
    """
    # The threading backend named too: with n_jobs alone, joblib left a forest of n_jobs=None on one job here.
    with threadpool_limits(cores), parallel_config(backend="threading", n_jobs=cores):
        yield


def _torch_threads(cores: int) -> None:
    # Dask's nanny sets OMP_NUM_THREADS=1 in this process before it spawns its workers, so torch would refit a deep
    # model on one thread.
    import torch

    torch.set_num_threads(cores)


@task(name="register-champion", cache_policy=NO_CACHE)
def register_champion(
    spec: ExperimentSpec, data: ExperimentData, sweep: SweepOutcome, parent_run_id: str, budget: ExperimentBudget
) -> RegisterOutcome:
    """Refits the best trial's pipeline on all rows and registers it under the experiment's name.

    A deep model validated on a holdout is registered as its trial trained it
    (on the holdout's training rows): a refit would repeat its whole training.

    The champion alias moves only if the new pipeline beats the current
    champion on the same validation rows: the champion's configuration is
    refitted and scored on exactly the folds the trials used. A version is
    registered with the data contract the task type learns from the training features.
    """
    logger = task_logger()
    uri = tracking_uri()
    problem, metric = spec.problem(), get_metric(sweep.board.metric_name)
    best = sweep.board.best()
    pipeline, trained_on = _champion_pipeline(spec, data, sweep)
    incumbent = champion(spec.name, uri)
    incumbent_metric = _incumbent_metric(incumbent, data, problem, metric, uri) if incumbent is not None else None
    tags = {
        "jido.metric_name": metric.name,
        "jido.metric_value": f"{best.metric:.6f}",
        "jido.model_name": best.model_name,
        "jido.params": json.dumps(best.params, default=str),
        "jido.data_hash": data.data_hash,
        "jido.validation": data.plan.describe(),
        TASK_TAG: spec.task,
        "jido.trained_on": trained_on,
    }
    ref = log_and_register(pipeline, data.X, spec.name, uri, parent_run_id, tags)
    log_contract(problem.learn_contract(data.X, data.profiles), ref, uri)
    promoted = incumbent is None or incumbent_metric is None or metric.is_better(best.metric, incumbent_metric)
    if promoted:
        set_champion(ref, uri)
        logger.info("version %s is the new %s of %s", ref.version, CHAMPION_ALIAS, spec.name)
    else:
        logger.info(
            "version %s (%.4f) does not beat champion %s (%.4f); the alias stays",
            ref.version,
            best.metric,
            incumbent.uri,
            incumbent_metric,
        )
    if budget.limited:
        logger.info("%.0f s of experiment_timeout_hours left after registration", budget.left())
    return RegisterOutcome(
        registered_uri=ref.uri,
        champion_uri=champion_uri(spec.name),
        champion_version=(ref if promoted else incumbent).version,
        promoted=promoted,
        metric_name=metric.name,
        candidate_metric=best.metric,
        champion_metric=best.metric if promoted else incumbent_metric,
        registered=ref,
        pipeline=pipeline,
    )


def _champion_pipeline(spec: ExperimentSpec, data: ExperimentData, sweep: SweepOutcome) -> tuple[Any, str]:
    """The best trial's pipeline as it is registered, and the rows it was trained on.

    The voting ensemble and a single pipeline are refitted on all rows, on the cores that are free; a deep model
    validated on a holdout comes as its trial trained it.
    """
    logger = task_logger()
    best = sweep.board.best()
    is_ensemble = best.model_name == ENSEMBLE_NAME
    cores = free_cores()
    if not is_ensemble and get_family(best.model_name).needs_text:
        _torch_threads(cores)
    started = time.perf_counter()
    if is_ensemble:
        with _free_cores(cores):
            pipeline = sweep.ensemble.fit(data.X, data.y)
        logger.info(
            "registering the voting ensemble of trials %s, each refitted on all rows on %d core(s) (%.1f s)",
            ", ".join(best.params["weights"]),
            cores,
            time.perf_counter() - started,
        )
        return pipeline, "all rows"
    if sweep.trained_best is not None:
        trained_on = f"{len(data.plan.folds[0][0])} of {len(data.X)} rows (the holdout's training rows)"
        logger.info(
            "registering %s as its trial trained it, on %s (a refit would repeat its whole training)",
            best.model_name,
            trained_on,
        )
        return sweep.trained_best, trained_on
    with _free_cores(cores):
        pipeline = build_pipeline(best.model_name, spec.problem(), best.params, spec.seed).fit(data.X, data.y)
    logger.info(
        "registering trial %d (%s), refitted on all rows on %d core(s) (%.1f s)",
        best.iteration,
        best.model_name,
        cores,
        time.perf_counter() - started,
    )
    return pipeline, "all rows"


def _incumbent_metric(incumbent, data: ExperimentData, problem, metric, uri: str) -> float | None:
    """The current champion's metric, refitted and scored on this experiment's folds; None when it cannot learn this
    data."""
    logger = task_logger()
    try:
        value = float(
            np.mean(evaluate_pipeline(load_pipeline(incumbent, uri), data.X, data.y, data.plan, problem, metric))
        )
    except Exception as error:  # the old champion cannot learn this data (other columns): it cannot compete
        logger.warning(
            "current champion %s cannot be evaluated on this data (%s); the new model takes its place",
            incumbent.uri,
            error,
        )
        return None
    logger.info(
        "current champion %s scores %s=%.4f on this experiment's validation rows", incumbent.uri, metric.name, value
    )
    return value
