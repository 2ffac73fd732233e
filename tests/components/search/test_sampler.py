import math

import numpy as np
import optuna
import pytest

from components.experiment.results import TrialResult
from components.models import get_family
from components.problems import get_problem
from components.search.sampler import STALE_AFTER, TrialPlanner, parse_search_space, portfolio_subspaces
from components.search.space import Choice, FloatRange, IntRange, Normal, parse_distribution


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Choice(()), "at least one value"),
        (lambda: IntRange(5, 5), "low must be below high"),
        (lambda: FloatRange(1.0, 0.5), "low must be below high"),
        (lambda: FloatRange(0.0, 1.0, log=True), "positive low bound"),
        (lambda: FloatRange(0.0, float("inf")), "finite"),
        (lambda: FloatRange(0.0, 1.0, q=0), "q must be a positive"),
        (lambda: Normal(0.0, -1.0), "positive sigma"),
        (lambda: parse_distribution({"uniform": [2, 1]}), "low must be below high"),
        (lambda: parse_distribution({"loguniform": [3, 3]}), "low must be below high"),
        (lambda: parse_distribution({"choice": []}), "at least one value"),
        (lambda: parse_distribution({"randint": [0]}), "positive integer"),
        (lambda: parse_distribution({"quniform": [0, 1]}), "takes 3 numbers"),
        (lambda: parse_distribution({"uniform": ["a", 1]}), "takes numbers"),
        (lambda: parse_distribution({"gaussian": [0, 1]}), "unknown distribution 'gaussian'"),
        (lambda: parse_distribution({"uniform": [0, 1], "choice": [1]}), "one name with its arguments"),
    ],
)
def test_invalid_distributions_refuse_to_exist(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def _draws(spec, n: int = 400) -> list:
    dist = parse_distribution(spec)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return [dist.suggest(study.ask(), "p") for _ in range(n)]


def test_every_azure_distribution_samples_with_azures_semantics():
    assert set(_draws({"choice": ["a", "b", 3]})) == {"a", "b", 3}
    assert set(_draws({"randint": [4]})) == {0, 1, 2, 3}
    uniform = _draws({"uniform": [2.0, 3.0]})
    assert min(uniform) >= 2.0 and max(uniform) <= 3.0
    quniform = _draws({"quniform": [0, 10, 2]})
    assert set(quniform) <= {0, 2, 4, 6, 8, 10} and all(isinstance(v, int) for v in quniform)
    # loguniform's bounds are exponents: exp(uniform(-3, 0))
    logs = np.log(_draws({"loguniform": [-3, 0]}))
    assert logs.min() >= -3 - 1e-9 and logs.max() <= 1e-9 and abs(logs.mean() + 1.5) < 0.15
    qlog = _draws({"qloguniform": [0, 3, 0.5]})
    assert all(math.isclose(v / 0.5, round(v / 0.5)) for v in qlog)
    normal = np.array(_draws({"normal": [10, 2]}, 2000))
    assert abs(normal.mean() - 10) < 0.2 and abs(normal.std() - 2) < 0.2
    assert all(isinstance(v, int) for v in _draws({"qnormal": [10, 2, 1]}))
    lognormal = np.log(_draws({"lognormal": [0, 0.5]}, 2000))
    assert abs(lognormal.mean()) < 0.05 and abs(lognormal.std() - 0.5) < 0.05
    qlognormal = _draws({"qlognormal": [2, 0.3, 5]})
    assert all(v % 5 == 0 for v in qlognormal)


def test_shorthands():
    assert parse_distribution([1, 2]) == Choice((1, 2))
    assert parse_distribution("sqrt") == Choice(("sqrt",))


MODELS = ["LogisticRegression", "RandomForest", "KNN"]


def test_search_spaces_name_the_bad_parameter():
    with pytest.raises(ValueError, match="model RandomForest does not take parameter.*'learning_rate'"):
        parse_search_space(
            {"model_name": {"choice": ["RandomForest"]}, "learning_rate": {"uniform": [0.1, 0.2]}},
            MODELS,
            get_problem("classification"),
            "random",
        )
    with pytest.raises(ValueError, match=r"search_space\[1\].n_neighbors: low must be below high"):
        parse_search_space(
            [{"model_name": ["RandomForest"]}, {"model_name": ["KNN"], "n_neighbors": {"uniform": [9, 1]}}],
            MODELS,
            get_problem("classification"),
            "random",
        )
    with pytest.raises(ValueError, match="not among the allowed models"):
        parse_search_space({"model_name": ["SGD"], "alpha": [0.1]}, MODELS, get_problem("classification"), "random")
    with pytest.raises(ValueError, match="no allowed model takes all of 'bogus'"):
        parse_search_space({"bogus": [1, 2]}, MODELS, get_problem("classification"), "random")
    with pytest.raises(ValueError, match="C: grid sampling takes only choice and randint"):
        parse_search_space({"C": {"uniform": [0.1, 1]}}, MODELS, get_problem("classification"), "grid")


def test_a_space_without_model_name_applies_to_the_models_that_take_its_parameters():
    (subspace,) = parse_search_space(
        {"n_estimators": {"randint": [300]}}, MODELS, get_problem("classification"), "random"
    )
    assert subspace.model_names == ("RandomForest",)
    (subspace,) = parse_search_space(
        {"max_depth": [3, 5]}, MODELS, get_problem("classification"), "random"
    )  # a parameter outside jido's default space
    assert subspace.model_names == ("RandomForest",)


def _run(planner: TrialPlanner, n: int, metric=lambda c: 0.5) -> list:
    out = []
    for i in range(n):
        config = planner.ask(i)
        if config is None:
            break
        planner.tell(TrialResult(i, config.model_name, config.params, "completed", metric(config), 0.1))
        out.append((config.model_name, config.params))
    return out


def test_portfolio_tries_each_familys_defaults_first():
    planner = TrialPlanner(
        portfolio_subspaces(MODELS, get_problem("classification")),
        get_problem("classification"),
        True,
        3,
        "bayesian",
        defaults_first=True,
    )
    configs = _run(planner, 3)
    assert [name for name, _ in configs] == MODELS
    for name, params in configs:
        assert params == get_family(name).defaults(get_problem("classification"))


CONDITIONAL = [
    {
        "model_name": {"choice": ["RandomForest"]},
        "n_estimators": {"quniform": [10, 50, 10]},
        "max_features": ["sqrt", 0.5],
    },
    {"model_name": {"choice": ["KNN"]}, "n_neighbors": {"randint": [20]}},
]


@pytest.mark.parametrize("sampling", ["random", "bayesian"])
def test_conditional_spaces_with_random_and_bayesian_sampling(sampling):
    subspaces = parse_search_space(CONDITIONAL, MODELS, get_problem("classification"), sampling)
    planner = TrialPlanner(subspaces, get_problem("classification"), True, 5, sampling)
    configs = _run(planner, 30, metric=lambda c: c.params.get("n_neighbors", 0) / 20)
    assert {name for name, _ in configs} == {"RandomForest", "KNN"}
    for name, params in configs:
        if name == "RandomForest":
            assert params["n_estimators"] in {10, 20, 30, 40, 50} and params["max_features"] in {"sqrt", 0.5}
            assert (
                params["min_samples_leaf"]
                == get_family(name).defaults(get_problem("classification"))["min_samples_leaf"]
            )  # unsearched: default
        else:
            assert 0 <= params["n_neighbors"] < 20 and "n_estimators" not in params


def test_grid_sampling_visits_every_combination_once_then_stops():
    space = [
        {"model_name": ["RandomForest"], "n_estimators": [10, 20], "max_features": ["sqrt", 0.5, 1.0]},
        {"model_name": ["KNN"], "n_neighbors": {"randint": [3]}},
    ]
    planner = TrialPlanner(
        parse_search_space(space, MODELS, get_problem("classification"), "grid"),
        get_problem("classification"),
        True,
        0,
        "grid",
    )
    assert planner.n_planned == 6 + 3
    configs = _run(planner, 100)
    assert len(configs) == 9
    seen = {
        (name, params.get("n_estimators"), params.get("max_features"), params.get("n_neighbors"))
        for name, params in configs
    }
    assert len(seen) == 9


@pytest.mark.parametrize("sampling", ["random", "bayesian"])
def test_a_seed_makes_sampling_reproducible(sampling):
    def sequence(seed):
        planner = TrialPlanner(
            portfolio_subspaces(MODELS, get_problem("classification")),
            get_problem("classification"),
            True,
            seed,
            sampling,
        )
        return _run(planner, 14, metric=lambda c: hash(str(sorted(c.params.items()))) % 100 / 100)

    assert sequence(7) == sequence(7)
    assert sequence(7) != sequence(8)


def test_sampled_parameters_belong_to_the_chosen_family_and_its_space():
    planner = TrialPlanner(
        portfolio_subspaces(MODELS, get_problem("classification")), get_problem("classification"), True, 11, "random"
    )
    for name, params in _run(planner, 30):
        space = get_family(name).search_space(get_problem("classification"))
        assert set(params) == set(space)
        for key, value in params.items():
            dist = space[key]
            assert value in dist.values if isinstance(dist, Choice) else dist.low <= value <= dist.high


def test_failed_trials_are_told_as_failures():
    planner = TrialPlanner(
        portfolio_subspaces(["KNN"], get_problem("classification")), get_problem("classification"), True, 0
    )
    config = planner.ask(0)
    planner.tell(TrialResult(0, "KNN", config.params, "failed", None, 0.1, "boom"))
    assert planner.study.trials[0].state.name == "FAIL"


def test_after_the_defaults_a_focused_sweep_tunes_only_the_leading_families():
    families = ["LogisticRegression", "RandomForest", "KNN", "ExtremeRandomTrees", "SGD", "LinearSVM"]
    score = {
        "LogisticRegression": 0.6,
        "RandomForest": 0.9,
        "KNN": 0.5,
        "ExtremeRandomTrees": 0.8,
        "SGD": 0.4,
        "LinearSVM": 0.7,
    }
    planner = TrialPlanner(
        portfolio_subspaces(families, get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "bayesian",
        defaults_first=True,
        focus=3,
    )
    configs = _run(planner, 40, metric=lambda c: score[c.model_name])
    assert [name for name, _ in configs[:6]] == families  # every family's defaults first
    assert {name for name, _ in configs[6 : 6 + STALE_AFTER]} <= {"RandomForest", "ExtremeRandomTrees", "LinearSVM"}
    assert {"RandomForest", "ExtremeRandomTrees", "LinearSVM"} <= {
        name for name, _ in configs[6:]
    }  # all three leaders get tuned
    # No score ever improves here: once the first leader has run STALE_AFTER trials past its best, the fourth family
    # gets its place.
    forest = [k for k, (name, _) in enumerate(configs) if name == "RandomForest"]
    entered = next(k for k, (name, _) in enumerate(configs) if k >= 6 and name == "LogisticRegression")
    assert len(forest) > STALE_AFTER and entered > forest[STALE_AFTER]
    # Without focus (or with random sampling) every family stays in play.
    wide = TrialPlanner(
        portfolio_subspaces(families, get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "random",
        defaults_first=True,
        focus=3,
    )
    assert len({name for name, _ in _run(wide, 40, metric=lambda c: score[c.model_name])[6:]}) > 3


def test_a_resumed_focused_sweep_knows_the_leaders_again():
    families = ["LogisticRegression", "RandomForest", "KNN"]
    score = {"LogisticRegression": 0.6, "RandomForest": 0.9, "KNN": 0.5}
    first = TrialPlanner(
        portfolio_subspaces(families, get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "bayesian",
        defaults_first=True,
        focus=1,
    )
    done = []
    for i in range(3):
        config = first.ask(i)
        done.append(
            first.tell(TrialResult(i, config.model_name, config.params, "completed", score[config.model_name], 0.1))
        )
    again = TrialPlanner(
        portfolio_subspaces(families, get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "bayesian",
        defaults_first=True,
        focus=1,
    )
    again.restore(done)
    assert {again.ask(i).model_name for i in range(3, 8)} == {"RandomForest"}


def test_bayesian_sampling_warns_of_nothing_even_when_another_thread_resets_the_filters():
    # A fresh interpreter, as a user's command: the test session's filters are pytest's.
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        """
        import threading, warnings
        import optuna
        from components.search.sampler import TrialPlanner
        entered, leave = threading.Event(), threading.Event()

        def other_thread():  # as an import that filters its own warnings meanwhile
            with warnings.catch_warnings():
                entered.set()
                leave.wait()

        thread = threading.Thread(target=other_thread)
        thread.start()
        entered.wait()

        class Sampler(optuna.samplers.TPESampler):
            def __init__(self, **kwargs):
                leave.set()
                thread.join()  # it leaves while the sampler is made: the filters it saw are back
                super().__init__(**kwargs)

        optuna.samplers.TPESampler = Sampler
        TrialPlanner._sampler("bayesian", 0)
        print("made")
        """
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "made"
    assert "ExperimentalWarning" not in done.stderr, done.stderr
