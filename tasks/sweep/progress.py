"""The sweep's Prefect artifacts: its progress and the live leaderboard, written from a thread at most every second or
so."""

from __future__ import annotations

import contextvars
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from components.experiment.leaderboard import Leaderboard
from tasks.report import publish_table
from tasks.settings import artifact_key

# Seconds between updates of the progress artifact, and of the leaderboard table artifact.
PROGRESS_EVERY_S = 1.0
TABLE_EVERY_S = 3.0


class Progress:
    """Reports finished trials to Prefect off the sweep's loop (the artifacts need this run's context, copied to the
    thread).

    Args:
        experiment_name: The spec's name, in the artifacts' keys.
        metric_name: The primary metric that ranks the live leaderboard.
    """

    def __init__(self, experiment_name: str, metric_name: str, clock=time.monotonic):
        self.experiment_name = experiment_name
        self.metric_name = metric_name
        self.clock = clock
        self.artifact_id = create_progress_artifact(
            0.0, key=artifact_key(experiment_name, "progress"), description=f"Trials of {experiment_name}"
        )
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jido-artifacts")
        self._reports: list[Future] = []
        self._last_progress = self._last_table = -math.inf

    def trial_finished(self, board: Leaderboard, n_trials: int) -> None:
        """Updates the artifacts when they are due (always after the last trial)."""
        now, last = self.clock(), len(board.results) >= n_trials
        if not (last or now - self._last_progress >= PROGRESS_EVERY_S):
            return
        table_due = last or now - self._last_table >= TABLE_EVERY_S
        progress = 100.0 * len(board.results) / n_trials
        snapshot = list(board.results) if table_due else None
        self._reports.append(
            self._thread.submit(contextvars.copy_context().run, self._report, progress, snapshot, n_trials)
        )
        self._last_progress = now
        if table_due:
            self._last_table = now

    def _report(self, progress: float, snapshot: list | None, n_trials: int) -> None:
        update_progress_artifact(self.artifact_id, progress)
        if snapshot is not None:
            live = Leaderboard(self.metric_name, snapshot)
            finished = f"{len(snapshot)} of {n_trials} trials finished"
            description = f"**{self.experiment_name}** (running): {finished}, ranked by {self.metric_name}."
            publish_table(self.experiment_name, live, description)

    def close(self) -> None:
        """Waits for the reports written so far; an artifact's error surfaces here."""
        for report in self._reports:
            report.result()
        self._thread.shutdown(wait=True)
