"""Plans trials from search spaces with an Optuna study (grid, random or bayesian sampling).

Optuna's ask/tell keeps the sampler pluggable and handles conditional spaces:
each sub-space's parameters exist only in trials that picked that sub-space.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import optuna

from components.experiment.results import TrialResult
from components.experiment.trial import TrialConfig
from components.models import get_family
from components.problems import Problem
from components.search.space import Choice, Distribution, parse_distribution
from components.search.store import result_to_trial, trial_to_result

Sampling = Literal["grid", "random", "bayesian"]
_SUBSPACE_KEY = "subspace"
_MODEL_KEY = "model_name"

# Multivariate, grouped TPE with a constant liar is flagged experimental; it is what conditional spaces and
# trials in parallel need. Filtered for the process, by message: ``catch_warnings`` around the sampler's
# construction is not enough, since another thread leaving its own ``catch_warnings`` (an import of
# great-expectations or skops meanwhile) puts back the filters it saw, and the demo then printed the warning.
warnings.filterwarnings(
    "ignore",
    message=r"Argument ``(multivariate|group|constant_liar)`` is an experimental feature",
    category=optuna.exceptions.ExperimentalWarning,
)


@dataclass(frozen=True)
class SubSpace:
    """Hyperparameters searched for some model families; the families' defaults fill the rest."""

    model_names: tuple[str, ...]
    params: dict[str, Distribution] = field(default_factory=dict)


def portfolio_subspaces(model_names: list[str], problem: Problem) -> list[SubSpace]:
    """One sub-space per family, each with the family's own search space."""
    return [SubSpace((name,), get_family(name).search_space(problem)) for name in model_names]


def _accepts(model_name: str, problem: Problem, param: str) -> bool:
    family = get_family(model_name)
    if param in family.search_space(problem):
        return True
    try:  # scikit-learn constructors take only their own parameters, so an unknown name fails here
        family.build(problem, {**family.defaults(problem), param: None}, 0)
    except TypeError:
        return False
    return True


def parse_search_space(
    raw: dict | list[dict], model_names: list[str], problem: Problem, sampling: Sampling
) -> list[SubSpace]:
    """Reads a user's search space: one mapping, or a list of mappings for a conditional space.

    A mapping may name its families with ``model_name: {choice: [...]}``;
    without one it applies to every allowed family that takes all its
    parameters.

    Raises:
        ValueError: naming the parameter that is invalid, unknown to its model, or continuous under grid sampling.
    """
    subspaces = []
    for index, block in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"search_space[{index}]" if isinstance(raw, list) else "search_space"
        if not isinstance(block, dict) or not block:
            raise ValueError(f"{where} must be a non-empty mapping of parameter: distribution; got {block!r}")
        block = dict(block)
        params: dict[str, Distribution] = {}
        for name, value in block.items():
            if name == _MODEL_KEY:
                continue
            try:
                params[name] = parse_distribution(value)
            except ValueError as error:
                raise ValueError(f"{where}.{name}: {error}") from None
            if sampling == "grid" and params[name].grid_values() is None:
                raise ValueError(
                    f"{where}.{name}: grid sampling takes only choice and randint; {value!r} is continuous"
                )
        if _MODEL_KEY in block:
            models = parse_distribution(block[_MODEL_KEY])
            if not isinstance(models, Choice):
                raise ValueError(f"{where}.model_name must be a choice of model names; got {block[_MODEL_KEY]!r}")
            unknown = [m for m in models.values if m not in model_names]
            if unknown:
                raise ValueError(
                    f"{where}.model_name: {', '.join(map(repr, unknown))} not among the allowed models: "
                    f"{', '.join(model_names)}"
                )
            chosen = list(dict.fromkeys(models.values))
            for model in chosen:
                refused = [p for p in params if not _accepts(model, problem, p)]
                if refused:
                    raise ValueError(
                        f"{where}: model {model} does not take parameter(s) {', '.join(map(repr, refused))}"
                    )
        else:
            chosen = [m for m in model_names if all(_accepts(m, problem, p) for p in params)]
            if not chosen:
                raise ValueError(
                    f"{where}: no allowed model takes all of {', '.join(map(repr, params))}; name one with model_name"
                )
        subspaces.append(SubSpace(tuple(chosen), params))
    return subspaces


def _qualified(index: int, model_name: str, param: str) -> str:
    # Sub-spaces share parameter names with different ranges, and Optuna needs
    # one distribution per name, so names carry the sub-space and the family.
    return f"{index}.{model_name}.{param}"


@dataclass
class StudyReporter:
    """Reports a trial's intermediate metric to the study and asks its pruner whether to stop.

    It travels with the trial to a Dask worker; the study's storage must be
    reachable from there (Optuna's ``DaskStorage`` lives on the scheduler).
    """

    storage: Any
    study_name: str
    trial_id: int
    pruner: optuna.pruners.BasePruner

    def __call__(self, value: float, step: int) -> bool:
        study = optuna.load_study(study_name=self.study_name, storage=self.storage, pruner=self.pruner)
        trial = optuna.Trial(study, self.trial_id)
        trial.report(value, step)
        return bool(trial.should_prune())


# A focused family that has not beaten its best in this many completed trials makes way for the next one.
# Seen on modeldata/credit_data: the leading LinearSVM took 80 of 100 trials, all within 0.0015 AUC of
# each other, while the boosters' defaults, 0.013 behind, were never tuned.
STALE_AFTER = 10


class TrialPlanner:
    """Hands out trial configurations and learns their results.

    Args:
        subspaces: What to search (see ``portfolio_subspaces`` and ``parse_search_space``).
        problem: The task type, whose families' defaults fill what is not sampled.
        greater_is_better: Direction of the primary metric.
        seed: Makes the sequence of configurations reproducible.
        sampling: ``grid`` (every combination, in order), ``random`` or ``bayesian`` (TPE).
        defaults_first: Try each family's default configuration before sampling.
        pruner: Early termination policy; trials then report intermediate metrics.
        storage: Optuna storage of the study (in memory when None); it must reach
            the workers when a pruner is set.
        overrides: Per family, parameters that replace its defaults (settings of the
            experiment, such as a deep text model's encoder); sampled values still win.
        focus: Bayesian sampling after the fixed configurations picks among the
            ``focus`` sub-spaces (families) with the best results so far only,
            so the budget goes to tuning the families that lead rather than
            to every family in turn (FLAML narrows its learners similarly).
            A leader whose last ``STALE_AFTER`` completed trials all failed to
            beat its best gives its place to the next family, so a plateau
            does not take the rest of the budget. None searches every
            sub-space throughout.
    """

    def __init__(
        self,
        subspaces: list[SubSpace],
        problem: Problem,
        greater_is_better: bool,
        seed: int,
        sampling: Sampling = "random",
        defaults_first: bool = False,
        pruner: optuna.pruners.BasePruner | None = None,
        storage: Any = None,
        overrides: dict[str, dict[str, Any]] | None = None,
        focus: int | None = None,
    ):
        self.overrides = dict(overrides or {})
        self.focus = focus if sampling == "bayesian" else None
        self.greater_is_better = greater_is_better
        self._best_by_subspace: dict[int, float] = {}
        self._since_best: dict[int, int] = {}  # completed trials of each sub-space since its best
        self.subspaces = list(subspaces)
        self.problem = problem
        self.pruner = pruner
        self.seed = seed
        self.sampling = sampling
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            direction="maximize" if greater_is_better else "minimize",
            sampler=self._sampler(sampling, seed),
            pruner=pruner or optuna.pruners.NopPruner(),
            storage=storage,
        )
        # Configurations tried before any sampling, by iteration: every grid
        # point, or each family's defaults.
        self._fixed: list[dict[str, Any]] = []
        if sampling == "grid":
            self._fixed = self._grid_points()
        elif defaults_first:
            for index, subspace in enumerate(self.subspaces):
                for model in subspace.model_names:
                    defaults = self._defaults(model)
                    fixed = {_qualified(index, model, k): v for k, v in defaults.items() if k in subspace.params}
                    self._fixed.append({_SUBSPACE_KEY: index, f"{index}.{_MODEL_KEY}": model, **fixed})
        self._n_planned = len(self._fixed) if sampling == "grid" else None
        self._pending: dict[int, optuna.trial.Trial] = {}

    def _defaults(self, model_name: str) -> dict[str, Any]:
        return {**get_family(model_name).defaults(self.problem), **self.overrides.get(model_name, {})}

    @staticmethod
    def _sampler(sampling: Sampling, seed: int) -> optuna.samplers.BaseSampler:
        if sampling == "bayesian":
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, constant_liar=True, n_startup_trials=8
            )
        return optuna.samplers.RandomSampler(seed=seed)

    def _grid_points(self) -> list[dict[str, Any]]:
        # Optuna's GridSampler needs one flat grid; a conditional space is a
        # union of grids, so each point is enumerated and enqueued instead.
        points = []
        for index, subspace in enumerate(self.subspaces):
            names = list(subspace.params)
            for model in subspace.model_names:
                for values in itertools.product(*(subspace.params[n].grid_values() for n in names)):
                    fixed = {_qualified(index, model, n): v for n, v in zip(names, values)}
                    points.append({_SUBSPACE_KEY: index, f"{index}.{_MODEL_KEY}": model, **fixed})
        return points

    @property
    def n_planned(self) -> int | None:
        """How many configurations exist in all (grid sampling), or None when unbounded."""
        return self._n_planned

    def ask(self, iteration: int) -> TrialConfig | None:
        """The next configuration to try, numbered ``iteration``; None once a grid is exhausted."""
        if self._n_planned is not None and iteration >= self._n_planned:
            return None
        # A sampler seeded by (seed, iteration): iteration i gets the same
        # configuration from the same history, so a resumed sweep repeats an
        # uninterrupted one instead of restarting the random stream.
        self.study.sampler = self._sampler(
            self.sampling, int(np.random.SeedSequence([self.seed, iteration]).generate_state(1)[0])
        )
        if iteration < len(self._fixed):
            self.study.enqueue_trial(self._fixed[iteration])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            trial = self.study.ask()
            leading = self._leading() if iteration >= len(self._fixed) else None
            if leading is None:
                index = trial.suggest_categorical(_SUBSPACE_KEY, list(range(len(self.subspaces))))
            else:  # its own name per set of leaders: one parameter name, one distribution
                index = trial.suggest_categorical(f"{_SUBSPACE_KEY}.among.{'+'.join(map(str, leading))}", leading)
            subspace = self.subspaces[index]
            model_name = trial.suggest_categorical(f"{index}.{_MODEL_KEY}", list(subspace.model_names))
            sampled = {
                name: dist.suggest(trial, _qualified(index, model_name, name)) for name, dist in subspace.params.items()
            }
        self._pending[iteration] = trial
        params = {**self._defaults(model_name), **sampled}
        return TrialConfig(iteration=iteration, model_name=model_name, params=params)

    def _leading(self) -> list[int] | None:
        """The ``focus`` sub-spaces with the best completed results, in index order; None when there is nothing to
        narrow."""
        if not self.focus or len(self._best_by_subspace) <= self.focus:
            return None
        sign = 1.0 if self.greater_is_better else -1.0
        ranked = sorted(self._best_by_subspace, key=lambda i: (-sign * self._best_by_subspace[i], i))
        improving = [i for i in ranked if self._since_best[i] < STALE_AFTER]
        return sorted((improving or ranked)[: self.focus])

    def _learn(self, params: dict[str, Any], result: TrialResult) -> None:
        if result.status != "completed":
            return
        index = next(
            (v for k, v in params.items() if k == _SUBSPACE_KEY or k.startswith(f"{_SUBSPACE_KEY}.among.")), None
        )
        if index is None:
            return
        best = self._best_by_subspace.get(index)
        if best is None or (result.metric > best if self.greater_is_better else result.metric < best):
            self._best_by_subspace[index] = result.metric
            self._since_best[index] = 0
        else:
            self._since_best[index] += 1

    def reporter(self, iteration: int) -> StudyReporter | None:
        """What trial ``iteration`` reports its intermediate metrics to, when a policy is set."""
        if self.pruner is None:
            return None
        trial = self._pending[iteration]
        return StudyReporter(self.study._storage, self.study.study_name, trial._trial_id, self.pruner)

    def tell(self, result: TrialResult) -> optuna.trial.FrozenTrial:
        """Records a finished trial so the sampler can learn from it; returns it as a durable record."""
        trial = self._pending.pop(result.iteration)
        self._learn(trial.params, result)
        if result.status == "completed":
            self.study.tell(trial, result.metric)
        elif result.status == "early_terminated":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return result_to_trial(result, trial.params, trial.distributions)

    def restore(self, records: list[optuna.trial.FrozenTrial]) -> list[TrialResult]:
        """Loads the trials of an interrupted sweep, so sampling and pruning go on from them; returns their results."""
        self.study.add_trials(records)
        results = [trial_to_result(record) for record in records]
        for record, result in zip(records, results):
            self._learn(record.params, result)
        return results
