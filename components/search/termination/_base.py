"""What every Azure-style policy shares: when to evaluate, and where the other trials stand."""

from __future__ import annotations

from abc import abstractmethod

import optuna
from optuna.trial import FrozenTrial, TrialState

_COMPARED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class TerminationPolicy(optuna.pruners.BasePruner):
    """Evaluates a trial at every ``evaluation_interval``-th step once ``delay_evaluation`` steps have passed.

    Args:
        evaluation_interval: Steps between evaluations (Azure's default 1).
        delay_evaluation: Steps before the first evaluation (Azure's default 0).
    """

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0):
        if evaluation_interval < 1:
            raise ValueError(f"evaluation_interval must be at least 1; got {evaluation_interval}")
        if delay_evaluation < 0:
            raise ValueError(f"delay_evaluation must be 0 or more; got {delay_evaluation}")
        self.evaluation_interval = evaluation_interval
        self.delay_evaluation = delay_evaluation

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.delay_evaluation or step % self.evaluation_interval != 0:
            return False
        others = [t for t in study.get_trials(deepcopy=False, states=_COMPARED_STATES) if t.number != trial.number]
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        return self._should_stop(trial, others, step, maximize)

    @abstractmethod
    def _should_stop(self, trial: FrozenTrial, others: list[FrozenTrial], step: int, maximize: bool) -> bool:
        """Whether ``trial``, having reported ``step``, falls behind ``others`` by this policy's rule."""
