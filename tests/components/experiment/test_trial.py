import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from components.evaluate.metrics import get_metric
from components.experiment.trial import (
    TrialConfig,
    build_pipeline,
    evaluate_pipeline,
    evaluate_stopping_early,
    run_trial,
    run_trial_full,
)
from components.models import get_family
from components.problems import get_problem

CLASSIFICATION, REGRESSION = get_problem("classification"), get_problem("regression")


@pytest.fixture()
def learning(mixed_frame):
    data = CLASSIFICATION.learning_data(mixed_frame, "label")
    return data.X, data.y


def test_a_trial_completes_with_a_metric_per_fold(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, n_cross_validations=3)
    result = run_trial(
        TrialConfig(0, "LogisticRegression", {"C": 1.0, "class_weight": None}),
        X,
        y,
        plan,
        CLASSIFICATION,
        get_metric("AUC_weighted"),
        0,
    )
    assert result.status == "completed" and result.error is None
    assert len(result.fold_metrics) == 3
    assert result.metric == pytest.approx(sum(result.fold_metrics) / 3)
    assert result.metric > 0.8  # the label is learnable from colour and amount


def test_a_trial_that_raises_is_recorded_as_failed_with_its_reason(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, validation_size=0.5)
    result = run_trial(
        TrialConfig(4, "KNN", {"n_neighbors": 10_000, "weights": "uniform"}),
        X,
        y,
        plan,
        CLASSIFICATION,
        get_metric("accuracy"),
        0,
    )
    assert result.status == "failed" and result.metric is None
    assert "n_neighbors" in result.error and result.iteration == 4


def test_evaluation_is_deterministic_for_a_seed(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 1, validation_size=0.25)
    pipeline = build_pipeline(
        "RandomForest", CLASSIFICATION, {"n_estimators": 20, "max_features": "sqrt", "min_samples_leaf": 1}, 5
    )
    metric = get_metric("accuracy")
    assert evaluate_pipeline(pipeline, X, y, plan, CLASSIFICATION, metric) == evaluate_pipeline(
        pipeline, X, y, plan, CLASSIFICATION, metric
    )


def test_probability_metrics_survive_a_class_missing_from_a_fold():
    X = pd.DataFrame({"x": list(range(12))})
    y = pd.Series(["a"] * 5 + ["b"] * 5 + ["c"] * 2)
    plan = CLASSIFICATION.plan_split(y, 0, n_cross_validations=2)
    result = run_trial(
        TrialConfig(0, "KNN", {"n_neighbors": 1, "weights": "uniform"}),
        X,
        y,
        plan,
        CLASSIFICATION,
        get_metric("log_loss"),
        0,
    )
    assert result.status == "completed", result.error


def test_staged_families_report_each_stage_and_stop_when_told(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, n_cross_validations=2)
    config = TrialConfig(0, "RandomForest", {"n_estimators": 40, "max_features": "sqrt", "min_samples_leaf": 1})
    reports = []

    def stop_at_three(value, step):
        reports.append((step, value))
        return step == 3

    stopped = run_trial(config, X, y, plan, CLASSIFICATION, get_metric("accuracy"), 0, stop_at_three)
    assert stopped.status == "early_terminated" and len(stopped.curve) == 3 and [s for s, _ in reports] == [1, 2, 3]
    assert stopped.metric == pytest.approx(stopped.curve[-1])

    full = run_trial(config, X, y, plan, CLASSIFICATION, get_metric("accuracy"), 0, lambda value, step: False)
    assert full.status == "completed" and len(full.curve) == 10 and full.metric == pytest.approx(full.curve[-1])
    # Probability metrics on sparse features (the text column) work stage by stage too.
    assert (
        run_trial(config, X, y, plan, CLASSIFICATION, get_metric("AUC_weighted"), 0, lambda value, step: False).status
        == "completed"
    )
    # Growing the forest in stages gives the forest fitted in one go.
    assert full.metric == pytest.approx(run_trial(config, X, y, plan, CLASSIFICATION, get_metric("accuracy"), 0).metric)


def test_families_without_stages_ignore_the_reporter(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, validation_size=0.3)
    result = run_trial(
        TrialConfig(0, "KNN", {"n_neighbors": 5, "weights": "uniform"}),
        X,
        y,
        plan,
        CLASSIFICATION,
        get_metric("accuracy"),
        0,
        lambda v, s: True,
    )
    assert result.status == "completed" and result.curve == ()


def test_a_trial_calling_sys_exit_is_failed_not_fatal(learning, monkeypatch):
    import sys

    from components.models.neighbors import KNNFamily

    def exiting_build(self, problem, params, seed):
        sys.exit(3)

    monkeypatch.setattr(KNNFamily, "build", exiting_build)
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, validation_size=0.5)
    result = run_trial(
        TrialConfig(0, "KNN", {"n_neighbors": 5, "weights": "uniform"}),
        X,
        y,
        plan,
        CLASSIFICATION,
        get_metric("accuracy"),
        0,
    )
    assert result.status == "failed" and result.error.startswith("SystemExit: 3")


def test_a_holdout_trial_can_hand_back_the_pipeline_it_scored(learning):
    X, y = learning
    metric = get_metric("AUC_weighted")
    holdout = CLASSIFICATION.plan_split(y, 0, validation_size=0.25)
    config = TrialConfig(0, "HistGradientBoosting", {"max_iter": 30})
    stopped_after = []

    def never_stop(value: float, step: int) -> bool:
        stopped_after.append(step)
        return False

    for reporter in (None, never_stop):  # fitted in one go, and in stages
        output = run_trial_full(config, X, y, holdout, CLASSIFICATION, metric, 0, reporter, keep_model=True)
        _, valid_rows = holdout.folds[0]
        classes = CLASSIFICATION.classes(y)
        predictions = CLASSIFICATION.validation_predictions(output.model, X.iloc[valid_rows], classes)
        rescored = CLASSIFICATION.score(metric, y.iloc[valid_rows].to_numpy(), predictions, classes)
        assert output.result.status == "completed" and rescored == pytest.approx(
            output.result.metric
        )  # the very model the trial scored
    assert stopped_after  # the staged path ran
    folds = CLASSIFICATION.plan_split(y, 0, n_cross_validations=3)
    assert (
        run_trial_full(config, X, y, folds, CLASSIFICATION, metric, 0, keep_model=True).model is None
    )  # k models: none is the trial's model
    stopped = run_trial_full(
        config, X, y, holdout, CLASSIFICATION, metric, 0, lambda value, step: True, keep_model=True
    )
    assert stopped.result.status == "early_terminated" and stopped.model is None


def test_a_trial_hands_back_its_validation_predictions_fold_after_fold(learning):
    X, y = learning
    plan = CLASSIFICATION.plan_split(y, 0, n_cross_validations=3)
    config = TrialConfig(0, "LogisticRegression", {"C": 1.0, "class_weight": None})
    output = run_trial_full(config, X, y, plan, CLASSIFICATION, get_metric("AUC_weighted"), 0, keep_predictions=True)
    assert (
        output.predictions.shape == (len(X), 2) and output.predictions.dtype == np.float32
    )  # every row once, a column per class
    first = plan.fold_sizes()[0]
    y_first = y.iloc[plan.folds[0][1]].to_numpy()
    assert CLASSIFICATION.score(
        get_metric("AUC_weighted"), y_first, output.predictions[:first], CLASSIFICATION.classes(y)
    ) == pytest.approx(output.result.fold_metrics[0])


def _noisy_churn(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A weak signal in much noise: boosting overfits well before 1,000 rounds."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"amount": rng.normal(size=n), "noise": rng.normal(size=n), "plan": rng.choice(["basic", "plus", "pro"], n)}
    )
    y = pd.Series(
        np.where(X["amount"] + (X["plan"] == "pro") + rng.normal(scale=2.0, size=n) > 0.5, "churned", "stayed")
    )
    return X, y


@pytest.mark.parametrize("name", ["LightGBM", "XGBoost"])
def test_boosters_stop_each_fold_early_and_refit_the_rounds_kept(name):
    X, y = _noisy_churn()
    plan = CLASSIFICATION.plan_split(y, 0, n_cross_validations=3)
    metric = get_metric("AUC_weighted")
    family = get_family(name)
    asked = {**family.defaults(CLASSIFICATION), "n_estimators": 1000, "learning_rate": 0.3}
    stopped = run_trial(TrialConfig(0, name, asked), X, y, plan, CLASSIFICATION, metric, 0)
    grown = run_trial(
        TrialConfig(1, name, {**asked, "early_stopping_rounds": None}), X, y, plan, CLASSIFICATION, metric, 0
    )
    assert stopped.status == grown.status == "completed", (stopped.error, grown.error)
    assert grown.params["n_estimators"] == 1000
    kept = stopped.params["n_estimators"]
    assert 1 <= kept < 200  # the folds' mean best round count, which the refit grows
    assert stopped.metric > grown.metric  # 1,000 rounds at a learning rate of 0.3 overfit this noise
    # Each fold's model predicts with its rounds up to the best validation loss: what a booster grown to them alone
    # predicts.
    pipeline = build_pipeline(name, CLASSIFICATION, asked, 0)
    kept_predictions: list = []
    fold_metrics, rounds = evaluate_stopping_early(
        pipeline, family, 50, X, y, plan, CLASSIFICATION, metric, kept_predictions
    )
    assert rounds == kept and fold_metrics == stopped.fold_metrics
    train_rows, valid_rows = plan.folds[0]
    model = pipeline.named_steps["model"]
    featurizer = clone(pipeline.named_steps["featurize"])
    X_train = featurizer.fit_transform(X.iloc[train_rows], y.iloc[train_rows])
    first = family.fit_stopping_early(
        clone(model), X_train, y.iloc[train_rows], featurizer.transform(X.iloc[valid_rows]), y.iloc[valid_rows], 50
    )
    alone = build_pipeline(
        name, CLASSIFICATION, {**asked, "n_estimators": first, "early_stopping_rounds": None}, 0
    ).fit(X.iloc[train_rows], y.iloc[train_rows])
    np.testing.assert_allclose(kept_predictions[0], alone.predict_proba(X.iloc[valid_rows]), rtol=1e-5, atol=1e-6)


def test_a_regression_booster_stops_early_too():
    X, _ = _noisy_churn(seed=1)
    target = X["amount"] * 2 + np.random.default_rng(2).normal(scale=3.0, size=len(X))
    plan = REGRESSION.plan_split(target, 0, n_cross_validations=3)
    for name in ("LightGBM", "XGBoost"):
        params = {**get_family(name).defaults(REGRESSION), "n_estimators": 1500, "learning_rate": 0.3}
        result = run_trial(TrialConfig(0, name, params), X, target, plan, REGRESSION, get_metric("r2_score"), 0)
        assert result.status == "completed", result.error
        assert result.params["n_estimators"] < 300 and result.params["early_stopping_rounds"] == 50
