"""What a registered version keeps beside its model: the data contract and the explanation, under the version's run."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from components.contract.contract import DataContract
from components.errors import JidoError
from components.registry.models import ModelRef

_CONTRACT_TAG = "jido.contract"


def log_contract(contract: DataContract, ref: ModelRef, tracking_uri: str) -> str:
    """Keeps the data contract with a registered version: its JSON and its great-expectations suite, under the version's
    run.

    Returns the contract's artifact path, which the version's ``jido.contract`` tag names.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    folder = f"contract/{ref.name}-v{ref.version}"
    client.log_text(ref.run_id, contract.to_json(), f"{folder}/contract.json")
    suite = contract.to_suite(f"{ref.name}-v{ref.version}")
    client.log_text(
        ref.run_id, json.dumps(suite.to_json_dict(), indent=1, default=str), f"{folder}/expectation_suite.json"
    )
    client.set_model_version_tag(ref.name, ref.version, _CONTRACT_TAG, f"{folder}/contract.json")
    return f"{folder}/contract.json"


_EXPLANATION_TAG = "jido.explanation"


def log_explanation(explanation_json: str, chart_png: bytes, ref: ModelRef, tracking_uri: str) -> str:
    """Keeps a version's feature importance with it (JSON and a PNG chart under its run); returns the JSON's artifact
    path."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    folder = f"explanation/{ref.name}-v{ref.version}"
    client.log_text(ref.run_id, explanation_json, f"{folder}/importance.json")
    with tempfile.TemporaryDirectory() as scratch:
        chart = Path(scratch) / "importance.png"
        chart.write_bytes(chart_png)
        client.log_artifact(ref.run_id, str(chart), folder)
    client.set_model_version_tag(ref.name, ref.version, _EXPLANATION_TAG, f"{folder}/importance.json")
    return f"{folder}/importance.json"


def load_explanation(ref: ModelRef, tracking_uri: str) -> str:
    """The feature-importance JSON kept with a registered version.

    Raises:
        JidoError: the version was registered without one.
    """
    return _kept_text(
        ref, tracking_uri, _EXPLANATION_TAG, "no explanation (it was registered before jido explained its models)"
    )


def load_contract(ref: ModelRef, tracking_uri: str) -> DataContract:
    """The data contract kept with a registered version.

    Raises:
        JidoError: the version was registered without one.
    """
    return DataContract.from_json(
        _kept_text(ref, tracking_uri, _CONTRACT_TAG, "no data contract (it was registered before jido kept one)")
    )


def _kept_text(ref: ModelRef, tracking_uri: str, tag: str, missing: str) -> str:
    """A text artifact of the version's run, at the path its tag ``tag`` names."""
    import mlflow
    from mlflow.tracking import MlflowClient

    path = (MlflowClient(tracking_uri).get_model_version(ref.name, ref.version).tags or {}).get(tag)
    if not path:
        raise JidoError(f"{ref.uri} has {missing}; train again to get one")
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.artifacts.load_text(f"runs:/{ref.run_id}/{path}")
