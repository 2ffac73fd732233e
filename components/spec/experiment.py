"""The experiment spec itself: one pydantic model, the training flow's parameter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.evaluate.metrics import METRICS
from components.problems import Problem, TaskType, get_problem
from components.spec.sections import Compute, Limits, Retraining, Scoring, Sweep, TextDnn, _Strict

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


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
