import numpy as np
import pandas as pd
import pytest

from components.evaluate.explain import Explanation, explain_pipeline, importance_chart
from components.evaluate.metrics import get_metric
from components.experiment.trial import build_pipeline
from components.problems import get_problem


@pytest.fixture(scope="module")
def planted():
    """The label follows `signal` and, for class "c" only, `tier`; `noise` and `colour` are unrelated."""
    rng = np.random.default_rng(3)
    n = 900
    signal = rng.normal(size=n)
    tier = rng.choice(["gold", "silver", "bronze"], n)
    label = np.where(tier == "gold", "c", np.where(signal > 0, "a", "b"))
    frame = pd.DataFrame(
        {"noise": rng.normal(size=n), "signal": signal, "colour": rng.choice(["red", "blue"], n), "tier": tier}
    )
    return frame, pd.Series(label, name="label")


def test_importance_is_counted_for_the_users_columns_overall_and_per_class(planted):
    X, y = planted
    pipeline = build_pipeline(
        "RandomForest",
        get_problem("classification"),
        {"n_estimators": 60, "max_features": 1.0, "min_samples_leaf": 3},
        0,
    ).fit(X, y)
    found = explain_pipeline(
        pipeline,
        X,
        y,
        get_problem("classification"),
        get_metric("accuracy"),
        list(X.columns),
        "training rows",
        max_rows=600,
        n_repeats=3,
    )
    assert set(found.overall) == {"noise", "signal", "colour", "tier"}  # one-hot columns count for "tier" and "colour"
    assert list(found.overall)[:2] in (["signal", "tier"], ["tier", "signal"])
    assert found.overall["signal"] > 0.2 and found.overall["tier"] > 0.2
    assert abs(found.overall["colour"]) < 0.03
    # Class "c" depends on tier alone; "a" and "b" on the signal most.
    assert found.per_class["c"]["tier"] > 10 * max(found.per_class["c"]["signal"], 0.01)
    assert found.per_class["a"]["signal"] > found.per_class["a"]["colour"] + 0.1
    assert found.n_rows == 600 and found.n_repeats == 3


def test_a_regression_is_explained_by_its_metric(planted):
    X, _ = planted
    y = pd.Series(3 * X["signal"] + np.random.default_rng(0).normal(scale=0.1, size=len(X)))
    pipeline = build_pipeline("ElasticNet", get_problem("regression"), {"alpha": 0.001, "l1_ratio": 0.5}, 0).fit(X, y)
    found = explain_pipeline(
        pipeline,
        X,
        y,
        get_problem("regression"),
        get_metric("normalized_root_mean_squared_error"),
        list(X.columns),
        "training rows",
    )
    assert next(iter(found.overall)) == "signal" and found.per_class == {}
    assert (
        found.overall["signal"] > 0.1 and abs(found.overall["noise"]) < 0.01
    )  # a lower-is-better metric still ranks by harm done


def test_the_explanation_round_trips_and_renders(planted):
    X, y = planted
    pipeline = build_pipeline(
        "LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0
    ).fit(X, y)
    found = explain_pipeline(
        pipeline,
        X,
        y,
        get_problem("classification"),
        get_metric("AUC_weighted"),
        list(X.columns),
        "training rows",
        n_repeats=2,
    )
    assert Explanation.from_json(found.to_json()) == found
    text = found.markdown("planted")
    assert "| signal |" in text and "class c" in text and "AUC_weighted" in text
    assert importance_chart(found, "planted").startswith(b"\x89PNG")
    assert [row["column"] for row in found.rows(2)] == list(found.overall)[:2]


def test_a_short_time_budget_cuts_shuffles_then_rows(planted):
    X, y = planted
    pipeline = build_pipeline(
        "LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0
    ).fit(X, y)
    metric = get_metric("accuracy")
    hurried = explain_pipeline(
        pipeline, X, y, get_problem("classification"), metric, list(X.columns), "training rows", time_budget_s=1e-6
    )
    assert hurried.n_repeats == 1 and hurried.n_rows == 200
    assert list(hurried.overall)[:2] in (["signal", "tier"], ["tier", "signal"])  # still the right columns on top
    relaxed = explain_pipeline(
        pipeline, X, y, get_problem("classification"), metric, list(X.columns), "training rows", time_budget_s=600
    )
    assert relaxed.n_repeats == 3 and relaxed.n_rows == len(X)


def test_columns_the_metric_ties_are_ordered_by_the_rise_in_log_loss():
    """Three copies of a wide-margin signal: shuffling any one leaves every prediction right, so accuracy never
    drops."""
    rng = np.random.default_rng(5)
    n = 400
    side = rng.choice([-1.0, 1.0], n)
    X = pd.DataFrame({"noise": rng.normal(size=n), **{f"copy_{k}": side * rng.uniform(5, 6, n) for k in range(3)}})
    y = pd.Series(np.where(side > 0, "yes", "no"))
    pipeline = build_pipeline(
        "LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0
    ).fit(X, y)
    found = explain_pipeline(
        pipeline,
        X,
        y,
        get_problem("classification"),
        get_metric("accuracy"),
        list(X.columns),
        "training rows",
        n_repeats=2,
    )
    assert not any(found.overall.values())  # the metric ties every column at zero
    assert list(found.overall)[-1] == "noise" and set(list(found.overall)[:3]) == {"copy_0", "copy_1", "copy_2"}
    assert min(found.log_loss_rise[f"copy_{k}"] for k in range(3)) > 10 * max(abs(found.log_loss_rise["noise"]), 1e-4)
    assert "log loss rise" in found.rows(1)[0] and "ordered by how much the log loss rises" in found.markdown("copies")
    assert Explanation.from_json(found.to_json()) == found
    assert importance_chart(found, "copies").startswith(b"\x89PNG")
    by_log_loss = explain_pipeline(
        pipeline,
        X,
        y,
        get_problem("classification"),
        get_metric("log_loss"),
        list(X.columns),
        "training rows",
        n_repeats=2,
    )
    assert (
        by_log_loss.log_loss_rise == {} and list(by_log_loss.overall)[-1] == "noise"
    )  # the metric is the log loss: no second column of it


def test_shuffled_copies_are_predicted_together_and_score_as_one_by_one():
    from components.evaluate.explain import _shuffled_drops

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50), "c": rng.choice(["x", "y"], 50)})
    y = 2 * X["a"].to_numpy() + X["b"].to_numpy()
    calls = []

    def predict(frame):
        calls.append(len(frame))
        return 2 * frame["a"].to_numpy() + 0.5 * frame["b"].to_numpy() + (frame["c"] == "x").to_numpy()

    def scores(predictions, truth):
        return {"overall": -float(np.mean((predictions - truth) ** 2))}

    drops = _shuffled_drops(predict, X, y, scores, n_repeats=2, seed=7)["overall"]
    assert calls == [50, 300]  # the sample, then its six shuffled copies in one call
    # The same shuffles, one prediction each.
    orders = np.random.default_rng(7)
    baseline = scores(predict(X), y)["overall"]
    for j, column in enumerate(X.columns):
        for r in range(2):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[orders.permutation(50)]
            assert drops[j, r] == pytest.approx(baseline - scores(predict(shuffled), y)["overall"])
    assert drops[0].mean() > drops[1].mean() > 0  # "a" weighs most
