"""Azure's truncation selection policy."""

from __future__ import annotations

import math

from optuna.trial import FrozenTrial

from components.search.termination._base import TerminationPolicy


class TruncationSelectionPolicy(TerminationPolicy):
    """Stops a trial that ranks in the lowest ``truncation_percentage`` percent of the trials at the same step.

    Trials are ranked by their metric at that step, the trial being judged
    included; with n of them, the worst floor(n * percentage / 100) are cut.
    """

    def __init__(self, truncation_percentage: int = 5, evaluation_interval: int = 1, delay_evaluation: int = 0):
        super().__init__(evaluation_interval, delay_evaluation)
        if not 1 <= truncation_percentage <= 99:
            raise ValueError(f"truncation_percentage must be 1 to 99; got {truncation_percentage}")
        self.truncation_percentage = truncation_percentage

    def _should_stop(self, trial: FrozenTrial, others: list[FrozenTrial], step: int, maximize: bool) -> bool:
        value = trial.intermediate_values[step]
        values = [t.intermediate_values[step] for t in others if step in t.intermediate_values] + [value]
        n_cut = math.floor(len(values) * self.truncation_percentage / 100)
        if n_cut == 0:
            return False
        worst_first = sorted(values) if maximize else sorted(values, reverse=True)
        threshold = worst_first[n_cut - 1]
        return value <= threshold if maximize else value >= threshold
