"""Azure's median stopping policy."""

from __future__ import annotations

import statistics

from optuna.trial import FrozenTrial

from components.search.termination._base import TerminationPolicy


class MedianStoppingPolicy(TerminationPolicy):
    """Stops a trial whose best metric so far is worse than the median of the other trials' running averages.

    A running average is the mean of a trial's metrics over the steps up to
    and including the current one.
    """

    def _should_stop(self, trial: FrozenTrial, others: list[FrozenTrial], step: int, maximize: bool) -> bool:
        averages = []
        for other in others:
            values = [v for s, v in other.intermediate_values.items() if s <= step]
            if values:
                averages.append(sum(values) / len(values))
        if not averages:
            return False
        own = [v for s, v in trial.intermediate_values.items() if s <= step]
        best_so_far = max(own) if maximize else min(own)
        median = statistics.median(averages)
        return best_so_far < median if maximize else best_so_far > median
