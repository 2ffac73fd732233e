"""Registry round trips against a real MLflow SQLite store."""

from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from components.errors import JidoError
from components.experiment.trial import build_pipeline
from components.features.auto import AutoFeaturizer
from components.problems import get_problem
from components.registry.models import (
    TASK_TAG,
    champion,
    list_models,
    load_pipeline,
    log_and_register,
    problem_of,
    resolve_model,
    set_champion,
)
from tests.support.skops import trusted_types_for


@pytest.fixture()
def fitted(mixed_frame):
    data = get_problem("classification").learning_data(mixed_frame, "label")
    params = {
        "learning_rate": 0.1,
        "max_iter": 30,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 5,
        "l2_regularization": 1e-6,
    }
    return build_pipeline("HistGradientBoosting", get_problem("classification"), params, 0).fit(data.X, data.y), data.X


def _run(tracking_uri: str, name: str) -> str:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name) or client.get_experiment(client.create_experiment(name))
    return client.create_run(experiment.experiment_id).info.run_id


def test_register_load_round_trip_predicts_the_same(tracking_uri, fitted):
    pipeline, X = fitted
    ref = log_and_register(
        pipeline,
        X,
        "roundtrip",
        tracking_uri,
        _run(tracking_uri, "roundtrip"),
        {"jido.metric_name": "accuracy", "jido.metric_value": "0.9"},
    )
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


def test_a_version_names_its_task_type_and_one_without_is_refused_for_scoring(tracking_uri, fitted):
    pipeline, X = fitted
    run_id = _run(tracking_uri, "tasks")
    tagged = log_and_register(pipeline, X, "tasks", tracking_uri, run_id, {TASK_TAG: "classification"})
    untagged = log_and_register(pipeline, X, "tasks", tracking_uri, run_id, {})
    assert resolve_model(tagged.uri, tracking_uri).task == "classification"
    assert problem_of(resolve_model(tagged.uri, tracking_uri)) is get_problem("classification")
    with pytest.raises(JidoError, match="no jido.task tag naming a task type jido knows"):
        problem_of(resolve_model(untagged.uri, tracking_uri))


def test_a_version_saved_under_the_former_module_paths_loads(tracking_uri, cancer_frame):
    """A version registered before components/ was grouped by concept names its classes by the modules they had then."""
    import zipfile
    from urllib.parse import urlparse

    import mlflow

    from components.experiment.voting import ensemble_pipeline

    X, y = cancer_frame.drop(columns="diagnosis"), cancer_frame["diagnosis"]
    classification = get_problem("classification")
    members = [
        build_pipeline("LightGBM", classification, {"n_estimators": 5}, 0),
        build_pipeline("LogisticRegression", classification, {"C": 1.0}, 0),
    ]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    ref = log_and_register(
        pipeline, X, "former-paths", tracking_uri, _run(tracking_uri, "former-paths"), {TASK_TAG: "classification"}
    )
    # The stored model rewritten as the earlier layout saved it: its schema and its MLmodel's trusted types name the old
    # modules.
    source = MlflowClient(tracking_uri).get_model_version("former-paths", ref.version).source
    mlflow.set_tracking_uri(tracking_uri)
    folder = Path(urlparse(mlflow.get_logged_model(source.removeprefix("models:/")).artifact_location).path)
    renames = {
        "components.experiment.voting": "components.ensemble",
        "components.features.auto": "components.featurize",
        "components.features.columns": "components.featurize",
        "components.features.native": "components.native_features",
    }
    model_file, mlmodel = folder / "model.skops", folder / "MLmodel"
    with zipfile.ZipFile(model_file) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema, settings = entries["schema.json"].decode(), mlmodel.read_text()
    for new, old in renames.items():
        schema, settings = schema.replace(f'"{new}"', f'"{old}"'), settings.replace(f"{new}.", f"{old}.")
    assert '"components.featurize"' in schema and "components.ensemble.VotingEnsemble" in settings
    entries["schema.json"] = schema.encode()
    with zipfile.ZipFile(model_file, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    mlmodel.write_text(settings)
    loaded = load_pipeline(ref, tracking_uri)
    np.testing.assert_allclose(loaded.predict_proba(X), pipeline.predict_proba(X))


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
    frame = mixed_frame.assign(
        city=[f"city{i % 40}" for i in range(len(mixed_frame))]
    )  # > 30 categories: target encoded
    data = get_problem(task).learning_data(frame.dropna(subset=[target]), target)
    pipeline = build_pipeline("RandomForest", get_problem(task), {"n_estimators": 5}, 0).fit(data.X, data.y)
    assert any(name.endswith("KFold") for name in trusted_types_for(pipeline))


def test_the_requirements_name_the_boosting_libraries_an_ensemble_holds(cancer_frame):
    from components.experiment.voting import ensemble_pipeline
    from components.registry.models import _requirements

    X, y = cancer_frame.drop(columns="diagnosis"), cancer_frame["diagnosis"]
    members = [
        build_pipeline("XGBoost", get_problem("classification"), {"n_estimators": 5}, 0),
        build_pipeline("LogisticRegression", get_problem("classification"), {"C": 1.0}, 0),
    ]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    named = {requirement.split("==")[0] for requirement in _requirements(pipeline)}
    assert (
        {"scikit-learn", "skops"} <= named
        and named & {"xgboost", "xgboost-cpu"}
        and not named & {"lightgbm", "catboost"}
    )
    # jido's own LightGBM and CatBoost estimators (subclasses living in jido's modules) name their libraries too.
    members = [
        build_pipeline("LightGBM", get_problem("classification"), {"n_estimators": 5}, 0),
        build_pipeline("CatBoost", get_problem("classification"), {"n_estimators": 5}, 0),
    ]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    named = {requirement.split("==")[0] for requirement in _requirements(pipeline)}
    assert {"lightgbm", "catboost"} <= named and not named & {"xgboost", "xgboost-cpu"}


@pytest.mark.parametrize(
    "uri, message",
    [
        ("runs:/abc/model", "not of the form"),
        ("models:/nothing-here@champion", "no registered model version"),
        ("models:/roundtrip/999", "no registered model version"),
    ],
)
def test_bad_model_uris(tracking_uri, uri, message):
    with pytest.raises(JidoError, match=message):
        resolve_model(uri, tracking_uri)
