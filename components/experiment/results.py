"""What a trial produced: the one type every part of jido reads a trial's outcome from.

Kept free of heavy imports: the sweep's recorder process (tasks/sweep/recorder.py)
unpickles every finished trial, and beside the trial code it would import
scikit-learn and every model family first (~0.9 s of CPU taken from the trials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TrialStatus = Literal["completed", "early_terminated", "failed"]


@dataclass(frozen=True)
class TrialResult:
    """What one trial produced."""

    iteration: int
    model_name: str
    params: dict[str, Any]
    status: TrialStatus
    metric: float | None
    duration_s: float
    error: str | None = None
    fold_metrics: tuple[float, ...] = ()
    curve: tuple[float, ...] = ()
