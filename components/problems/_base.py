"""What every task type provides: the contract a ``Problem`` keeps with the rest of jido."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from components.data.learning import LearningData, features_and_target
from components.data.split import SplitPlan, plan_split
from components.evaluate.metrics import Metric, metric_names

if TYPE_CHECKING:
    from components.contract.contract import DataContract
    from components.features.columns import ColumnProfile


@dataclass(frozen=True)
class Prediction:
    """What a fitted pipeline predicted for some rows, as scoring writes it.

    Attributes:
        values: One prediction per row (a label, or a value).
        probabilities: An (n, n_classes) matrix for a problem with classes, columns in ``classes`` order; else None.
        classes: The pipeline's classes, for a problem with classes.
    """

    values: Any
    probabilities: np.ndarray | None = None
    classes: tuple = ()


class Problem(ABC):
    """One task type: how its data is read, checked and split, what a trial hands back, and what scoring writes.

    A problem is stateless: one instance per task type lives in the registry
    (``components.problems.PROBLEMS``) and travels with trials to Dask workers.
    Model families and metrics declare the task types they serve in their own
    registries; a problem never lists them.

    Attributes:
        name: The spec's ``task`` value.
        default_metric: The primary metric when the spec names none.
        has_classes: Whether the target is a label among classes: stratified
            splits, class probabilities, class weights, prediction counts.
        ensembles: Whether ensemble selection applies after the sweep.
        explanations: Whether the registered model is explained.
        breaks_ties: Whether ``tiebreak`` can separate trials the primary
            metric ties (trials then keep their validation predictions for it).
    """

    name: ClassVar[str]
    default_metric: ClassVar[str]
    has_classes: ClassVar[bool] = False
    ensembles: ClassVar[bool] = True
    explanations: ClassVar[bool] = True
    breaks_ties: ClassVar[bool] = False

    def metric_names(self) -> list[str]:
        """The primary metrics this task type allows, in the metrics table's order."""
        return metric_names(self.name)

    # Data ----------------------------------------------------------------

    def learning_data(
        self, frame: pd.DataFrame, target_column: str, ignore_columns=(), role: str = "training_data"
    ) -> LearningData:
        """Features and target of a training (or validation) table, checked to be learnable for this task type.

        Raises:
            JidoError: a column is missing or unusable, or the target does not fit the task type.
        """
        X, y, n_dropped = features_and_target(frame, target_column, ignore_columns, role)
        y, classes = self.check_target(y, target_column)
        return LearningData(X=X, y=y, n_dropped_rows=n_dropped, classes=classes)

    @abstractmethod
    def check_target(self, y: pd.Series, target_column: str) -> tuple[pd.Series, tuple | None]:
        """The target as trials take it, and its classes (None without classes).

        Raises:
            JidoError: the target cannot be learned as this task type.
        """

    def plan_split(
        self,
        y: pd.Series,
        seed: int,
        validation_size: float | None = None,
        n_cross_validations: int | None = None,
        n_validation_rows: int = 0,
    ) -> SplitPlan:
        """How trials are validated: holdout or k-fold (Azure's defaults by size), or the separate validation rows at
        the end of ``y``."""
        return plan_split(y, seed, validation_size, n_cross_validations, n_validation_rows, stratify=self.stratifies(y))

    def stratifies(self, y: pd.Series) -> bool:
        """Whether splits keep each class's share (a problem with classes, every class with two rows or more)."""
        return False

    def classes(self, y: pd.Series) -> np.ndarray | None:
        """The sorted classes of a target: the columns of kept probabilities; None without classes."""
        return None

    def learn_contract(
        self, X: pd.DataFrame, profiles: list[ColumnProfile] | tuple[ColumnProfile, ...]
    ) -> DataContract:
        """The data contract a registered version keeps: what its training features looked like."""
        from components.contract.contract import learn_contract

        return learn_contract(X, profiles)

    # What a trial hands back -----------------------------------------------

    def validation_predictions(self, pipeline, X: pd.DataFrame, classes: np.ndarray | None) -> np.ndarray:
        """What a trial keeps of its validation rows: what the metrics and ensemble selection take."""
        return np.asarray(pipeline.predict(X))

    def metric_input(self, metric: Metric, predictions: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
        """Kept predictions as ``metric.score`` takes them."""
        return predictions

    def score(self, metric: Metric, y_true: np.ndarray, predictions: np.ndarray, classes: np.ndarray | None) -> float:
        """The metric of kept predictions.

        Raises:
            ValueError: the metric needs class probabilities and the predictions are labels.
        """
        if metric.needs_proba and predictions.ndim != 2:
            raise ValueError(f"{metric.name} needs class probabilities; this model gives labels only")
        return metric.score(y_true, self.metric_input(metric, predictions, classes), classes)

    def tiebreak(
        self, metric: Metric, y_true: np.ndarray, predictions: np.ndarray, classes: np.ndarray | None
    ) -> float:
        """What separates predictions the primary metric ties (higher is better); 0 where nothing does."""
        return 0.0

    def averages(self, predictions: np.ndarray) -> bool:
        """Whether kept predictions can be averaged into an ensemble's."""
        return True

    # What scoring writes ---------------------------------------------------

    def predict(self, pipeline, X) -> Prediction:
        """The fitted pipeline's predictions of ``X`` (a frame, or a request's records)."""
        return Prediction(np.asarray(pipeline.predict(X)))

    def output_columns(self, prediction: Prediction, index: pd.Index) -> dict[str, Any]:
        """The columns batch scoring adds to each input row, by name."""
        return {"prediction": prediction.values}

    def records(self, prediction: Prediction) -> list[dict[str, Any]]:
        """What online scoring answers for each row."""
        return [{"prediction": value} for value in np.asarray(prediction.values).tolist()]
