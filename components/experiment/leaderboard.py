"""The leaderboard of an experiment: every trial, ranked, with one save/load pair."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from components.evaluate.metrics import TIE, get_metric
from components.experiment.results import TrialResult

PROGRESS_HEADER = f"{'ITERATION':>9}   {'PIPELINE':<40} {'DURATION':>10} {'METRIC':>10} {'BEST':>10}"


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


@dataclass
class Leaderboard:
    """Trials of one experiment in the order they finished.

    Attributes:
        metric_name: The primary metric that ranks the trials.
        results: Finished trials, completed or failed.
        sweep: The Optuna study that keeps these trials, when there is one.
    """

    metric_name: str
    results: list[TrialResult] = field(default_factory=list)
    sweep: str | None = None

    def __post_init__(self) -> None:
        self._metric = get_metric(self.metric_name)
        self._best: TrialResult | None = None
        for result in self.results:
            self._consider(result)

    def _consider(self, result: TrialResult) -> None:
        if result.status == "completed" and self._metric.is_better(
            result.metric, self._best.metric if self._best else None
        ):
            self._best = result

    def add(self, result: TrialResult, wins_tie: bool = False) -> None:
        """Adds a finished trial; with ``wins_tie``, it is the best even when it only ties the best metric so far."""
        self.results.append(result)
        best = self._best.metric if self._best else None
        if (
            wins_tie
            and result.status == "completed"
            and (best is None or abs(result.metric - best) <= TIE or self._metric.is_better(result.metric, best))
        ):
            self._best = result
        else:
            self._consider(result)

    def prefer(self, result: TrialResult) -> None:
        """Makes a completed trial that ties the best metric the best (a tie-break decided elsewhere, on predictions the
        board does not hold)."""
        if result.status != "completed" or self._best is None or abs(result.metric - self._best.metric) > TIE:
            raise ValueError(f"trial {result.iteration} does not tie the best trial; only a tie can be broken")
        self._best = result

    def best(self) -> TrialResult | None:
        """The completed trial with the best metric (the first to reach it wins a tie, unless added with
        ``wins_tie``)."""
        return self._best

    def ranked(self) -> list[TrialResult]:
        """Completed trials best first, then early-terminated ones by their last metric, then failed ones."""
        metric = get_metric(self.metric_name)

        def by_metric(status: str) -> list[TrialResult]:
            chosen = [r for r in self.results if r.status == status]
            return sorted(chosen, key=lambda r: (-r.metric if metric.greater_is_better else r.metric, r.iteration))

        failed = sorted((r for r in self.results if r.status == "failed"), key=lambda r: r.iteration)
        completed = by_metric("completed")
        if self._best is not None:  # first, also when it won a tie
            completed = [self._best] + [r for r in completed if r is not self._best]
        return completed + by_metric("early_terminated") + failed

    def progress_row(self, result: TrialResult, pipeline: str) -> str:
        """One line of Azure's progress table for a trial that just finished."""
        best = self.best()
        value = f"{result.metric:.4f}" if result.metric is not None else result.status.upper()
        best_value = f"{best.metric:.4f}" if best else "nan"
        if result.status == "early_terminated":
            pipeline = f"{pipeline[:26]} [stopped early]"
        return (
            f"{result.iteration:>9}   {pipeline[:40]:<40} {_clock(result.duration_s):>10} {value:>10} {best_value:>10}"
        )

    def table(self) -> list[dict]:
        """Rows for a table artifact: rank, iteration, model, metric, duration, status, params."""
        rows = []
        for rank, result in enumerate(self.ranked(), start=1):
            rows.append(
                {
                    "rank": rank,
                    "iteration": result.iteration,
                    "model": result.model_name,
                    self.metric_name: None if result.metric is None else round(result.metric, 6),
                    "duration_s": round(result.duration_s, 2),
                    "status": result.status,
                    "params": json.dumps(result.params, default=str),
                    "error": (result.error or "").splitlines()[0] if result.error else "",
                }
            )
        return rows

    def save(self, path: str | Path) -> None:
        """Writes the leaderboard as JSON."""
        payload = {"metric_name": self.metric_name, "results": [asdict(r) for r in self.results]}
        Path(path).write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Leaderboard:
        """Reads a leaderboard written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        results = [
            TrialResult(**{**r, "fold_metrics": tuple(r["fold_metrics"]), "curve": tuple(r.get("curve", ()))})
            for r in payload["results"]
        ]
        return cls(payload["metric_name"], results)
