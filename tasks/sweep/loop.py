"""The sweep's loop: hand trials to the cluster while slots and the budget allow, take their results, stop what
overruns.

Each trial is a bare Dask future: a Prefect task per trial costs ~100x a future
on this stack (docs/architecture.md), which would dominate sub-second trials.
Where a trial goes is ``placement``'s decision; when trials line up behind
each other, and when the sweep waits for its recorder, is ``lining``'s.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

from components.evaluate.metrics import Metric
from components.experiment.budget import ExperimentBudget
from components.experiment.leaderboard import Leaderboard
from components.experiment.results import TrialResult
from components.experiment.selection import EnsembleCandidates
from components.experiment.trial import TrialConfig, run_trial_full
from components.models import get_family
from components.problems import Problem
from components.search.sampler import TrialPlanner
from tasks.sweep.inflight import InFlight, Sent
from tasks.sweep.lining import lines_up, recorder_keeps_pace, waits_for_recorder
from tasks.sweep.placement import WorkerTable, placement
from tasks.sweep.progress import Progress
from tasks.sweep.recorder import Recorder
from tasks.sweep.stopping import first_completed, stop_trials, stopped, worker_error

# With no trial running and none placeable (every worker gone or being replaced), the sweep waits this long for workers.
NO_WORKER_PATIENCE_S = 300
# A trial's result is looked for at least this often, so that timeouts and the deadline are noticed.
_POLL_S = 5.0
_IDLE_S = 0.2


@dataclass(frozen=True)
class SweepSettings:
    """How one sweep runs its trials.

    Attributes:
        slots: Trials running at once at most (``max_concurrent_iterations``, capped by the cluster's threads).
        sampling: ``grid``, ``random`` or ``bayesian`` (a bayesian sweep of one slot never lines trials up).
        gpus_per_trial: GPUs a trial of a GPU-capable family holds (0: all trials run on CPU workers).
        trial_timeout_s: A running trial is stopped past this (``math.inf``: never).
        timeout_minutes: ``iteration_timeout_minutes``, as the stopped trials' reason names it.
        own_cluster: Whether jido started the cluster (past the budget, cancelling is then enough: it closes next).
        keep_models: Whether deep models come back with their fitted pipeline (a holdout: registering it spares a
            refit).
        keep_predictions: Whether trials hand back their validation predictions (ensembles, tie-breaks).
        seed: The experiment's seed.
        run_id: The experiment's MLflow parent run, in every trial's Dask key.
    """

    slots: int
    sampling: str
    gpus_per_trial: float
    trial_timeout_s: float
    timeout_minutes: float | None
    own_cluster: bool
    keep_models: bool
    keep_predictions: bool
    seed: int
    run_id: str


@dataclass(frozen=True)
class Evaluation:
    """What every trial is evaluated with: the task type, the primary metric, and the data (shipped to the workers)."""

    problem: Problem
    metric: Metric
    X: Any
    y: Any
    plan: Any
    n_folds: int


class Sweep:
    """One sweep over the trials ``todo``, on the cluster of ``client``, within ``budget``.

    Args:
        planner: Hands out trial configurations and learns their results.
        board: The leaderboard; finished trials of a resumed sweep are on it already.
        todo: The iterations still to run, in order.
        n_trials: The sweep's size (finished and to do), for the progress artifact.
        candidates: Keeps the best trials' validation predictions.
    """

    def __init__(
        self,
        client,
        planner: TrialPlanner,
        board: Leaderboard,
        todo: Sequence[int],
        n_trials: int,
        evaluation: Evaluation,
        settings: SweepSettings,
        budget: ExperimentBudget,
        recorder: Recorder,
        progress: Progress,
        candidates: EnsembleCandidates,
        logger,
    ):
        self.client, self.planner, self.board = client, planner, board
        self.todo, self.n_trials = list(todo), n_trials
        self.evaluation, self.settings, self.budget = evaluation, settings, budget
        self.recorder, self.progress, self.candidates, self.logger = recorder, progress, candidates, logger
        self.clock = budget.clock
        self.table = WorkerTable(client, (evaluation.X, evaluation.y, evaluation.plan))
        self.in_flight = InFlight()
        # Sampled trials waiting for a slot of their kind: a GPU trial while every GPU is busy,
        # or a trial that was lined up on a worker that its running trial took down.
        self.unsent: deque[tuple[TrialConfig, Any, float]] = deque()
        self.n_started = 0
        self.deadline = budget.end  # the sweep's own end: the budget less what must follow it
        self.kept: tuple[TrialResult, Any] | None = None  # the best deep model kept as its trial trained it

    def run(self) -> None:
        """Runs trials until all ran, the budget's sweep deadline passed, or no worker could take one for
        ``NO_WORKER_PATIENCE_S``."""
        idle_since = None  # since when no trial runs and none could be placed
        while True:
            now = self.clock()
            self.deadline = self.budget.sweep_deadline(self.board, self.evaluation.n_folds)
            behind, ready = self.recorder.behind(), self.recorder.ready
            throttled = waits_for_recorder(self.budget.limited, behind, ready)
            line_up = lines_up(self.board, self.settings.sampling, self.settings.slots) and recorder_keeps_pace(
                behind, ready
            )
            if not throttled:
                self._send(now, line_up)
            if not self.in_flight:
                if self._all_sent() or self.clock() >= self.deadline:
                    break
                idle_since = idle_since or self.clock()
                if self.clock() - idle_since > NO_WORKER_PATIENCE_S:
                    self.logger.error(
                        "no Dask worker could take a trial for %d s; the sweep ends with %d trials run",
                        NO_WORKER_PATIENCE_S,
                        len(self.board.results),
                    )
                    break
                if throttled:  # nothing runs while the recorder catches up: go on as soon as it writes one
                    futures_wait([self.recorder.oldest_unwritten()], timeout=_IDLE_S)
                else:
                    time.sleep(_IDLE_S)
                continue
            idle_since = None
            self._collect()
            self._stop_overdue()
        self.recorder.wait_for_all()
        self.progress.close()

    def trained_best(self) -> Any:
        """The best trial's fitted pipeline when the sweep kept it (a deep model validated on a holdout); else None."""
        best = self.board.best()
        return (
            self.kept[1]
            if self.kept is not None and best is not None and self.kept[0].iteration == best.iteration
            else None
        )

    def _all_sent(self) -> bool:
        return not self.unsent and self.n_started >= len(self.todo)

    def _send(self, now: float, line_up: bool) -> None:
        """Sends trials while a slot of their kind is free (or, lining up, a busy thread's next place) and the deadline
        is ahead."""
        settings, evaluation = self.settings, self.evaluation
        while len(self.in_flight) < settings.slots * (1 + line_up) and now < self.deadline and not self._all_sent():
            if not self.unsent:
                iteration = self.todo[self.n_started]
                self.n_started += 1
                config = self.planner.ask(iteration)
                gpus = settings.gpus_per_trial if get_family(config.model_name).uses_gpu else 0
                self.unsent.append((config, self.planner.reporter(iteration), gpus))
            config, reporter, gpus = self.unsent[0]
            where = placement(self.table, gpus, self.in_flight.gpus(), self.in_flight.placed(), settings.slots, line_up)
            if where is None:  # no slot of its kind is free (or a worker is being replaced): wait
                return
            options, placed_on, waits = where
            deep = get_family(config.model_name).needs_text
            future = self.client.submit(
                run_trial_full,
                config,
                evaluation.X,
                evaluation.y,
                evaluation.plan,
                evaluation.problem,
                evaluation.metric,
                settings.seed,
                reporter,
                settings.keep_models and deep,
                settings.keep_predictions and not deep,
                key=self.in_flight.key(config.iteration, settings.run_id),
                pure=False,
                **options,
            )
            self.in_flight.add(future, config, reporter, gpus, placed_on, waits, now)
            self.unsent.popleft()

    def _collect(self) -> None:
        """Waits for the first trial to end (at most until the next timeout or deadline) and takes every result in."""
        timeout_s = self.settings.trial_timeout_s
        next_stop = min(
            [self.deadline] + [self.in_flight.sent[f].started + timeout_s for f in self.in_flight.running()]
        )
        done = first_completed(list(self.in_flight.sent), max(0.0, min(next_stop - self.clock(), _POLL_S)))
        for future in self.in_flight.in_order(done):
            if future not in self.in_flight.sent:  # taken back: it waited behind a trial that took its worker down
                continue
            ended = future.status == "finished"
            sent = self.in_flight.remove(future, self.clock(), freed=ended)
            if ended:
                result = self._take(future.result())
            elif sent.started is None:  # it waited behind a trial whose worker died, and never ran
                self._send_again(sent)
                continue
            else:
                result = stopped(sent.config, sent.started, worker_error(future.exception()), self.clock())
                self._take_back(self.in_flight.waiting_on({sent.worker}), resend=True)
            self._finish(result, sent.config)

    def _take(self, output) -> TrialResult:
        """A finished trial's result; its kept model and predictions are held for after the sweep."""
        result = output.result
        if output.model is not None and (
            self.kept is None or self.evaluation.metric.is_better(result.metric, self.kept[0].metric)
        ):
            self.kept = (result, output.model)
        if output.predictions is not None:
            self.candidates.add(result, output.predictions)
        return result

    def _stop_overdue(self) -> None:
        """Stops trials past their timeout, or every trial once the deadline passed; trials waiting behind them are
        taken back."""
        now = self.clock()
        past_deadline = now >= self.deadline
        running = self.in_flight.running()
        if past_deadline:
            expired, reason = running, f"stopped: experiment_timeout_hours ({self.budget.hours}) reached"
        else:
            expired = [f for f in running if now - self.in_flight.sent[f].started >= self.settings.trial_timeout_s]
            reason = f"stopped: ran past iteration_timeout_minutes ({self.settings.timeout_minutes})"
        # Trials lined up behind them never ran: past the deadline they are dropped, before it sent again.
        behind = self.in_flight.waiting_on(None if past_deadline else {self.in_flight.sent[f].worker for f in expired})
        if not (expired or behind):
            return
        # At the deadline the restart is not waited for long (CI twice saw a restarted worker not reconnect within
        # 60 s), and on jido's own cluster cancelling is enough: it closes next.
        restart = not (past_deadline and self.settings.own_cluster)
        stop_trials(self.client, expired, self.logger, restart=restart, patience_s=10 if past_deadline else 60)
        self._take_back(behind, resend=not past_deadline)  # cancelled: a restart would have ended them anyway
        for future in self.in_flight.in_order(expired):
            sent = self.in_flight.remove(future, now, freed=False)
            self._finish(stopped(sent.config, sent.started, reason, self.clock()), sent.config)

    def _send_again(self, sent: Sent) -> None:
        self.logger.info(
            "trial %d waited on a worker that died or was restarted before it could run; it is sent again",
            sent.config.iteration,
        )
        self.unsent.append((sent.config, sent.reporter, sent.gpus))

    def _take_back(self, futures: list, resend: bool) -> None:
        """Cancels trials that wait behind others on a worker (they never ran), to be sent again when ``resend``."""
        for future in self.in_flight.in_order(futures):
            future.cancel()
            sent = self.in_flight.remove(future, self.clock(), freed=False)
            if resend:
                self._send_again(sent)

    def _finish(self, result: TrialResult, config: TrialConfig) -> None:
        """A finished trial: on the board, told to the planner, a row of the progress table, recorded, reported."""
        self.board.add(result)
        durable = self.planner.tell(result)
        print(self.board.progress_row(result, config.describe()), flush=True)
        if result.status == "early_terminated":
            self.logger.info(
                "trial %d (%s) stopped early after %d steps", result.iteration, config.model_name, len(result.curve)
            )
        if result.status == "failed":
            self.logger.warning(
                "trial %d (%s) failed: %s", result.iteration, config.model_name, (result.error or "").splitlines()[0]
            )
        self.recorder.submit(result, self.evaluation.metric.name, config.describe(), durable)
        self.progress.trial_finished(self.board, self.n_trials)
