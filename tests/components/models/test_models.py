"""One contract suite, run over every registered model family and task."""

import numpy as np
import pytest
from sklearn.base import clone

from components.experiment.trial import build_pipeline
from components.models import REGISTRY, family_names
from components.problems import get_problem
from components.search.space import Choice, FloatRange, IntRange
from tests.support.skops import trusted_types_for

CASES = [(name, task) for name, family in REGISTRY.items() for task in sorted(family.tasks)]
# The deep text families need an encoder and text: tests/components/test_dnn.py runs them on real reviews.
TABULAR_CASES = [(name, task) for name, task in CASES if not REGISTRY[name].needs_text]


def test_registry_covers_the_required_families():
    common = {
        "RandomForest",
        "ExtremeRandomTrees",
        "HistGradientBoosting",
        "LightGBM",
        "XGBoost",
        "CatBoost",
        "KNN",
        "LinearSVM",
        "SGD",
    }
    assert set(family_names("classification")) >= common | {"LogisticRegression"}
    assert set(family_names("regression")) >= common | {"ElasticNet"}


def _inside(value, dist) -> bool:
    if isinstance(dist, Choice):
        return value in dist.values
    if isinstance(dist, (IntRange, FloatRange)):
        return dist.low <= value <= dist.high
    return False


@pytest.mark.parametrize("name, task", CASES)
def test_defaults_lie_in_the_search_space(name, task):
    family = REGISTRY[name]
    space, defaults = family.search_space(get_problem(task)), family.defaults(get_problem(task))
    # Besides the searched parameters, a family that stops early sets only its patience.
    assert set(defaults) - set(space) == ({"early_stopping_rounds"} if family.rounds_param else set())
    assert set(space) <= set(defaults)
    for key, dist in space.items():
        assert _inside(defaults[key], dist), f"{name}.{key}={defaults[key]!r} outside {dist}"


@pytest.mark.parametrize("numeric_only", [False, True], ids=["mixed", "numeric"])
@pytest.mark.parametrize("name, task", TABULAR_CASES)
def test_pipeline_fits_predicts_clones_and_serialises(name, task, numeric_only, mixed_frame):
    X = mixed_frame.drop(columns="label")
    if numeric_only:  # dense input takes other code paths (k-NN builds a KD-tree)
        X = X[["amount"]].fillna(0).assign(noise=np.arange(len(X)) % 7)
    y = (
        mixed_frame["label"]
        if task == "classification"
        else X["amount"].fillna(0) * 2 + (mixed_frame["colour"] == "red") * 5
    )
    family = REGISTRY[name]
    pipeline = build_pipeline(name, get_problem(task), family.defaults(get_problem(task)), seed=0)
    fitted = pipeline.fit(X, y)
    predictions = fitted.predict(X.head(10))
    assert len(predictions) == 10
    if task == "classification":
        assert set(predictions) <= {"yes", "no"}
        proba = fitted.predict_proba(X.head(10))
        assert np.allclose(proba.sum(axis=1), 1.0)
    # The scikit-learn contract: parameters round-trip through get_params, so clone rebuilds the same pipeline.
    cloned = clone(pipeline)
    assert repr(cloned.get_params(deep=True)) == repr(pipeline.get_params(deep=True))
    assert not hasattr(cloned.named_steps["featurize"], "transformer_")
    trusted_types_for(fitted)  # every type the registry would store has been reviewed


# Leaves that hold enough rows for their class shares (and so the weights) to matter.
_SHALLOW = {"RandomForest": {"min_samples_leaf": 20}}


@pytest.mark.parametrize("name", ["LightGBM", "XGBoost", "CatBoost", "RandomForest", "HistGradientBoosting"])
def test_balanced_class_weights_lift_the_rare_class(name):
    from sklearn.metrics import recall_score

    # 5% of rows are "rare", and only loosely tied to x: unweighted models mostly never predict it.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    y = np.where(x[:, 0] + rng.normal(scale=1.5, size=4000) > 3.2, "rare", "common")
    import pandas as pd

    X = pd.DataFrame(x, columns=["a", "b", "c"])
    family = REGISTRY[name]
    recalls = {}
    for weight in (None, "balanced"):
        pipeline = build_pipeline(
            name,
            get_problem("classification"),
            {**family.defaults(get_problem("classification")), "class_weight": weight, **_SHALLOW.get(name, {})},
            0,
        )
        pipeline.fit(X.iloc[:3000], y[:3000])
        recalls[weight] = recall_score(
            y[3000:], pipeline.predict(X.iloc[3000:]), pos_label="rare"
        )  # on rows it did not see
    assert recalls["balanced"] > max(2 * recalls[None], recalls[None] + 0.1), recalls


@pytest.mark.parametrize("threads", [1, 2])
def test_catboost_trains_on_the_threads_openmp_has_here(threads, tmp_path, monkeypatch):
    # CatBoost runs its own thread pool (every core unless told); jido's workers and refits set OpenMP's.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    import pandas as pd

    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y", "z"], 200)})
    y = X["a"] * 3 + (X["b"] == "x")
    pipeline = build_pipeline("CatBoost", get_problem("regression"), {"n_estimators": 5}, 0)
    model, seen = pipeline.named_steps["model"], []

    class Spy:  # a CatBoost callback: the thread count its model trains with, read while it trains
        def after_iteration(self, info):
            seen.append(model._init_params.get("thread_count"))
            return True

    before = repr(pipeline.get_params(deep=True))
    monkeypatch.chdir(tmp_path)
    with threadpool_limits(threads):
        pipeline.fit(X, y, model__callbacks=[Spy()])
    assert seen and set(seen) == {threads}
    assert not any(tmp_path.iterdir())  # no catboost_info folder left in the working directory
    assert repr(pipeline.get_params(deep=True)) == before  # the count is not left behind in its parameters
