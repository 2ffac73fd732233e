"""Trials fanned out onto Dask, under the experiment's limits.

One Prefect task drives the whole fan-out and each trial is a bare Dask future:
a Prefect task per trial costs ~100x a future on this stack (design.md), which
would dominate sub-second tabular trials.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from components.errors import JidoError
from components.leaderboard import PROGRESS_HEADER, Leaderboard
from components.metrics import get_metric
from components.search.sampler import TrialPlanner
from components.spec import ExperimentSpec
from components.tracking import ExperimentTracker
from components.trial import TrialConfig, TrialResult, run_trial
from tasks.data import ExperimentData
from tasks.settings import artifact_key, tracking_uri, task_logger


@contextmanager
def dask_client(spec: ExperimentSpec) -> Iterator["distributed.Client"]:  # noqa: F821
    """A client of the scheduler at ``compute.address``, of a ``compute.cluster_class`` cluster, or of a LocalCluster."""
    import dask
    from distributed import Client, LocalCluster

    if spec.compute.address:
        try:
            client = Client(spec.compute.address, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise JidoError(f"compute.address: cannot reach the Dask scheduler at {spec.compute.address}: {error}") from None
        with client:
            yield client
        return
    if spec.compute.cluster_class:
        module, _, name = spec.compute.cluster_class.rpartition(".")
        try:
            cluster_class = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise JidoError(f"compute.cluster_class: cannot load {spec.compute.cluster_class!r}: {error}") from None
        with cluster_class(**spec.compute.cluster_kwargs) as cluster, Client(cluster) as client:
            yield client
        return
    logging.getLogger("distributed").setLevel(logging.WARNING)
    n_workers = spec.compute.n_workers or max(1, min(os.cpu_count() or 1, spec.limits.max_concurrent_iterations))
    # One thread per worker: a trial that must be stopped is stopped by
    # restarting its worker, which then touches no other trial. A trial whose
    # worker dies (a crash, sys.exit, running out of memory) is not retried:
    # it would die again, and the nanny has already replaced the worker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as cluster, Client(cluster) as client:
        yield client


def _stop(client, future, logger) -> None:
    """Cancels a trial and restarts the worker running it, so its computation really ends."""
    running_on = [worker for worker, keys in client.processing().items() if future.key in keys]
    future.cancel()
    if running_on:
        try:
            client.restart_workers(running_on, timeout=60)
        except Exception as error:  # a worker without a nanny cannot be restarted; say so, keep going
            logger.warning("could not restart worker %s to stop trial %s: %s", running_on, future.key, error)


def _free_workers(client) -> list[str]:
    """Workers with a thread that runs no trial.

    A new trial goes to one of them, never queued behind a running trial: a
    trial that kills its worker would take a queued one down with it.
    """
    threads = client.nthreads()
    processing = client.processing()
    return [w for w, n in threads.items() if sum(str(k).startswith("trial-") for k in processing.get(w, ())) < n]


def _identity(value):
    return value


def _scheduler_storage(client):
    """An Optuna storage on the Dask scheduler, reachable from every worker."""
    from optuna_integration.dask import DaskStorage

    return DaskStorage(client=client)


def _first_completed(futures: list, timeout_s: float) -> set:
    """The futures done within ``timeout_s`` (possibly none), waiting for the first one to finish."""
    from distributed import wait

    if timeout_s <= 0:
        return {f for f in futures if f.done()}
    try:
        return wait(futures, timeout=timeout_s, return_when="FIRST_COMPLETED").done
    except TimeoutError:
        return set()


def _worker_error(error: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return "the trial's worker process died (a crash, sys.exit or running out of memory); the worker was replaced"
    return f"worker error: {error!r}"


def _stopped(config: TrialConfig, started: float, reason: str) -> TrialResult:
    return TrialResult(config.iteration, config.model_name, config.params, "failed", None, time.monotonic() - started, reason)


@task(name="run-trials", cache_policy=NO_CACHE)
def run_trials(spec: ExperimentSpec, data: ExperimentData, parent_run_id: str) -> Leaderboard:
    """Samples pipelines and runs them on Dask until ``iterations`` or the time budget is spent.

    Each finished trial becomes a row of the console progress table, a nested
    MLflow run and a step of the Prefect progress artifact. A trial that raises
    or outlives ``iteration_timeout_minutes`` is recorded as failed.
    """
    logger = task_logger()
    metric = get_metric(spec.metric_name())
    limits = spec.limits
    tracker = ExperimentTracker(tracking_uri(), spec.name, parent_run_id)
    board = Leaderboard(metric.name)
    progress_id = create_progress_artifact(0.0, key=artifact_key(spec.name, "progress"), description=f"Trials of {spec.name}")
    started = time.monotonic()
    deadline = started + limits.experiment_timeout_hours * 3600 if limits.experiment_timeout_hours else math.inf
    trial_timeout = limits.iteration_timeout_minutes * 60 if limits.iteration_timeout_minutes else math.inf

    with dask_client(spec) as client:
        policy = spec.sweep.early_termination
        planner = TrialPlanner(
            spec.search_subspaces(),
            spec.task,
            metric.greater_is_better,
            spec.seed,
            spec.sweep.sampling,
            defaults_first=spec.sweep.search_space is None,
            pruner=policy.build() if policy else None,
            # With a policy, trials report from the workers: the study then lives on the scheduler.
            storage=_scheduler_storage(client) if policy else None,
        )
        n_trials = min(limits.iterations, planner.n_planned or limits.iterations)
        slots = min(limits.max_concurrent_iterations, sum(client.nthreads().values()) or 1)
        # Shipped as tasks, not scattered: the scheduler can recompute a task's
        # result when the worker holding it dies, but scattered data is lost.
        X, y, plan = (client.submit(_identity, part, pure=False) for part in (data.X, data.y, data.plan))
        running: dict = {}  # future -> (config, start time)
        n_started = 0
        print(PROGRESS_HEADER, flush=True)

        # MLflow and Prefect writes (~25 ms each) run on one background thread,
        # in order, so the loop hands out the next trial at once. (Their CPU
        # time still counts on a small machine: see benchmarks/sweep_overhead.py.)
        recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jido-tracking")
        recorded = []

        def record(result: TrialResult, config: TrialConfig, progress: float) -> None:
            tracker.log_trial(result, metric.name, config.describe())
            update_progress_artifact(progress_id, progress)

        def finish(result: TrialResult, config: TrialConfig) -> None:
            board.add(result)
            planner.tell(result)
            print(board.progress_row(result, config.describe()), flush=True)
            if result.status == "early_terminated":
                logger.info("trial %d (%s) stopped early after %d steps", result.iteration, config.model_name, len(result.curve))
            if result.status == "failed":
                logger.warning("trial %d (%s) failed: %s", result.iteration, config.model_name, (result.error or "").splitlines()[0])
            progress = 100.0 * len(board.results) / n_trials
            recorded.append(recorder.submit(contextvars.copy_context().run, record, result, config, progress))

        while True:
            now = time.monotonic()
            while n_started < n_trials and len(running) < slots and now < deadline:
                free = _free_workers(client)
                if not free:  # a worker is being replaced; wait rather than queue behind a running trial
                    break
                config = planner.ask(n_started)
                reporter = planner.reporter(n_started)
                future = client.submit(
                    run_trial, config, X, y, plan, metric, spec.seed, reporter,
                    key=f"trial-{n_started}-{parent_run_id}", pure=False, workers=free, allow_other_workers=True,
                )
                running[future] = (config, now)
                n_started += 1
            if not running:
                if n_started >= n_trials or time.monotonic() >= deadline:
                    break
                time.sleep(0.2)  # every worker is being replaced; the nanny brings them back
                continue
            next_stop = min([deadline] + [t0 + trial_timeout for _, t0 in running.values()])
            wait_s = max(0.0, min(next_stop - time.monotonic(), 5.0))
            done = _first_completed(list(running), wait_s)
            for future in done:
                config, t0 = running.pop(future)
                result = future.result() if future.status == "finished" else _stopped(config, t0, _worker_error(future.exception()))
                finish(result, config)
            now = time.monotonic()
            for future, (config, t0) in list(running.items()):
                reason = None
                if now >= deadline:
                    reason = f"stopped: experiment_timeout_hours ({limits.experiment_timeout_hours}) reached"
                elif now - t0 >= trial_timeout:
                    reason = f"stopped: ran past iteration_timeout_minutes ({limits.iteration_timeout_minutes})"
                if reason:
                    _stop(client, future, logger)
                    running.pop(future)
                    finish(_stopped(config, t0, reason), config)

        recorder.shutdown(wait=True)
        for done_recording in recorded:
            done_recording.result()  # a tracking error surfaces here, not silently

    if board.best() is None:
        first_error = next((r.error for r in board.results if r.error), "no trial ran")
        tracker.finish({}, {"jido.status": "failed"}, failed=True)
        raise JidoError(f"no trial completed in experiment {spec.name!r}; the first failure was: {first_error.splitlines()[0]}")
    logger.info("%d trials finished in %.1f s; best: %s", len(board.results), time.monotonic() - started, board.best().model_name)
    return board
