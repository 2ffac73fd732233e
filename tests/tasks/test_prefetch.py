"""A pipeline loaded ahead of ``jido score``'s flow, taken only for the version it loaded."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from components.errors import JidoError
from components.experiment.trial import build_pipeline
from components.problems import get_problem
from components.registry.models import log_and_register, resolve_model, set_champion


@pytest.fixture()
def fitted(mixed_frame):
    data = get_problem("classification").learning_data(mixed_frame, "label")
    return build_pipeline("LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0).fit(
        data.X, data.y
    ), data.X


def _run(tracking_uri: str, name: str) -> str:
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name) or client.get_experiment(client.create_experiment(name))
    return client.create_run(experiment.experiment_id).info.run_id


def test_a_prefetched_pipeline_is_taken_only_for_the_version_it_loaded(tracking_uri, fitted, monkeypatch):
    import mlflow.sklearn

    from tasks import prefetch

    pipeline, X = fitted
    run_id = _run(tracking_uri, "prefetched")
    first = log_and_register(pipeline, X, "prefetched", tracking_uri, run_id, {})
    second = log_and_register(pipeline, X, "prefetched", tracking_uri, run_id, {})
    set_champion(first, tracking_uri)

    reads: list[str] = []
    read = mlflow.sklearn.load_model
    monkeypatch.setattr(mlflow.sklearn, "load_model", lambda uri: reads.append(uri) or read(uri))

    def prefetched() -> None:
        prefetch.prefetch_pipeline("models:/prefetched@champion", tracking_uri)
        prefetch._PREFETCHED[tracking_uri].result()
        reads.clear()

    prefetched()
    taken = prefetch.take_prefetched(first, tracking_uri)  # the alias's version: taken, not read again
    assert reads == [] and np.array_equal(taken.predict_proba(X), pipeline.predict_proba(X))
    assert prefetch.take_prefetched(first, tracking_uri) is None  # taken once: a later load reads the store
    prefetched()
    assert prefetch.take_prefetched(second, tracking_uri) is None  # not the version the alias named when prefetched
    assert reads == []

    # A prefetch that fails leaves the error to the flow's own load.
    prefetch.prefetch_pipeline("models:/nothing@champion", tracking_uri)
    assert prefetch.take_prefetched(first, tracking_uri) is None
    with pytest.raises(JidoError, match="no registered model version"):
        resolve_model("models:/nothing@champion", tracking_uri)
