"""The MLflow model registry: log a pipeline as one model, resolve and load versions, move the champion alias."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd
from sklearn.pipeline import Pipeline

from components.errors import JidoError
from components.problems import PROBLEMS, Problem
from components.registry.skops import REVIEWED_TRUSTED_TYPES, import_skops, legacy_modules

CHAMPION_ALIAS = "champion"
_MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")
# The version tag that names the task type a version learned (every version jido registered has it).
TASK_TAG = "jido.task"


def champion_uri(model_name: str) -> str:
    """``models:/NAME@champion``: what scoring deployments are bound to."""
    return f"models:/{model_name}@{CHAMPION_ALIAS}"


@dataclass(frozen=True)
class ModelRef:
    """A registered model version.

    Attributes:
        task: The task type it learned (its ``jido.task`` tag); None for a version jido did not register.
    """

    name: str
    version: str
    run_id: str | None = None
    task: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def _requirements(pipeline: Pipeline) -> list[str]:
    from importlib.metadata import version

    packages = ["scikit-learn", "skops", "pandas", "numpy", "scipy"]
    if _holds_deep_model(pipeline):
        packages += ["torch", "transformers", "tokenizers", "safetensors"]
    packages += _booster_distributions(_held_packages(pipeline))
    return [f"{package}=={version(package)}" for package in packages]


def _held_packages(estimator: object) -> set[str]:
    """The top-level packages of every estimator ``estimator`` holds, itself included (pipeline steps, ensemble members,
    wrapped models)."""
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
        elif isinstance(item, BaseEstimator) or hasattr(
            item, "get_params"
        ):  # CatBoost's estimators are not BaseEstimators
            # Every class it derives from: jido's LightGBM and CatBoost estimators live in jido's modules.
            found.update(cls.__module__.split(".")[0] for cls in type(item).__mro__)
            if isinstance(item, BaseEstimator):
                pending.extend(vars(item).values())
    return found


# The distributions that may provide each booster's module (XGBoost also ships as xgboost-cpu).
_BOOSTER_DISTRIBUTIONS = {"catboost": ("catboost",), "lightgbm": ("lightgbm",), "xgboost": ("xgboost", "xgboost-cpu")}


def _booster_distributions(held: set[str]) -> list[str]:
    """The installed distributions (``xgboost`` or ``xgboost-cpu``, ``lightgbm``, ``catboost``) of the packages a
    pipeline holds.

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

    import_skops()  # before MLflow imports it, and torch with it (see components.registry.skops)
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
        found = (
            client.get_model_version_by_alias(name, match["alias"])
            if match["alias"]
            else client.get_model_version(name, match["version"])
        )
    except MlflowException:
        raise JidoError(
            f"no registered model version for {model_uri!r} in {tracking_uri}; `jido models` lists what is registered"
        ) from None
    return ModelRef(found.name, str(found.version), found.run_id, (found.tags or {}).get(TASK_TAG))


def load_pipeline(ref: ModelRef, tracking_uri: str) -> Pipeline:
    """Loads a registered version's fitted pipeline (one registered under jido's former module paths too)."""
    import mlflow

    import_skops()  # before MLflow imports it, and torch with it (see components.registry.skops)
    legacy_modules()
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.sklearn.load_model(ref.uri)


def problem_of(ref: ModelRef) -> Problem:
    """The task type a registered version learned, which decides what scoring writes for it.

    Raises:
        JidoError: the version has no task type jido knows (it was not registered by jido).
    """
    if ref.task not in PROBLEMS:
        raise JidoError(
            f"{ref.uri} has no {TASK_TAG} tag naming a task type jido knows (found {ref.task!r}; known: "
            f"{', '.join(PROBLEMS)}); "
            "jido scores the versions it registered"
        )
    return PROBLEMS[ref.task]


def champion(model_name: str, tracking_uri: str) -> ModelRef | None:
    """The version that holds the champion alias, if any."""
    try:
        return resolve_model(champion_uri(model_name), tracking_uri)
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
