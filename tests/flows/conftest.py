"""The flow tests' shared experiment lives in tests/conftest.py (the CLI and service tests read it too)."""

from mlflow.tracking import MlflowClient

from tests.conftest import cancer_spec  # noqa: F401  (the training tests build variants of it)


def experiment_runs(tracking_uri: str, experiment: str):
    """An MLflow experiment's parent runs and its nested (trial) runs."""
    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children
