"""Plans trials from the model families' search spaces with an Optuna study.

Optuna's ask/tell keeps the sampler pluggable (random here; grid and bayesian
arrive with the sweep engine) and handles conditional spaces: each family's
parameters exist only in trials that picked that family.
"""

from __future__ import annotations

import optuna

from components.metrics import Task
from components.models import get_family
from components.trial import TrialConfig, TrialResult

_MODEL_KEY = "model_name"


def _qualified(model_name: str, param: str) -> str:
    # Families share parameter names with different ranges (n_estimators,
    # C...), and Optuna needs one distribution per name, so names carry the family.
    return f"{model_name}.{param}"


class TrialPlanner:
    """Hands out trial configurations and learns their results.

    The first trials are each family's default configuration (cheap, strong
    baselines); the rest are sampled.

    Args:
        model_names: Families to choose from.
        task: The learning task.
        greater_is_better: Direction of the primary metric.
        seed: Makes the sequence of configurations reproducible.
    """

    def __init__(self, model_names: list[str], task: Task, greater_is_better: bool, seed: int):
        self.model_names = list(model_names)
        self.task = task
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            direction="maximize" if greater_is_better else "minimize",
            sampler=optuna.samplers.RandomSampler(seed=seed),
        )
        for name in self.model_names:
            defaults = get_family(name).defaults(task)
            self.study.enqueue_trial({_MODEL_KEY: name, **{_qualified(name, k): v for k, v in defaults.items()}})
        self._pending: dict[int, optuna.trial.Trial] = {}

    def ask(self, iteration: int) -> TrialConfig:
        """The next configuration to try, numbered ``iteration``."""
        trial = self.study.ask()
        model_name = trial.suggest_categorical(_MODEL_KEY, self.model_names)
        space = get_family(model_name).search_space(self.task)
        params = {name: dist.suggest(trial, _qualified(model_name, name)) for name, dist in space.items()}
        self._pending[iteration] = trial
        return TrialConfig(iteration=iteration, model_name=model_name, params=params)

    def tell(self, result: TrialResult) -> None:
        """Records a finished trial so the sampler can learn from it."""
        trial = self._pending.pop(result.iteration)
        if result.status == "completed":
            self.study.tell(trial, result.metric)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
