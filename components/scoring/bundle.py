"""What scoring needs of a registered version, and what identifies one scoring run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sklearn.pipeline import Pipeline

from components.contract.contract import DataContract
from components.problems import Problem


@dataclass(frozen=True)
class ModelBundle:
    """A registered version as scoring uses it: the fitted pipeline, the data contract it keeps, and its task type.

    The task type's ``Problem`` decides what scoring writes per row.
    """

    pipeline: Pipeline
    contract: DataContract
    problem: Problem

    def required_columns(self) -> list[str]:
        return required_columns(self.pipeline)


@dataclass(frozen=True)
class ScoringRun:
    """One scoring run: the version that scores, the time stamped on every row, and how many bad rows it tolerates.

    Attributes:
        scored_at: The run's time (UTC), written on every output row.
        max_rejected_fraction: Share of input rows that may break the contract before the run fails.
    """

    model_name: str
    model_version: str
    scored_at: datetime
    max_rejected_fraction: float = 0.1

    def names(self) -> str:
        """The version as messages name it."""
        return f"{self.model_name} version {self.model_version}"


def required_columns(pipeline: Pipeline) -> list[str]:
    """The input columns the fitted pipeline reads: those it was trained on, less any its featurizer dropped."""
    featurizer = pipeline.named_steps["featurize"]
    if hasattr(featurizer, "used_columns"):
        return [str(c) for c in featurizer.used_columns()]
    return [str(c) for c in featurizer.feature_names_in_]
