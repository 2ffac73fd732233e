"""Registry round trips against a real MLflow SQLite store."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from components.data import prepare_learning_data
from components.errors import JidoError
from components.featurize import AutoFeaturizer
from components.register import (
    champion,
    list_models,
    load_pipeline,
    log_and_register,
    prefetch_pipeline,
    resolve_model,
    set_champion,
    trusted_types_for,
)
from components.trial import build_pipeline


@pytest.fixture()
def fitted(mixed_frame):
    data = prepare_learning_data(mixed_frame, "label", "classification")
    params = {"learning_rate": 0.1, "max_iter": 30, "max_leaf_nodes": 15, "min_samples_leaf": 5, "l2_regularization": 1e-6}
    return build_pipeline("HistGradientBoosting", "classification", params, 0).fit(data.X, data.y), data.X


def _run(tracking_uri: str, name: str) -> str:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name) or client.get_experiment(client.create_experiment(name))
    return client.create_run(experiment.experiment_id).info.run_id


def test_register_load_round_trip_predicts_the_same(tracking_uri, fitted):
    pipeline, X = fitted
    ref = log_and_register(pipeline, X, "roundtrip", tracking_uri, _run(tracking_uri, "roundtrip"), {"jido.metric_name": "accuracy", "jido.metric_value": "0.9"})
    assert resolve_model(f"models:/roundtrip/{ref.version}", tracking_uri) == ref
    loaded = load_pipeline(ref, tracking_uri)
    assert np.array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    assert list(loaded.classes_) == ["no", "yes"]
    assert champion("roundtrip", tracking_uri) is None
    set_champion(ref, tracking_uri)
    assert champion("roundtrip", tracking_uri) == ref
    rows = [r for r in list_models(tracking_uri) if r["name"] == "roundtrip"]
    assert rows[0]["aliases"] == "champion" and rows[0]["metric"] == "accuracy" and rows[0]["value"] == "0.9"
    version = MlflowClient(tracking_uri).get_model_version("roundtrip", ref.version)
    assert version.tags["jido.metric_name"] == "accuracy"


def test_a_prefetched_pipeline_is_taken_only_for_the_version_it_loaded(tracking_uri, fitted, monkeypatch):
    import mlflow.sklearn

    from components import register

    pipeline, X = fitted
    run_id = _run(tracking_uri, "prefetched")
    first = log_and_register(pipeline, X, "prefetched", tracking_uri, run_id, {})
    second = log_and_register(pipeline, X, "prefetched", tracking_uri, run_id, {})
    set_champion(first, tracking_uri)

    reads: list[str] = []
    read = mlflow.sklearn.load_model
    monkeypatch.setattr(mlflow.sklearn, "load_model", lambda uri: reads.append(uri) or read(uri))

    def prefetched() -> None:
        prefetch_pipeline("models:/prefetched@champion", tracking_uri)
        register._PREFETCHED[tracking_uri].result()
        reads.clear()

    prefetched()
    taken = load_pipeline(first, tracking_uri)  # the alias's version: taken, not read again
    assert reads == [] and np.array_equal(taken.predict_proba(X), pipeline.predict_proba(X))
    load_pipeline(first, tracking_uri)  # taken once: a later load reads the store
    assert reads == [first.uri]
    prefetched()
    load_pipeline(second, tracking_uri)  # not the version the alias named when prefetched
    assert reads == [second.uri]

    # A prefetch that fails leaves the error to the flow's own load.
    prefetch_pipeline("models:/nothing@champion", tracking_uri)
    with pytest.raises(JidoError, match="no registered model version"):
        load_pipeline(resolve_model("models:/nothing@champion", tracking_uri), tracking_uri)


class Unreviewed(AutoFeaturizer):
    pass


def test_unreviewed_types_are_refused_before_registration(tracking_uri, fitted):
    pipeline, X = fitted
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in trusted_types_for(pipeline)
    pipeline.steps[0] = ("featurize", Unreviewed(sparse_output=False).fit(X))
    with pytest.raises(RuntimeError, match="Unreviewed"):
        trusted_types_for(pipeline)
    with pytest.raises(RuntimeError, match="not on the reviewed skops list.*Unreviewed"):
        log_and_register(pipeline, X, "unreviewed", tracking_uri, _run(tracking_uri, "unreviewed"), {})
    assert MlflowClient(tracking_uri).search_model_versions("name='unreviewed'") == []  # nothing registered


@pytest.mark.parametrize("task, target", [("classification", "label"), ("regression", "amount")])
def test_a_target_encoded_pipeline_holds_only_reviewed_types(mixed_frame, task, target):
    frame = mixed_frame.assign(city=[f"city{i % 40}" for i in range(len(mixed_frame))])  # > 30 categories: target encoded
    data = prepare_learning_data(frame.dropna(subset=[target]), target, task)
    pipeline = build_pipeline("RandomForest", task, {"n_estimators": 5}, 0).fit(data.X, data.y)
    assert any(name.endswith("KFold") for name in trusted_types_for(pipeline))


def test_the_requirements_name_the_boosting_libraries_an_ensemble_holds(cancer_frame):
    from components.ensemble import ensemble_pipeline
    from components.register import _requirements

    X, y = cancer_frame.drop(columns="diagnosis"), cancer_frame["diagnosis"]
    members = [build_pipeline("XGBoost", "classification", {"n_estimators": 5}, 0), build_pipeline("LogisticRegression", "classification", {"C": 1.0}, 0)]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    named = {requirement.split("==")[0] for requirement in _requirements(pipeline)}
    assert {"scikit-learn", "skops"} <= named and named & {"xgboost", "xgboost-cpu"} and not named & {"lightgbm", "catboost"}
    # jido's own LightGBM and CatBoost estimators (subclasses living in jido's modules) name their libraries too.
    members = [build_pipeline("LightGBM", "classification", {"n_estimators": 5}, 0), build_pipeline("CatBoost", "classification", {"n_estimators": 5}, 0)]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    named = {requirement.split("==")[0] for requirement in _requirements(pipeline)}
    assert {"lightgbm", "catboost"} <= named and not named & {"xgboost", "xgboost-cpu"}


@pytest.mark.parametrize("uri, message", [("runs:/abc/model", "not of the form"), ("models:/nothing-here@champion", "no registered model version"), ("models:/roundtrip/999", "no registered model version")])
def test_bad_model_uris(tracking_uri, uri, message):
    with pytest.raises(JidoError, match=message):
        resolve_model(uri, tracking_uri)
