"""The values the training flow's tasks hand each other, in one module so that no task imports another for a type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from components.data.split import SplitPlan
from components.experiment.leaderboard import Leaderboard
from components.features.columns import ColumnProfile
from components.registry.models import ModelRef


@dataclass(frozen=True)
class ExperimentData:
    """Features, target and validation plan of one experiment."""

    X: pd.DataFrame
    y: pd.Series
    plan: SplitPlan
    data_hash: str
    profiles: tuple[ColumnProfile, ...]


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep leaves: every trial's result, and the best trial's own pipeline when registering it spares a refit.

    Attributes:
        board: Every trial, ranked.
        trained_best: The best trial's fitted pipeline when it is a deep model
            validated on a holdout (a refit would repeat its whole training); else None.
        predictions: The validation predictions of the best completed tabular
            trials (see ``components.experiment.trial.TrialOutput``), by iteration: the
            candidates of ensemble selection and of the tie-break for the best.
        ensemble: The unfitted voting ensemble, when ensemble selection chose
            one (its row on the board is then the best).
    """

    board: Leaderboard
    trained_best: Any = None
    predictions: dict[int, Any] = field(default_factory=dict)
    ensemble: Any = None


@dataclass(frozen=True)
class RegisterOutcome:
    """What registration did."""

    registered_uri: str
    champion_uri: str
    champion_version: str
    promoted: bool
    metric_name: str
    candidate_metric: float
    champion_metric: float
    registered: ModelRef | None = None
    pipeline: Any = field(default=None, repr=False, compare=False)
