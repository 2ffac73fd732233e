"""The sweep's recorder: writes each finished trial (its durable record, then its MLflow nested run) in order, off the
loop.

This module is what the recorder's own process imports: it stays clear of
Prefect and scikit-learn (see components/experiment/results.py).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager

import optuna

from components.experiment.results import TrialResult
from components.experiment.tracking import TrialRecorder


def records_in_a_process(cores: int, trials_here: int) -> bool:
    """Whether the sweep's recorder gets a process of its own: only where this machine has a core for it.

    A core for the sweep's loop and one for the recorder, beyond those its
    trials take. Where there is none, a process's start (2.1-2.4 s of CPU for
    MLflow's and Optuna's imports, which this process has already paid) comes
    out of the trials (benchmarks/sweep_overhead.py and scaling.py measured both).
    """
    return cores - trials_here >= 2


class Recorder:
    """Writes finished trials in order, so the sweep's loop hands out the next trial at once.

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
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=open_recorder,
                initargs=opening,
            )
            self.started: Future = self._pool.submit(int)  # the pool starts its process on the first submission
        else:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jido-recorder")
            self.started = self._pool.submit(TrialRecorder, *opening)
        self._written: list[Future] = []
        self._unwritten: deque[Future] = deque()

    def submit(self, result: TrialResult, metric_name: str, pipeline: str, durable: optuna.trial.FrozenTrial) -> None:
        """Queues one trial's records; a store's error surfaces in :meth:`wait_for_all`."""
        if self.own_process:
            future = self._pool.submit(record_trial, result, metric_name, pipeline, durable)
        else:
            future = self._pool.submit(lambda: self.started.result().record(result, metric_name, pipeline, durable))
        self._written.append(future)
        self._unwritten.append(future)

    @property
    def ready(self) -> bool:
        """Whether the recorder has started (its process imported what it writes with)."""
        return self.started.done()

    def behind(self) -> int:
        """How many submitted trials are not written yet."""
        while self._unwritten and self._unwritten[0].done():  # it writes in order
            self._unwritten.popleft()
        return len(self._unwritten)

    def oldest_unwritten(self) -> Future | None:
        self.behind()
        return self._unwritten[0] if self._unwritten else None

    def wait_for_all(self) -> None:
        """Returns once every trial is written; a tracking error surfaces here, not silently."""
        for future in self._written:
            future.result()

    def shutdown(self) -> None:
        """Lets the thread or process go without waiting for it to end."""
        self._pool.shutdown(wait=False)


@contextmanager
def recording(own_process: bool, opening: tuple[str, str, str, str, str]) -> Iterator[Recorder]:
    """The sweep's recorder, let go however the sweep ends, without waiting for it (its work is awaited first)."""
    recorder = Recorder(own_process, opening)
    try:
        yield recorder
    finally:
        recorder.shutdown()


# In a recorder process of its own, the one recorder its initializer opened.
_process_recorder: TrialRecorder | None = None


def open_recorder(
    tracking_uri: str, experiment_name: str, parent_run_id: str, storage_url: str, study_name: str
) -> None:
    """Opens this process's recorder, once per recorder process."""
    global _process_recorder
    _process_recorder = TrialRecorder(tracking_uri, experiment_name, parent_run_id, storage_url, study_name)


def record_trial(result: TrialResult, metric_name: str, pipeline: str, durable: optuna.trial.FrozenTrial) -> None:
    """Writes a finished trial with this process's recorder."""
    _process_recorder.record(result, metric_name, pipeline, durable)
