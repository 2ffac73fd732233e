"""Trials fanned out onto Dask, under the experiment's limits.

One Prefect task drives the whole fan-out and each trial is a bare Dask future:
a Prefect task per trial costs ~100x a future on this stack (design.md), which
would dominate sub-second tabular trials.
"""

from __future__ import annotations

import contextvars
import math
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from components.ensemble import EnsembleCandidates
from components.errors import JidoError
from components.leaderboard import PROGRESS_HEADER, Leaderboard
from components.metrics import get_metric
from components.models import get_family
from components.models.dnn import find_encoder, plan_text_models
from components.search.sampler import TrialPlanner
from components.search.store import SweepStore, sweep_fingerprint
from components.spec import ExperimentSpec, Limits
from components.tracking import ExperimentTracker, TrialRecorder, open_recorder, record_trial
from components.trial import TrialConfig, TrialResult, run_trial_full, shipped
from tasks.cluster import compute_client, local_workers, spawn_environment, threads_on_this_machine, visible_gpus  # noqa: F401 (tests import these from here)
from tasks.data import ExperimentData
from tasks.register import preload_registration_modules
from tasks.report import publish_table
from tasks.settings import artifact_key, experiment_started, sweep_storage, task_logger, tracking_uri


@contextmanager
def dask_client(spec: ExperimentSpec) -> Iterator["distributed.Client"]:  # noqa: F821
    """The experiment's cluster: ``compute``'s, or a LocalCluster of min(cores, max_concurrent_iterations) workers."""
    n_workers = spec.compute.n_workers or max(1, min(os.cpu_count() or 1, spec.limits.max_concurrent_iterations))
    with compute_client(spec.compute, n_workers, spec.gpus_per_trial()) as client:
        yield client


def _stop(client, futures: list, logger, restart: bool = True, patience_s: float = 60) -> None:
    """Cancels trials and restarts the workers running them (all at once), so their computations really end.

    Without ``restart`` the trials are only cancelled: for jido's own cluster
    when the sweep is over, since closing the cluster ends them anyway.
    ``patience_s`` bounds the wait for the restarted workers to come back.
    """
    keys = {future.key for future in futures}
    running_on = [worker for worker, held in client.processing().items() if keys & set(held)] if restart else []
    for future in futures:
        future.cancel()
    if running_on:
        try:
            client.restart_workers(running_on, timeout=patience_s)
        except Exception as error:  # a worker without a nanny cannot be restarted; say so, keep going
            logger.warning("could not restart worker(s) %s to stop trial(s) %s: %s", running_on, sorted(keys), error)


class WorkerTable:
    """The cluster's workers (threads, GPUs, name), asked of the scheduler again only when the set of workers changes.

    Placing a trial then costs one scheduler call (what each worker is running).

    Args:
        parts: the futures every trial takes (the data and the fold plan).
    """

    def __init__(self, client, parts: Sequence = ()):
        self.client = client
        self.workers: dict[str, tuple[int, float, str]] = {}
        self.parts = list(parts)
        self._holding: set[str] = set()

    def processing(self) -> dict[str, tuple]:
        """Keys each worker is running, refreshing the table when workers came or went."""
        processing = self.client.processing()
        if set(processing) != set(self.workers):
            info = self.client.scheduler_info(n_workers=-1)["workers"]
            self.workers = {w: (i["nthreads"], i.get("resources", {}).get("GPU", 0), i["name"]) for w, i in info.items()}
            self._holding = set()  # a worker that came back at the same address holds nothing
        return {w: keys for w, keys in processing.items() if w in self.workers}

    def holding(self, candidates: list[str]) -> list[str]:
        """Those of ``candidates`` that hold every part a trial takes, in their order.

        A trial lined up on a worker that must first fetch the parts (one that
        joined or was replaced after they were shipped) may run before the
        trial it was lined up behind: when the parts arrive, Dask starts
        whichever of the two waiting tasks it comes to first, whatever their
        priorities. The sweep would then blame a failure on the wrong trial
        (CI saw a trial that never ran recorded as failed, and the crashing
        one sent again). Here 2 to 16 pairs in 200 sent to a worker that had
        to fetch their data ran in reverse, none in 600 to one that held it.
        """
        if self.parts and any(w not in self._holding for w in candidates):
            who_has = self.client.who_has(self.parts)
            self._holding = set.intersection(*(set(who_has.get(part.key, ())) for part in self.parts))
        return [w for w in candidates if not self.parts or w in self._holding]


def _placement(
    table: WorkerTable, gpus: float, running_gpus: dict[str, float], placed: dict[str, str], slots: float = math.inf, line_up: bool = False
) -> tuple[dict, str, bool] | None:
    """Where a trial may go now: ``client.submit`` options, the worker's address and whether it waits there; None when nowhere.

    While fewer than ``slots`` trials run, a new trial goes to one worker with
    an idle thread. Once every slot runs one, a CPU trial may be lined up
    (``line_up``) behind a running trial, one per busy thread: the worker
    starts it the moment its thread frees, instead of idling through the round
    trip of a result to this process and a new trial back (~20 ms on the
    2-core machine, a fifth of a 50 ms trial's turn), and only on a worker
    that holds the trials' data already (see WorkerTable.holding). CPU trials
    stay off workers that advertise GPUs, unless the cluster has no other
    kind; GPU trials hold ``resources={"GPU": gpus}`` on a worker with that
    many GPUs unheld, and are never lined up.

    Args:
        running_gpus: GPUs held by each running trial, by Dask key.
        placed: the worker (address) each running trial was sent to, by Dask
            key. A trial just submitted may not be on the scheduler's
            ``processing`` list yet; counting it here keeps the next trial
            off its worker. Entries for workers that are gone are ignored.
        slots: how many trials may run at once (max_concurrent_iterations).
        line_up: whether a trial may wait behind a running one.
    """
    processing = table.processing()
    workers = table.workers
    trials = {w: {k for k in keys if str(k).startswith("trial-")} for w, keys in processing.items()}
    for key, worker in placed.items():
        if worker in trials:
            trials[worker].add(key)
    busy = sum(min(len(trials[w]), workers[w][0]) for w in processing)
    if busy < slots:
        open_ = [w for w in processing if len(trials[w]) < workers[w][0]]
        queued = False
    elif line_up and not gpus:  # a busy thread's next trial, never one on an idle thread past the slots
        open_ = table.holding([w for w in processing if workers[w][0] <= len(trials[w]) < 2 * workers[w][0]])
        queued = True
    else:
        return None
    if gpus:
        free = [w for w in open_ if workers[w][1] - sum(running_gpus.get(k, 0) for k in trials[w]) >= gpus]
        return ({"workers": free[:1], "allow_other_workers": True, "resources": {"GPU": gpus}}, free[0], False) if free else None
    has_gpu = {w for w in processing if workers[w][1]}
    if has_gpu and len(has_gpu) < len(processing):
        open_ = [w for w in open_ if w not in has_gpu]
    if not open_:
        return None
    if queued or has_gpu and len(has_gpu) < len(processing):
        # Bound by name, strictly: a CPU trial must not drift onto a GPU worker,
        # nor a lined-up trial be stolen by a worker past the slots; a worker
        # keeps its name when its nanny restarts it.
        return {"workers": [workers[open_[0]][2]], "allow_other_workers": False}, open_[0], queued
    return {"workers": open_[:1], "allow_other_workers": True}, open_[0], queued


@dataclass
class _Sent:
    """A trial on the cluster: what it is, where it went, and since when it runs (None while it waits behind another)."""

    config: TrialConfig
    reporter: Any
    gpus: float
    worker: str
    started: float | None
    order: int


class InFlight:
    """The trials sent to the cluster and not finished, in the order they were sent."""

    def __init__(self):
        self.sent: dict[Any, _Sent] = {}  # Dask future -> _Sent
        self._sent_so_far = 0

    def __len__(self) -> int:
        return len(self.sent)

    def key(self, iteration: int, run_id: str) -> str:
        """A fresh Dask key for a trial: a trial sent again after waiting on a lost worker does not reuse its old one."""
        return f"trial-{iteration}-{run_id}-{self._sent_so_far}"

    def add(self, future, config: TrialConfig, reporter, gpus: float, worker: str, waits: bool, now: float) -> None:
        self.sent[future] = _Sent(config, reporter, gpus, worker, None if waits else now, self._sent_so_far)
        self._sent_so_far += 1

    def in_order(self, futures) -> list:
        return sorted(futures, key=lambda f: self.sent[f].order)

    def remove(self, future, now: float, freed: bool) -> _Sent:
        """Forgets a trial; when it ended on its worker (``freed``), the first trial waiting there starts ``now``."""
        gone = self.sent.pop(future)
        if freed:
            waiting = [s for s in self.sent.values() if s.worker == gone.worker and s.started is None]
            if waiting:
                min(waiting, key=lambda s: s.order).started = now
        return gone

    def running(self) -> list:
        """The trials that run now (not waiting behind another)."""
        return [f for f, s in self.sent.items() if s.started is not None]

    def waiting_on(self, workers: set[str] | None) -> list:
        """The trials waiting behind others on ``workers`` (on any worker for None)."""
        return [f for f, s in self.sent.items() if s.started is None and (workers is None or s.worker in workers)]

    def placed(self) -> dict[str, str]:
        return {f.key: s.worker for f, s in self.sent.items()}

    def gpus(self) -> dict[str, float]:
        return {f.key: s.gpus for f, s in self.sent.items()}


# A sweep lines trials up (see _placement) once this many have finished and the median of the last few took less than
# _LINE_UP_BELOW_S: there the ~20 ms a worker idles between trials is 2% or more of each, and a trial left waiting on a
# busy worker at the sweep's end costs at most about a second.
_LINE_UP_AFTER = 4
_LINE_UP_BELOW_S = 1.0
# ... and while the recorder is fewer than this many trials behind. On the 2-core machine, lining up regardless
# ended a sweep of 200 trials of 50 ms sooner only while the recorder kept pace (~30 ms of CPU a trial): in runs
# where it fell 45-79 trials behind, waiting for it at the end took 1.7-3.6 s and lining up saved nothing.
_LINE_UP_UNRECORDED = 8


def lines_up(board: Leaderboard, sampling: str, slots: int) -> bool:
    """Whether the sweep's trials are short enough to line up behind each other on the workers.

    Never for a bayesian sweep of one trial at a time: a trial sampled while
    the one before it runs would not know its result, and such a sweep is
    reproducible (a resumed one tries what an uninterrupted one would) only
    because each trial does.
    """
    if sampling == "bayesian" and slots == 1:
        return False
    recent = [r.duration_s for r in board.results[-2 * _LINE_UP_AFTER :]]
    return len(recent) >= _LINE_UP_AFTER and float(np.median(recent)) < _LINE_UP_BELOW_S


def cluster_gpus(client) -> float:
    """The GPUs the cluster's workers advertise, in all."""
    return sum(info.get("resources", {}).get("GPU", 0) for info in client.scheduler_info(n_workers=-1)["workers"].values())


_NO_WORKER_PATIENCE_S = 300
_PROGRESS_EVERY_S = 1.0
_TABLE_EVERY_S = 3.0


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


def records_in_a_process(cores: int, trials_here: int) -> bool:
    """Whether the sweep's recorder gets a process of its own: only where this machine has a core for it.

    A core for the sweep's loop and one for the recorder, beyond those its
    trials take. Where there is none, a process's start (2.1-2.4 s of CPU for
    MLflow's and Optuna's imports, which this process has already paid) comes
    out of the trials. On 2 cores with 2 workers, in the same runs:
    sweep_overhead's median ratio was 1.019 and 1.141 with a process, 0.948
    and 1.049 with a thread (13 triples); scaling's speed-up 1.82x with a
    process, 1.85x with a thread.
    """
    return cores - trials_here >= 2


class _Recorder:
    """Writes finished trials in order, off the sweep's loop, so it hands out the next trial at once.

    In a process of its own where this machine has a core to spare (see
    ``records_in_a_process``): a trial's writes (15-30 ms of CPU) then never
    hold the loop's GIL. Else in a thread of this process.

    Args:
        own_process: Whether to write from a process of its own.
        opening: ``TrialRecorder``'s arguments.
    """

    def __init__(self, own_process: bool, opening: tuple[str, str, str, str, str]):
        self.own_process = own_process
        if own_process:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=open_recorder, initargs=opening)
            self.started: Future = self._pool.submit(int)  # the pool starts its process on the first submission
        else:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jido-recorder")
            self.started = self._pool.submit(TrialRecorder, *opening)

    def submit(self, result: TrialResult, metric_name: str, pipeline: str, durable) -> Future:
        """Queues one trial's records; the future fails with the store's error, if writing does."""
        if self.own_process:
            return self._pool.submit(record_trial, result, metric_name, pipeline, durable)
        return self._pool.submit(lambda: self.started.result().record(result, metric_name, pipeline, durable))

    def shutdown(self) -> None:
        """Lets the thread or process go without waiting for it to end."""
        self._pool.shutdown(wait=False)


@contextmanager
def _recording(client, max_concurrent: int, opening: tuple[str, str, str, str, str]) -> Iterator[_Recorder]:
    """The sweep's recorder, let go however the sweep ends, without waiting for it (its work is awaited first)."""
    trials_here = min(max_concurrent, threads_on_this_machine(client))
    recorder = _Recorder(records_in_a_process(os.cpu_count() or 1, trials_here), opening)
    try:
        yield recorder
    finally:
        recorder.shutdown()


def _stopped(config: TrialConfig, started: float, reason: str) -> TrialResult:
    return TrialResult(config.iteration, config.model_name, config.params, "failed", None, time.monotonic() - started, reason)


def portfolio(spec: ExperimentSpec, data: ExperimentData, with_gpu: bool, logger) -> tuple[list[str], dict[str, dict]]:
    """The families to search, in order, and each one's fixed parameters (the deep text models' text columns and encoder)."""
    names = spec.model_names()
    if spec.featurization == "off":
        return names, {name: {"featurization": "off"} for name in names}
    if not spec.enable_dnn:
        return names, {}
    text_columns = spec.text_dnn.text_columns or [p.name for p in data.profiles if p.kind == "text"]
    try:
        encoder = find_encoder(spec.text_dnn.pretrained_path)
    except ValueError as error:
        raise JidoError(str(error)) from None
    plan = plan_text_models(names, text_columns, encoder, with_gpu)
    for note in plan.notes:
        logger.warning(note)
    if not plan.model_names:
        raise JidoError(f"no model left to try: {'; '.join(plan.notes)}")
    if text_columns:
        logger.info("enable_dnn: text column(s) %s; deep text models: %s", ", ".join(text_columns), ", ".join(n for n in plan.model_names if n in plan.overrides))
    return plan.model_names, plan.overrides


# Trials the recorder may be behind by before the sweep waits for it (~0.03-0.3 s each).
_MAX_UNRECORDED = 16

# Families a bayesian sweep of the default portfolio keeps tuning once their defaults ran.
_FOCUS = 4

# What follows the sweep inside experiment_timeout_hours besides refitting:
# ensemble selection, logging and registering the model, its contract and
# explanation, the scoring deployment (8-12 s measured on the 2-core machine).
_POST_SWEEP_FIXED_S = 12.0
# Ensembles of 2 to 4 members, most of their weight on the best 2 or 3, are what selection chose on the benchmark's tables.
# Members past these 3 are left out when their refit would not fit (see tasks.ensemble._affordable_selection).
_REFIT_MEMBERS = 3
# Registering a scikit-learn tree (see ModelFamily.saved_trees), with a margin.
_SAVE_S_PER_TREE = 0.005


def post_sweep_reserve(board: Leaderboard, n_folds: int, budget_s: float) -> float:
    """Seconds the sweep leaves at the end of the budget for what follows it.

    For the best three trials: their refit on all rows and the registration
    of the trees they keep (see ``refit_estimate``); plus a fixed part. Never
    more than half the budget.

    Measured with 60 s budgets on the 2-core machine: with a 50% margin on the
    refit and no part for trees, a churn table's run ended at 46 s (the best
    trials' refit took 2.6 s against 21 s kept), while a four-forest ensemble
    took 12 s to register and its run 66 s. Counting the best five, churn
    runs ended at 44 s: their sweep stopped at 34 s, keeping 26 s for a
    post-sweep that took 9 s (two cheap members refitted).
    """
    best = sorted(
        (r for r in board.results if r.status == "completed"), key=lambda r: r.metric, reverse=get_metric(board.metric_name).greater_is_better
    )[:_REFIT_MEMBERS]
    return min(0.5 * budget_s, _POST_SWEEP_FIXED_S + sum(refit_estimate(r, n_folds) for r in best))


def refit_estimate(result: TrialResult, n_folds: int) -> float:
    """Seconds to refit a trial's pipeline on all rows and register it, estimated from its trial.

    A trial fits once per fold, on (k-1)/k of the rows, and also featurizes
    and predicts, so one refit takes at most about its duration / k; each
    scikit-learn tree it keeps adds ``_SAVE_S_PER_TREE`` to the registration.
    """
    return result.duration_s / max(1, n_folds) + _SAVE_S_PER_TREE * _saved_trees(result)


# What follows the refit: registering the model (3-8 s measured, the most when skops and great-expectations
# are first imported), its explanation (which fits itself to the time left, from ~1 s) and the deployment.
_AFTER_REFIT_S = 8.0


def refit_allowance(limits: Limits) -> float | None:
    """Seconds left, now, for refitting the champion's pipelines; None without experiment_timeout_hours."""
    if not limits.experiment_timeout_hours:
        return None
    return experiment_started() + limits.experiment_timeout_hours * 3600 - time.time() - _AFTER_REFIT_S


def _saved_trees(result: TrialResult) -> int:
    try:
        return get_family(result.model_name).saved_trees(result.params)
    except KeyError:  # a family no longer registered (a resumed sweep's)
        return 0


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep leaves: every trial's result, and the best trial's own pipeline when registering it spares a refit.

    Attributes:
        board: Every trial, ranked.
        trained_best: The best trial's fitted pipeline when it is a deep model
            validated on a holdout (a refit would repeat its whole training); else None.
        predictions: The validation predictions of the best completed tabular
            trials (see ``components.trial.TrialOutput``), by iteration: the
            candidates of ensemble selection and of the tie-break for the best.
        ensemble: The unfitted voting ensemble, when ensemble selection chose
            one (its row on the board is then the best).
    """

    board: Leaderboard
    trained_best: Any = None
    predictions: dict[int, Any] = field(default_factory=dict)
    ensemble: Any = None


@task(name="run-trials", cache_policy=NO_CACHE)
def run_trials(spec: ExperimentSpec, data: ExperimentData, parent_run_id: str) -> SweepOutcome:
    """Samples pipelines and runs them on Dask until ``iterations`` or the time budget is spent.

    Each finished trial becomes a row of the console progress table, a nested
    MLflow run and a step of the Prefect progress artifact. A trial that raises
    or outlives ``iteration_timeout_minutes`` is recorded as failed.
    """
    logger = task_logger()
    metric = get_metric(spec.metric_name())
    limits = spec.limits
    tracker = ExperimentTracker(tracking_uri(), spec.name, parent_run_id)
    store = SweepStore.open(
        sweep_storage(spec.name, spec.sweep.storage), spec.name, sweep_fingerprint(spec.sweep_identity(), data.data_hash), metric.greater_is_better
    )
    board = Leaderboard(metric.name, sweep=store.study_name)
    progress_id = create_progress_artifact(0.0, key=artifact_key(spec.name, "progress"), description=f"Trials of {spec.name}")
    started = time.monotonic()
    # The budget counts from the experiment's start (its flow run), not from this task's.
    budget_end = started - (time.time() - experiment_started()) + limits.experiment_timeout_hours * 3600 if limits.experiment_timeout_hours else math.inf
    deadline = budget_end  # the sweep's own end: the budget less what must follow it (see post_sweep_reserve)
    trial_timeout = limits.iteration_timeout_minutes * 60 if limits.iteration_timeout_minutes else math.inf

    opening = (tracking_uri(), spec.name, parent_run_id, store.url, store.study_name)
    with dask_client(spec) as client, _recording(client, limits.max_concurrent_iterations, opening) as recorder:
        recorder_started = recorder.started
        gpus_per_trial = spec.gpus_per_trial()
        if gpus_per_trial and cluster_gpus(client) < gpus_per_trial:
            if spec.compute.gpus_per_trial:
                logger.warning("compute.gpus_per_trial is %s but the cluster's workers advertise fewer GPUs; trials run on the CPU", gpus_per_trial)
            gpus_per_trial = 0
        model_names, overrides = portfolio(spec, data, with_gpu=gpus_per_trial > 0, logger=logger)
        policy = spec.sweep.early_termination
        planner = TrialPlanner(
            spec.search_subspaces(model_names),
            spec.task,
            metric.greater_is_better,
            spec.seed,
            spec.sweep.sampling,
            defaults_first=spec.sweep.search_space is None,
            pruner=policy.build() if policy else None,
            # With a policy, trials report from the workers: the study then lives on the scheduler.
            storage=_scheduler_storage(client) if policy else None,
            overrides=overrides,
            # Over jido's own portfolio, once each family's defaults ran, tune the leading families only.
            focus=_FOCUS if spec.sweep.search_space is None else None,
        )
        n_trials = min(limits.iterations, planner.n_planned or limits.iterations)
        for result in planner.restore(store.finished()):
            board.add(result)
        if store.resumed:
            logger.info("resuming sweep %s: %d of %d trials already finished", store.study_name, len(board.results), n_trials)
            if store.parent_run_id:
                tracker.resume_from(store.parent_run_id)
        store.parent_run_id = parent_run_id
        finished = {result.iteration for result in board.results}
        todo = [i for i in range(n_trials) if i not in finished]
        slots = min(limits.max_concurrent_iterations, sum(client.nthreads().values()) or 1)
        # Shipped as tasks, not scattered: the scheduler can recompute a task's
        # result when the worker holding it dies, but scattered data is lost.
        X, y, plan = (client.submit(shipped, part, pure=False) for part in (data.X, data.y, data.plan))
        if client.nthreads():  # on every worker up front, rather than fetched by each worker's first trial
            client.replicate([X, y, plan])
        if limits.experiment_timeout_hours:
            preload_registration_modules()
        in_flight = InFlight()
        # Deep models validated on a holdout come back with their fitted
        # pipeline; the best one so far is kept, to be registered as trained.
        keep_models = len(data.plan.folds) == 1
        kept: tuple[TrialResult, Any] | None = None
        # Ensemble selection averages them; a classifier's also break ties for the best (see select_ensemble).
        keep_predictions = spec.enable_voting_ensemble or spec.task == "classification"
        candidates = EnsembleCandidates(metric)
        table = WorkerTable(client, (X, y, plan))
        # Sampled trials waiting for a slot of their kind: a GPU trial while every GPU is busy,
        # or a trial that was lined up on a worker that its running trial took down.
        unsent: deque = deque()
        n_started = 0
        idle_since = None  # since when no trial runs and none could be placed
        print(PROGRESS_HEADER, flush=True)

        # Off the loop's critical path, so it hands out the next trial at once:
        # the durable record and the MLflow nested run by the recorder, in
        # order; Prefect artifacts (which need this run's context) by a
        # thread, at most every second or so.
        reporter_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jido-artifacts")
        recorded = []
        unrecorded: deque = deque()  # trials sent to the recorder and not written yet
        last_report = [-math.inf, -math.inf]  # when the progress and the leaderboard artifacts were last written

        def report(progress: float, snapshot: list[TrialResult] | None) -> None:
            update_progress_artifact(progress_id, progress)
            if snapshot is not None:
                live = Leaderboard(metric.name, snapshot)
                publish_table(spec.name, live, f"**{spec.name}** (running): {len(snapshot)} of {n_trials} trials finished, ranked by {metric.name}.")

        def finish(result: TrialResult, config: TrialConfig) -> None:
            board.add(result)
            durable = planner.tell(result)
            print(board.progress_row(result, config.describe()), flush=True)
            if result.status == "early_terminated":
                logger.info("trial %d (%s) stopped early after %d steps", result.iteration, config.model_name, len(result.curve))
            if result.status == "failed":
                logger.warning("trial %d (%s) failed: %s", result.iteration, config.model_name, (result.error or "").splitlines()[0])
            recorded.append(recorder.submit(result, metric.name, config.describe(), durable))
            unrecorded.append(recorded[-1])
            now, last = time.monotonic(), len(board.results) >= n_trials
            if last or now - last_report[0] >= _PROGRESS_EVERY_S:
                table_due = last or now - last_report[1] >= _TABLE_EVERY_S
                progress = 100.0 * len(board.results) / n_trials
                snapshot = list(board.results) if table_due else None
                recorded.append(reporter_thread.submit(contextvars.copy_context().run, report, progress, snapshot))
                last_report[0] = now
                last_report[1] = now if table_due else last_report[1]

        def send_again(sent: _Sent) -> None:
            logger.info("trial %d waited on a worker that died or was restarted before it could run; it is sent again", sent.config.iteration)
            unsent.append((sent.config, sent.reporter, sent.gpus))

        def take_back(futures: list, resend: bool) -> None:
            """Cancels trials that wait behind others on a worker (they never ran), to be sent again when ``resend``."""
            for future in in_flight.in_order(futures):
                future.cancel()
                sent = in_flight.remove(future, time.monotonic(), freed=False)
                if resend:
                    send_again(sent)

        while True:
            now = time.monotonic()
            if limits.experiment_timeout_hours and board.best() is not None:
                # Time is kept back for refitting a champion once there is one; until then trials may use the whole budget.
                deadline = budget_end - post_sweep_reserve(board, len(data.plan.folds), limits.experiment_timeout_hours * 3600)
            while unrecorded and unrecorded[0].done():  # the recorder writes in order
                unrecorded.popleft()
            # Under a time budget, a recorder far behind (MLflow on a loaded machine, trials of
            # milliseconds) would make the run outlast it after the sweep: let it catch up first.
            # Not while its process starts: the trials finished meanwhile are a few seconds' backlog,
            # and holding trials back for its imports cost 2.4 s of a 13 s sweep of 50 ms trials.
            # Without a budget the backlog is only waited for at the end: holding trials back while the
            # recorder worked through it cost ~1 s of a 10 s sweep of 50 ms trials.
            throttled = deadline < math.inf and len(unrecorded) >= _MAX_UNRECORDED and recorder_started.done()
            # Lined-up trials keep the workers busier, which the recorder then pays for on a small machine:
            # while it is behind (not just starting), trials go out one per thread and the round trips give it the CPU.
            line_up = lines_up(board, spec.sweep.sampling, slots) and (len(unrecorded) < _LINE_UP_UNRECORDED or not recorder_started.done())
            while len(in_flight) < slots * (1 + line_up) and now < deadline and not throttled and (unsent or n_started < len(todo)):
                if not unsent:
                    iteration = todo[n_started]
                    n_started += 1
                    config = planner.ask(iteration)
                    gpus = gpus_per_trial if get_family(config.model_name).uses_gpu else 0
                    unsent.append((config, planner.reporter(iteration), gpus))
                config, reporter, gpus = unsent[0]
                placement = _placement(table, gpus, in_flight.gpus(), in_flight.placed(), slots, line_up)
                if placement is None:  # no slot of its kind is free (or a worker is being replaced): wait
                    break
                options, placed_on, waits = placement
                deep = get_family(config.model_name).needs_text
                future = client.submit(
                    run_trial_full, config, X, y, plan, metric, spec.seed, reporter, keep_models and deep, keep_predictions and not deep,
                    key=in_flight.key(config.iteration, parent_run_id), pure=False, **options,
                )
                in_flight.add(future, config, reporter, gpus, placed_on, waits, now)
                unsent.popleft()
            if not in_flight:
                if (not unsent and n_started >= len(todo)) or time.monotonic() >= deadline:
                    break
                # Every worker is gone or being replaced: wait for the nannies (or the
                # cluster) to bring workers back, but not forever.
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > _NO_WORKER_PATIENCE_S:
                    logger.error("no Dask worker could take a trial for %d s; the sweep ends with %d trials run", _NO_WORKER_PATIENCE_S, len(board.results))
                    break
                if throttled:  # nothing runs while the recorder catches up: go on as soon as it writes one
                    futures_wait([unrecorded[0]], timeout=0.2)
                else:
                    time.sleep(0.2)
                continue
            idle_since = None
            next_stop = min([deadline] + [in_flight.sent[f].started + trial_timeout for f in in_flight.running()])
            wait_s = max(0.0, min(next_stop - time.monotonic(), 5.0))
            done = _first_completed(list(in_flight.sent), wait_s)
            for future in in_flight.in_order(done):
                if future not in in_flight.sent:  # taken back: it waited behind a trial that took its worker down
                    continue
                ended = future.status == "finished"
                sent = in_flight.remove(future, time.monotonic(), freed=ended)
                if ended:
                    output = future.result()
                    result = output.result
                    if output.model is not None and (kept is None or metric.is_better(result.metric, kept[0].metric)):
                        kept = (result, output.model)
                    if output.predictions is not None:
                        candidates.add(result, output.predictions)
                elif sent.started is None:  # it waited behind a trial whose worker died, and never ran
                    send_again(sent)
                    continue
                else:
                    result = _stopped(sent.config, sent.started, _worker_error(future.exception()))
                    take_back(in_flight.waiting_on({sent.worker}), resend=True)
                finish(result, sent.config)
            now = time.monotonic()
            if now >= deadline:
                expired = in_flight.running()
                reason = f"stopped: experiment_timeout_hours ({limits.experiment_timeout_hours}) reached"
            else:
                expired = [f for f in in_flight.running() if now - in_flight.sent[f].started >= trial_timeout]
                reason = f"stopped: ran past iteration_timeout_minutes ({limits.iteration_timeout_minutes})"
            # Trials lined up behind them never ran: past the budget they are dropped, before it sent again.
            behind = in_flight.waiting_on(None if now >= deadline else {in_flight.sent[f].worker for f in expired})
            if expired or behind:
                # Past the budget on jido's own cluster, cancelling is enough: the cluster closes next.
                own_cluster = not (spec.compute.address or spec.compute.cluster_class)
                # At the budget's end the restart is not waited for long: CI twice saw a restarted worker
                # not reconnect within 60 s, which the sweep then waited out past its budget.
                _stop(client, expired, logger, restart=not (now >= deadline and own_cluster), patience_s=60 if now < deadline else 10)
                take_back(behind, resend=now < deadline)  # cancelled: a restart would have ended them anyway
                for future in in_flight.in_order(expired):
                    sent = in_flight.remove(future, now, freed=False)
                    finish(_stopped(sent.config, sent.started, reason), sent.config)

        for done_recording in recorded:
            done_recording.result()  # every trial is written; a tracking error surfaces here, not silently
        reporter_thread.shutdown(wait=True)

    if board.best() is None:
        if time.monotonic() >= deadline:
            why_none = f"the experiment_timeout_hours budget ({limits.experiment_timeout_hours}) ran out first"
        else:
            why_none = "no Dask worker could take one"
        first_error = next((r.error for r in board.results if r.error), f"no trial ran: {why_none}")
        tracker.finish({}, {"jido.status": "failed"}, failed=True)
        store.close()  # a rerun tries again from scratch rather than resuming a sweep of failures
        raise JidoError(f"no trial completed in experiment {spec.name!r}; the first failure was: {first_error.splitlines()[0]}")
    tracker.log_metrics({"sweep_end_s": time.time() - experiment_started()})
    logger.info("%d trials finished in %.1f s; best: %s", len(board.results), time.monotonic() - started, board.best().model_name)
    trained_best = kept[1] if kept is not None and kept[0].iteration == board.best().iteration else None
    return SweepOutcome(board, trained_best, candidates.predictions)
