import pytest

from components.models import get_family
from components.search.sampler import TrialPlanner
from components.search.space import Choice, FloatRange, IntRange
from components.trial import TrialResult


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Choice(()), "at least one value"),
        (lambda: IntRange(5, 5), "low must be below high"),
        (lambda: FloatRange(1.0, 0.5), "low must be below high"),
        (lambda: FloatRange(0.0, 1.0, log=True), "positive low bound"),
        (lambda: FloatRange(0.0, float("inf")), "finite"),
    ],
)
def test_invalid_distributions_refuse_to_exist(make, message):
    with pytest.raises(ValueError, match=message):
        make()


MODELS = ["LogisticRegression", "RandomForest", "KNN"]


def test_first_trials_are_each_familys_defaults():
    planner = TrialPlanner(MODELS, "classification", True, seed=3)
    configs = [planner.ask(i) for i in range(3)]
    assert [c.model_name for c in configs] == MODELS
    for config in configs:
        assert config.params == get_family(config.model_name).defaults("classification")


def _sequence(seed: int, n: int = 12):
    planner = TrialPlanner(MODELS, "classification", True, seed=seed)
    out = []
    for i in range(n):
        config = planner.ask(i)
        planner.tell(TrialResult(i, config.model_name, config.params, "completed", 0.5, 0.1))
        out.append((config.model_name, config.params))
    return out


def test_a_seed_makes_sampling_reproducible():
    assert _sequence(7) == _sequence(7)
    assert _sequence(7) != _sequence(8)


def test_sampled_parameters_belong_to_the_chosen_family_and_its_space():
    for name, params in _sequence(11, 30)[3:]:
        space = get_family(name).search_space("classification")
        assert set(params) == set(space)
        for key, value in params.items():
            dist = space[key]
            assert value in dist.values if isinstance(dist, Choice) else dist.low <= value <= dist.high


def test_failed_trials_are_told_as_failures():
    planner = TrialPlanner(["KNN"], "classification", True, seed=0)
    config = planner.ask(0)
    planner.tell(TrialResult(0, "KNN", config.params, "failed", None, 0.1, "boom"))
    assert planner.study.trials[0].state.name == "FAIL"
