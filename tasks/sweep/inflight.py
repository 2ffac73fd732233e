"""The trials a sweep has sent to the cluster and not yet heard back from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.experiment.trial import TrialConfig


@dataclass
class Sent:
    """A trial on the cluster: what it is, where it went, and since when it runs (None while it waits behind
    another)."""

    config: TrialConfig
    reporter: Any
    gpus: float
    worker: str
    started: float | None
    order: int


class InFlight:
    """The trials sent to the cluster and not finished, in the order they were sent."""

    def __init__(self):
        self.sent: dict[Any, Sent] = {}  # Dask future -> Sent
        self._sent_so_far = 0

    def __len__(self) -> int:
        return len(self.sent)

    def key(self, iteration: int, run_id: str) -> str:
        """A fresh Dask key for a trial: a trial sent again after waiting on a lost worker does not reuse its old
        one."""
        return f"trial-{iteration}-{run_id}-{self._sent_so_far}"

    def add(self, future, config: TrialConfig, reporter, gpus: float, worker: str, waits: bool, now: float) -> None:
        self.sent[future] = Sent(config, reporter, gpus, worker, None if waits else now, self._sent_so_far)
        self._sent_so_far += 1

    def in_order(self, futures) -> list:
        return sorted(futures, key=lambda f: self.sent[f].order)

    def remove(self, future, now: float, freed: bool) -> Sent:
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
