"""What a trial produced, kept free of heavy imports.

The sweep's recorder process (components/tracking.py) unpickles every
finished trial; with the class beside the trial code it would import
scikit-learn and every model family first, ~0.9 s of CPU taken from the
trials at the start of each sweep.
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
