"""Azure's bandit policy: stop a trial that falls outside a slack of the best trial at the same step."""

from __future__ import annotations

from optuna.trial import FrozenTrial

from components.search.termination._base import TerminationPolicy


class BanditPolicy(TerminationPolicy):
    """Stops a trial whose metric is worse than the best one at that step, beyond the allowed slack.

    With ``slack_factor`` s, a maximised metric must reach best / (1 + s) and a
    minimised one stay under best * (1 + s); with ``slack_amount`` a, within a of best.
    """

    def __init__(
        self,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
    ):
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise ValueError("bandit takes exactly one of slack_factor and slack_amount")
        for name, value in (("slack_factor", slack_factor), ("slack_amount", slack_amount)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive; got {value}")
        self.slack_factor = slack_factor
        self.slack_amount = slack_amount

    def _should_stop(self, trial: FrozenTrial, others: list[FrozenTrial], step: int, maximize: bool) -> bool:
        values = [t.intermediate_values[step] for t in others if step in t.intermediate_values]
        if not values:
            return False
        best = max(values) if maximize else min(values)
        value = trial.intermediate_values[step]
        if self.slack_factor is not None:
            limit = best / (1 + self.slack_factor) if maximize else best * (1 + self.slack_factor)
        else:
            limit = best - self.slack_amount if maximize else best + self.slack_amount
        return value < limit if maximize else value > limit
