import pytest

from components.errors import JidoError
from components.spec import ExperimentSpec, build_spec, load_spec

BASE = {"name": "churn", "task": "classification", "training_data": "data.csv", "target_column": "churn"}


def test_yaml_spec_resolves_paths_against_its_folder(tmp_path):
    (tmp_path / "specs").mkdir()
    path = tmp_path / "specs" / "exp.yaml"
    path.write_text(
        "name: churn\ntask: classification\ntraining_data: ../data/train.csv\ntarget_column: churn\n"
        "primary_metric: AUC_weighted\nlimits: {iterations: 7, max_concurrent_iterations: 3}\n"
        "scoring: {schedule: '0 3 * * *', input: in.csv, output: out/scored.parquet}\n"
    )
    spec = load_spec(path)
    assert isinstance(spec, ExperimentSpec)
    assert spec.training_data == str((tmp_path / "data" / "train.csv").resolve())
    assert spec.scoring.output == str((tmp_path / "specs" / "out" / "scored.parquet").resolve())
    assert spec.limits.iterations == 7 and spec.limits.max_concurrent_iterations == 3
    assert spec.metric_name() == "AUC_weighted"


def test_defaults_follow_azure():
    spec = build_spec(BASE)
    assert spec.metric_name() == "accuracy"
    assert build_spec({**BASE, "task": "regression"}).metric_name() == "spearman_correlation"
    assert "LogisticRegression" in spec.model_names() and "ElasticNet" not in spec.model_names()
    assert "BERT" not in spec.model_names() and spec.gpus_per_trial() == 0


def test_enable_dnn_adds_the_deep_text_families_and_asks_for_a_gpu_each():
    spec = build_spec({**BASE, "enable_dnn": True})
    assert {"BERT", "BiLSTM"} <= set(spec.model_names())
    assert spec.gpus_per_trial() == 1
    assert build_spec({**BASE, "enable_dnn": True, "compute": {"gpus_per_trial": 0}}).gpus_per_trial() == 0


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"limits": {"iteratons": 3}}, ["unknown key 'limits.iteratons'", "iterations", "max_concurrent_iterations"]),
        ({"colour": "red"}, ["unknown key 'colour'", "target_column"]),
        ({"limits": {"iterations": 0}}, ["limits.iterations", "greater than or equal to 1", "given: 0"]),
        ({"limits": {"iterations": 5000}}, ["limits.iterations", "less than or equal to 1000", "given: 5000"]),
        ({"validation_size": 1.5}, ["validation_size", "given: 1.5"]),
        ({"task": "clustering"}, ["task", "'classification' or 'regression'", "given: 'clustering'"]),
        (
            {"primary_metric": "r2_score"},
            ["'r2_score' does not fit task 'classification'", "regression metric", "AUC_weighted"],
        ),
        ({"primary_metric": "auc"}, ["'auc'", "not a known metric", "accuracy"]),
        ({"allowed_models": ["H2OGBM"]}, ["allowed_models", "'H2OGBM'", "RandomForest"]),
        ({"allowed_models": ["KNN"], "blocked_models": ["SGD"]}, ["allowed_models or blocked_models"]),
        (
            {"validation_size": 0.2, "n_cross_validations": 5},
            ["at most one of", "validation_size, n_cross_validations"],
        ),
        ({"scoring": {"schedule": "0 3 * * *"}}, ["scoring.schedule needs scoring.input"]),
        ({"name": "has space"}, ["name", "given: 'has space'"]),
        ({"ignore_columns": ["churn"]}, ["ignore_columns names the target"]),
        ({"sweep": {"sampling": "grid"}}, ["sweep.sampling: grid needs a sweep.search_space"]),
        (
            {"compute": {"address": "tcp://h:8786", "cluster_class": "distributed.LocalCluster"}},
            ["address", "not both"],
        ),
        ({"compute": {"cluster_class": "dask_nowhere.Cluster"}}, ["'dask_nowhere' is not installed"]),
        ({"compute": {"cluster_class": "LocalCluster"}}, ["dotted path"]),
        ({"compute": {"cluster_kwargs": {"n_workers": 2}}}, ["cluster_kwargs needs compute.cluster_class"]),
        ({"sweep": {"sampling": "anneal"}}, ["sweep.sampling", "'grid', 'random' or 'bayesian'", "given: 'anneal'"]),
        (
            {"sweep": {"search_space": {"learning_rate": {"uniform": [0.3, 0.1]}}}},
            ["sweep.search_space.learning_rate: low must be below high"],
        ),
        (
            {"sweep": {"search_space": {"model_name": ["KNN"], "C": [1.0]}}},
            ["model KNN does not take parameter(s) 'C'"],
        ),
        ({"sweep": {"early_termination": {"policy": "bandit"}}}, ["exactly one of slack_factor and slack_amount"]),
        (
            {"sweep": {"early_termination": {"policy": "bandit", "slack_factor": 0.1, "slack": 1}}},
            ["unknown key 'sweep.early_termination.slack'", "slack_amount"],
        ),
        ({"sweep": {"early_termination": {"policy": "median"}}}, ["sweep.early_termination.policy", "given: 'median'"]),
        ({"allowed_models": ["BERT", "LogisticRegression"]}, ["allowed_models: BERT need enable_dnn: true"]),
        ({"text_dnn": {"text_columns": ["review"]}}, ["text_dnn settings take effect only with enable_dnn: true"]),
        ({"enable_dnn": True, "task": "regression"}, ["enable_dnn", "classification", "'regression'"]),
        ({"enable_dnn": True, "featurization": "off"}, ["enable_dnn needs featurization: auto"]),
        ({"featurization": "none"}, ["featurization", "'auto' or 'off'", "given: 'none'"]),
        ({"ensemble_iterations": 0}, ["ensemble_iterations", "greater than or equal to 1"]),
        (
            {"enable_dnn": True, "text_dnn": {"pretrained_path": "/nowhere/bert"}},
            ["text_dnn.pretrained_path '/nowhere/bert'", "missing config.json"],
        ),
        ({"enable_dnn": True, "text_dnn": {"text_columns": []}}, ["text_dnn.text_columns", "at least 1"]),
    ],
)
def test_bad_specs_are_refused_with_the_key_the_rule_and_the_value(change, expected):
    with pytest.raises(JidoError) as caught:
        build_spec({**BASE, **change})
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message


def test_blocked_models_cannot_leave_nothing():
    from components.models import family_names

    with pytest.raises(JidoError, match="leave no model"):
        build_spec({**BASE, "blocked_models": family_names("classification")})


def test_missing_and_malformed_spec_files(tmp_path):
    with pytest.raises(JidoError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(JidoError, match="not valid YAML"):
        load_spec(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(JidoError, match="must hold a mapping"):
        load_spec(listed)


def test_spec_is_frozen():
    spec = build_spec(BASE)
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        spec.name = "other"


def test_sweep_search_space_from_yaml(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: s\ntask: classification\ntraining_data: d.csv\ntarget_column: y\n"
        "sweep:\n  sampling: random\n  search_space:\n"
        "    - {model_name: {choice: [RandomForest]}, n_estimators: {randint: [300]}}\n"
        "    - {model_name: {choice: [KNN]}, n_neighbors: {quniform: [1, 30, 1]}}\n"
    )
    subspaces = load_spec(path).search_subspaces()
    assert [s.model_names for s in subspaces] == [("RandomForest",), ("KNN",)]
    assert build_spec(BASE).sweep.sampling == "bayesian"
