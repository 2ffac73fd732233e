"""The MLflow model registry: log a pipeline as one model, resolve and load models, move the champion alias."""

from __future__ import annotations

import json
import re
import tempfile
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.pipeline import Pipeline

from components.contract import DataContract
from components.errors import JidoError
from components.skops_import import import_skops

CHAMPION_ALIAS = "champion"
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")

# Types outside skops' default trust that a jido pipeline may hold. Each was
# reviewed: jido's own featurizer classes, plus scikit-learn/NumPy/SciPy
# internals with no code execution on load. A pipeline holding any other
# untrusted type is refused at log time rather than trusted blindly.
REVIEWED_TRUSTED_TYPES = (
    "components.ensemble.Densify",
    "components.ensemble.SelectColumns",
    "components.ensemble.VotingEnsemble",
    "components.featurize.AutoFeaturizer",
    "components.featurize.ColumnProfile",
    "components.featurize.DatetimeParts",
    "components.featurize.NumericCoercer",
    "components.featurize.NumericPassthrough",
    "components.featurize.TextTfidf",
    "components.native_features.NativeFeaturizer",
    "components.models._lightgbm.CategoryCodesClassifier",
    "components.models._lightgbm.CategoryCodesRegressor",
    # CatBoost's state is its parameters plus the model in CatBoost's own binary
    # format, read back by its loader (``_load_from_string``: no pickle, no code).
    "components.models._catboost.CategoryCodesClassifier",
    "components.models._catboost.CategoryCodesRegressor",
    "components.models.boosting.EncodedLabels",
    # The target encoder's cross-fitting splitter (a seed and a fold count).
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    # Deep text models keep their weights as NumPy arrays and their tokenizer
    # as JSON; loading rebuilds a known network (no remote code) from them.
    "components.models.dnn._bert.BertTextClassifier",
    "components.models.dnn._bilstm.BiLSTMTextClassifier",
    "components.models.dnn._inputs.TextTableFeaturizer",
    # LightGBM and XGBoost boosters keep their trees as a model string / bytes,
    # parsed by the library's own loader on load (no pickle, no code).
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)


@dataclass(frozen=True)
class ModelRef:
    """A registered model version."""

    name: str
    version: str
    run_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def trusted_types_for(pipeline: Pipeline) -> list[str]:
    """The skops types ``pipeline`` needs trusted, checked against the reviewed list.

    Raises:
        RuntimeError: the pipeline holds a type nobody has reviewed.
    """
    skops_io = import_skops()
    untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(pipeline))
    unreviewed = sorted(set(untrusted) - set(REVIEWED_TRUSTED_TYPES))
    if unreviewed:
        raise RuntimeError(f"the pipeline holds types not on the reviewed skops list: {', '.join(unreviewed)}")
    return sorted(untrusted)


def _requirements(pipeline: Pipeline) -> list[str]:
    from importlib.metadata import version

    packages = ["scikit-learn", "skops", "pandas", "numpy", "scipy"]
    if _holds_deep_model(pipeline):
        packages += ["torch", "transformers", "tokenizers", "safetensors"]
    packages += _booster_distributions(_held_packages(pipeline))
    return [f"{package}=={version(package)}" for package in packages]


def _held_packages(estimator: object) -> set[str]:
    """The top-level packages of every estimator ``estimator`` holds, itself included (pipeline steps, ensemble members, wrapped models)."""
    from sklearn.base import BaseEstimator

    found: set[str] = set()
    pending, seen = [estimator], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, BaseEstimator) or hasattr(item, "get_params"):  # CatBoost's estimators are not BaseEstimators
            # Every class it derives from: jido's LightGBM and CatBoost estimators live in jido's modules.
            found.update(cls.__module__.split(".")[0] for cls in type(item).__mro__)
            if isinstance(item, BaseEstimator):
                pending.extend(vars(item).values())
    return found


# The distributions that may provide each booster's module (XGBoost also ships as xgboost-cpu).
_BOOSTER_DISTRIBUTIONS = {"catboost": ("catboost",), "lightgbm": ("lightgbm",), "xgboost": ("xgboost", "xgboost-cpu")}


def _booster_distributions(held: set[str]) -> list[str]:
    """The installed distributions (``xgboost`` or ``xgboost-cpu``, ``lightgbm``, ``catboost``) of the packages a pipeline holds.

    Looked up by name: ``importlib.metadata.packages_distributions`` reads every
    installed distribution's file list (1.6 s of a 2.8 s registration here).
    """
    from importlib.metadata import PackageNotFoundError, distribution

    found = []
    for module in sorted(held & set(_BOOSTER_DISTRIBUTIONS)):
        for name in _BOOSTER_DISTRIBUTIONS[module]:
            try:
                distribution(name)
            except PackageNotFoundError:
                continue
            found.append(name)
            break
    return found


def _holds_deep_model(pipeline: Pipeline) -> bool:
    from components.models.dnn._estimator import TorchTextClassifier

    return any(isinstance(step, TorchTextClassifier) for _, step in pipeline.steps)


def log_and_register(
    pipeline: Pipeline, X_example: pd.DataFrame, model_name: str, tracking_uri: str, run_id: str, tags: dict[str, str]
) -> ModelRef:
    """Logs the fitted pipeline (featurizer, estimator, label classes) under ``run_id`` and registers it.

    The signature and input example come from ``X_example``; the version gets ``tags``.

    The pipeline is serialised once, by MLflow, with skops, trusting the
    reviewed types only: MLflow loads it back right after writing, and a
    pipeline holding any type not on the list fails there, before it is
    registered. (Checking the types first meant a second serialisation, 8 s
    of a 92 MiB five-forest ensemble's 24 s registration here.)

    Raises:
        RuntimeError: the pipeline holds a type nobody has reviewed.
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    import_skops()  # before MLflow imports it, and torch with it (see components.skops_import)
    from skops.io.exceptions import UntrustedTypesFoundException

    mlflow.set_tracking_uri(tracking_uri)
    example = X_example.head(5)
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values; jido's
        # featurizer coerces every numeric column to float, so they can.
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(example, pipeline.predict(example))
    with mlflow.start_run(run_id=run_id):
        try:
            info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                serialization_format="skops",
                skops_trusted_types=sorted(REVIEWED_TRUSTED_TYPES),
                signature=signature,
                input_example=example,
                registered_model_name=model_name,
                # Stated, not inferred: inference reloads the model in a subprocess (seconds).
                pip_requirements=_requirements(pipeline),
                await_registration_for=60,
            )
        except MlflowException as error:
            cause = error.__cause__ or error.__context__
            if isinstance(cause, UntrustedTypesFoundException):
                raise RuntimeError(f"the pipeline holds types not on the reviewed skops list: {cause}") from None
            raise
    client = mlflow.MlflowClient(tracking_uri)
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, str(value))
    return ModelRef(model_name, version, run_id)


def resolve_model(model_uri: str, tracking_uri: str) -> ModelRef:
    """Resolves ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` to a version.

    Raises:
        JidoError: the URI is malformed or names no registered version.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    match = _MODEL_URI.match(model_uri)
    if not match:
        raise JidoError(f"model URI {model_uri!r} is not of the form models:/NAME@ALIAS or models:/NAME/VERSION")
    client = MlflowClient(tracking_uri)
    name = match["name"]
    try:
        found = client.get_model_version_by_alias(name, match["alias"]) if match["alias"] else client.get_model_version(name, match["version"])
    except MlflowException:
        raise JidoError(f"no registered model version for {model_uri!r} in {tracking_uri}; `jido models` lists what is registered") from None
    return ModelRef(found.name, str(found.version), found.run_id)


_CONTRACT_TAG = "jido.contract"


def log_contract(contract: DataContract, ref: ModelRef, tracking_uri: str) -> str:
    """Keeps the data contract with a registered version: its JSON and its great-expectations suite, under the version's run.

    Returns the contract's artifact path, which the version's ``jido.contract`` tag names.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    folder = f"contract/{ref.name}-v{ref.version}"
    client.log_text(ref.run_id, contract.to_json(), f"{folder}/contract.json")
    suite = contract.to_suite(f"{ref.name}-v{ref.version}")
    client.log_text(ref.run_id, json.dumps(suite.to_json_dict(), indent=1, default=str), f"{folder}/expectation_suite.json")
    client.set_model_version_tag(ref.name, ref.version, _CONTRACT_TAG, f"{folder}/contract.json")
    return f"{folder}/contract.json"


_EXPLANATION_TAG = "jido.explanation"


def log_explanation(explanation_json: str, chart_png: bytes, ref: ModelRef, tracking_uri: str) -> str:
    """Keeps a version's feature importance with it (JSON and a PNG chart under its run); returns the JSON's artifact path."""
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
    return _kept_text(ref, tracking_uri, _EXPLANATION_TAG, "no explanation (it was registered before jido explained its models)")


def load_contract(ref: ModelRef, tracking_uri: str) -> DataContract:
    """The data contract kept with a registered version.

    Raises:
        JidoError: the version was registered without one.
    """
    return DataContract.from_json(_kept_text(ref, tracking_uri, _CONTRACT_TAG, "no data contract (it was registered before jido kept one)"))


def _kept_text(ref: ModelRef, tracking_uri: str, tag: str, missing: str) -> str:
    """A text artifact of the version's run, at the path its tag ``tag`` names."""
    import mlflow
    from mlflow.tracking import MlflowClient

    path = (MlflowClient(tracking_uri).get_model_version(ref.name, ref.version).tags or {}).get(tag)
    if not path:
        raise JidoError(f"{ref.uri} has {missing}; train again to get one")
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.artifacts.load_text(f"runs:/{ref.run_id}/{path}")


def load_pipeline(ref: ModelRef, tracking_uri: str) -> Pipeline:
    """Loads a registered version's fitted pipeline, or takes it from ``prefetch_pipeline`` when that loaded this version."""
    with _PREFETCH_LOCK:
        ahead = _PREFETCHED.pop(tracking_uri, None)
    if ahead is not None:
        try:
            found, pipeline = ahead.result()
        except Exception:  # whatever failed there fails again here, with its own message
            found = None
        if found == ref:
            return pipeline
    return _read_pipeline(ref, tracking_uri)


def _read_pipeline(ref: ModelRef, tracking_uri: str) -> Pipeline:
    import mlflow

    import_skops()  # before MLflow imports it, and torch with it (see components.skops_import)
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.sklearn.load_model(ref.uri)


# Pipelines loading ahead of their use, by tracking URI (see prefetch_pipeline).
_PREFETCHED: dict[str, Future] = {}
_PREFETCH_LOCK = threading.Lock()


def prefetch_pipeline(model_uri: str, tracking_uri: str) -> None:
    """Starts resolving ``model_uri`` and loading its pipeline on a thread of its own, for ``load_pipeline`` to take.

    `jido score` first starts Prefect's temporary API server: about 6 s on
    the 2-core machine, half of it waiting for the server to answer. Loading
    the model took about as long (importing skops alone took 3.7 s before
    ``import_skops`` kept torch out of it). Loading while
    the server starts overlaps the two. A version resolved differently by
    then (the alias moved) is loaded again; an error is left for the flow's
    own load to report.
    """
    future: Future = Future()

    def load() -> None:
        try:
            ref = resolve_model(model_uri, tracking_uri)
            future.set_result((ref, _read_pipeline(ref, tracking_uri)))
        except BaseException as error:  # noqa: BLE001 - handed to the taker, which loads again
            future.set_exception(error)

    with _PREFETCH_LOCK:
        _PREFETCHED[tracking_uri] = future
    # A daemon thread: a run that fails before loading the model exits without waiting for it.
    threading.Thread(target=load, name="jido-prefetch-model", daemon=True).start()


def champion(model_name: str, tracking_uri: str) -> ModelRef | None:
    """The version that holds the champion alias, if any."""
    try:
        return resolve_model(f"models:/{model_name}@{CHAMPION_ALIAS}", tracking_uri)
    except JidoError:
        return None


def set_champion(ref: ModelRef, tracking_uri: str) -> None:
    """Moves the champion alias to ``ref``."""
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri).set_registered_model_alias(ref.name, CHAMPION_ALIAS, ref.version)


def list_models(tracking_uri: str) -> list[dict]:
    """Every registered version with its aliases and recorded metric, newest first per model."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    rows = []
    for model in client.search_registered_models():
        aliases_by_version: dict[str, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases_by_version.setdefault(str(version), []).append(alias)
        versions = client.search_model_versions(f"name='{model.name}'")
        for version in sorted(versions, key=lambda v: int(v.version), reverse=True):
            tags = version.tags or {}
            rows.append(
                {
                    "name": model.name,
                    "version": str(version.version),
                    "aliases": ",".join(sorted(aliases_by_version.get(str(version.version), []))),
                    "metric": tags.get("jido.metric_name", ""),
                    "value": tags.get("jido.metric_value", ""),
                    "model": tags.get("jido.model_name", ""),
                    "created": pd.Timestamp(version.creation_timestamp, unit="ms").strftime("%Y-%m-%d %H:%M"),
                }
            )
    return rows
