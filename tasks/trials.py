"""The sweep of an experiment as one Prefect task: its trials fanned out onto Dask, under the experiment's limits.

One Prefect task drives the whole fan-out and each trial is a bare Dask future
(see tasks/sweep/loop.py): a Prefect task per trial would dominate sub-second
tabular trials.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.errors import JidoError
from components.evaluate.metrics import Metric, get_metric
from components.experiment.budget import ExperimentBudget
from components.experiment.leaderboard import PROGRESS_HEADER, Leaderboard
from components.experiment.portfolio import Portfolio, plan_portfolio
from components.experiment.selection import EnsembleCandidates
from components.experiment.tracking import ExperimentTracker
from components.experiment.trial import shipped
from components.search.sampler import TrialPlanner
from components.search.store import SweepStore, sweep_fingerprint
from components.spec import ExperimentSpec
from tasks.cluster import compute_client, threads_on_this_machine
from tasks.register import preload_registration_modules
from tasks.settings import sweep_storage, task_logger, tracking_uri
from tasks.sweep.loop import Evaluation, Sweep, SweepSettings
from tasks.sweep.placement import cluster_gpus
from tasks.sweep.progress import Progress
from tasks.sweep.recorder import recording, records_in_a_process
from tasks.types import ExperimentData, SweepOutcome

# Families a bayesian sweep of the default portfolio keeps tuning once their defaults ran.
_FOCUS = 4


@contextmanager
def dask_client(spec: ExperimentSpec) -> Iterator[distributed.Client]:  # noqa: F821
    """The experiment's cluster: ``compute``'s, or a LocalCluster of min(cores, max_concurrent_iterations) workers."""
    n_workers = spec.compute.n_workers or max(1, min(os.cpu_count() or 1, spec.limits.max_concurrent_iterations))
    with compute_client(spec.compute, n_workers, spec.gpus_per_trial()) as client:
        yield client


@task(name="run-trials", cache_policy=NO_CACHE)
def run_trials(
    spec: ExperimentSpec, data: ExperimentData, parent_run_id: str, budget: ExperimentBudget
) -> SweepOutcome:
    """Samples pipelines and runs them on Dask until ``iterations`` or the sweep's share of the budget is spent.

    Each finished trial becomes a row of the console progress table, a nested
    MLflow run and a step of the Prefect progress artifact. A trial that raises
    or outlives ``iteration_timeout_minutes`` is recorded as failed.
    """
    logger = task_logger()
    started = budget.clock()
    metric = get_metric(spec.metric_name())
    tracker = ExperimentTracker(tracking_uri(), spec.name, parent_run_id)
    store = SweepStore.open(
        sweep_storage(spec.name, spec.sweep.storage),
        spec.name,
        sweep_fingerprint(spec.sweep_identity(), data.data_hash),
        metric.greater_is_better,
    )
    board = Leaderboard(metric.name, sweep=store.study_name)
    progress = Progress(spec.name, metric.name, budget.clock)
    candidates = EnsembleCandidates(spec.problem(), metric)
    opening = (tracking_uri(), spec.name, parent_run_id, store.url, store.study_name)
    with dask_client(spec) as client:
        own_process = records_in_a_process(
            os.cpu_count() or 1, min(spec.limits.max_concurrent_iterations, threads_on_this_machine(client))
        )
        with recording(own_process, opening) as recorder:
            gpus_per_trial = _gpus_per_trial(spec, client, logger)
            portfolio = _portfolio(spec, data, gpus_per_trial > 0, logger)
            planner = _planner(spec, metric, portfolio, client)
            n_trials = min(spec.limits.iterations, planner.n_planned or spec.limits.iterations)
            _resume(store, planner, board, tracker, parent_run_id, n_trials, logger)
            finished = {result.iteration for result in board.results}
            if budget.limited:
                preload_registration_modules()
            settings = _settings(spec, data, client, gpus_per_trial, parent_run_id)
            sweep = Sweep(
                client,
                planner,
                board,
                [i for i in range(n_trials) if i not in finished],
                n_trials,
                _shipped(client, spec, metric, data),
                settings,
                budget,
                recorder,
                progress,
                candidates,
                logger,
            )
            print(PROGRESS_HEADER, flush=True)
            sweep.run()
    if board.best() is None:
        why_none = (
            f"the experiment_timeout_hours budget ({budget.hours}) ran out first"
            if budget.ran_out()
            else "no Dask worker could take one"
        )
        first_error = next((r.error for r in board.results if r.error), f"no trial ran: {why_none}")
        tracker.finish({}, {"jido.status": "failed"}, failed=True)
        store.close()  # a rerun tries again from scratch rather than resuming a sweep of failures
        raise JidoError(
            f"no trial completed in experiment {spec.name!r}; the first failure was: {first_error.splitlines()[0]}"
        )
    tracker.log_metrics({"sweep_end_s": budget.elapsed()})
    logger.info(
        "%d trials finished in %.1f s; best: %s", len(board.results), budget.clock() - started, board.best().model_name
    )
    return SweepOutcome(board, sweep.trained_best(), candidates.predictions)


def _gpus_per_trial(spec: ExperimentSpec, client, logger) -> float:
    """The GPUs a GPU trial holds: the spec's, unless the cluster advertises fewer (then trials run on the CPU)."""
    gpus_per_trial = spec.gpus_per_trial()
    if gpus_per_trial and cluster_gpus(client) < gpus_per_trial:
        if spec.compute.gpus_per_trial:
            logger.warning(
                "compute.gpus_per_trial is %s but the cluster's workers advertise fewer GPUs; trials run on the CPU",
                gpus_per_trial,
            )
        return 0.0
    return gpus_per_trial


def _portfolio(spec: ExperimentSpec, data: ExperimentData, with_gpu: bool, logger) -> Portfolio:
    portfolio = plan_portfolio(
        spec.model_names(),
        data.profiles,
        with_gpu,
        spec.featurization,
        spec.enable_dnn,
        spec.text_dnn.text_columns,
        spec.text_dnn.pretrained_path,
    )
    for note in portfolio.warnings:
        logger.warning(note)
    if portfolio.text_models:
        columns, deep = portfolio.text_models
        logger.info("enable_dnn: text column(s) %s; deep text models: %s", ", ".join(columns), ", ".join(deep))
    return portfolio


def _planner(spec: ExperimentSpec, metric: Metric, portfolio: Portfolio, client) -> TrialPlanner:
    policy = spec.sweep.early_termination
    return TrialPlanner(
        spec.search_subspaces(portfolio.model_names),
        spec.problem(),
        metric.greater_is_better,
        spec.seed,
        spec.sweep.sampling,
        defaults_first=spec.sweep.search_space is None,
        pruner=policy.build() if policy else None,
        # With a policy, trials report from the workers: the study then lives on the scheduler.
        storage=_scheduler_storage(client) if policy else None,
        overrides=portfolio.overrides,
        # Over jido's own portfolio, once each family's defaults ran, tune the leading families only.
        focus=_FOCUS if spec.sweep.search_space is None else None,
    )


def _scheduler_storage(client):
    """An Optuna storage on the Dask scheduler, reachable from every worker."""
    from optuna_integration.dask import DaskStorage

    return DaskStorage(client=client)


def _resume(
    store: SweepStore,
    planner: TrialPlanner,
    board: Leaderboard,
    tracker: ExperimentTracker,
    parent_run_id: str,
    n_trials: int,
    logger,
) -> None:
    """Puts the trials an interrupted run of the same sweep finished on the board, and links the two MLflow runs."""
    for result in planner.restore(store.finished()):
        board.add(result)
    if store.resumed:
        logger.info(
            "resuming sweep %s: %d of %d trials already finished", store.study_name, len(board.results), n_trials
        )
        if store.parent_run_id:
            tracker.resume_from(store.parent_run_id)
    store.parent_run_id = parent_run_id


def _settings(
    spec: ExperimentSpec, data: ExperimentData, client, gpus_per_trial: float, parent_run_id: str
) -> SweepSettings:
    problem, limits = spec.problem(), spec.limits
    return SweepSettings(
        slots=min(limits.max_concurrent_iterations, sum(client.nthreads().values()) or 1),
        sampling=spec.sweep.sampling,
        gpus_per_trial=gpus_per_trial,
        trial_timeout_s=limits.iteration_timeout_minutes * 60 if limits.iteration_timeout_minutes else math.inf,
        timeout_minutes=limits.iteration_timeout_minutes,
        own_cluster=not (spec.compute.address or spec.compute.cluster_class),
        # Deep models validated on a holdout come back with their fitted pipeline; the best is registered as trained.
        keep_models=len(data.plan.folds) == 1,
        # Ensemble selection averages validation predictions; a task type that breaks ties reads them too.
        keep_predictions=(spec.enable_voting_ensemble and problem.ensembles) or problem.breaks_ties,
        seed=spec.seed,
        run_id=parent_run_id,
    )


def _shipped(client, spec: ExperimentSpec, metric: Metric, data: ExperimentData) -> Evaluation:
    """The data every trial takes, shipped to the workers once.

    Shipped as tasks, not scattered: the scheduler can recompute a task's
    result when the worker holding it dies, but scattered data is lost.
    """
    X, y, plan = (client.submit(shipped, part, pure=False) for part in (data.X, data.y, data.plan))
    if client.nthreads():  # on every worker up front, rather than fetched by each worker's first trial
        client.replicate([X, y, plan])
    return Evaluation(spec.problem(), metric, X, y, plan, len(data.plan.folds))
