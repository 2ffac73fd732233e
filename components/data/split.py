"""How trials are validated: holdout or k-fold folds over the training rows, or a separate validation table."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from components.errors import JidoError


@dataclass(frozen=True)
class SplitPlan:
    """How trials are validated: a list of (train rows, validation rows) folds.

    A holdout is one fold; k-fold cross-validation is k folds. The rows index
    the concatenation of the training and (optional) separate validation data.
    """

    method: Literal["holdout", "validation_data", "cross_validation"]
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(self.folds)

    def describe(self) -> str:
        n_valid = sum(len(v) for _, v in self.folds)
        if self.method == "cross_validation":
            return f"{len(self.folds)}-fold cross-validation"
        return f"{self.method} ({n_valid} validation rows)"

    def validation_rows(self) -> np.ndarray:
        """Every fold's validation rows, fold after fold: the order in which trials keep their validation
        predictions."""
        return np.concatenate([rows for _, rows in self.folds])

    def fold_sizes(self) -> list[int]:
        """How many validation rows each fold has."""
        return [len(rows) for _, rows in self.folds]


def plan_split(
    y: pd.Series,
    seed: int,
    validation_size: float | None = None,
    n_cross_validations: int | None = None,
    n_validation_rows: int = 0,
    stratify: bool = False,
) -> SplitPlan:
    """Chooses the validation rows.

    With no choice given, follows Azure's defaults: under 1,000 rows 10-fold
    cross-validation, up to 20,000 rows 3-fold, above that a 10% holdout.
    ``n_validation_rows`` > 0 means the last rows of ``y`` are a separate
    validation table. With ``stratify``, folds and holdouts keep each class's
    share of ``y`` (k-fold only where every class has a row per fold).

    Raises:
        JidoError: the rows cannot be split so.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n_rows = len(y)
    if n_validation_rows:
        rows = np.arange(n_rows)
        return SplitPlan("validation_data", ((rows[: n_rows - n_validation_rows], rows[n_rows - n_validation_rows :]),))
    if validation_size is None and n_cross_validations is None:
        if n_rows < 1000:
            n_cross_validations = 10
        elif n_rows <= 20000:
            n_cross_validations = 3
        else:
            validation_size = 0.1
    if n_cross_validations is not None:
        if n_cross_validations > n_rows:
            raise JidoError(f"n_cross_validations={n_cross_validations} exceeds the {n_rows} training rows")
        if stratify and y.value_counts().min() >= n_cross_validations:
            splitter = StratifiedKFold(n_cross_validations, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_cross_validations, shuffle=True, random_state=seed)
        folds = tuple((train, valid) for train, valid in splitter.split(np.zeros(n_rows), y))
        return SplitPlan("cross_validation", folds)
    rows = np.arange(n_rows)
    try:
        train, valid = train_test_split(
            rows, test_size=validation_size, random_state=seed, stratify=y if stratify else None
        )
    except ValueError as error:
        raise JidoError(f"validation_size={validation_size} cannot split {n_rows} rows: {error}") from None
    return SplitPlan("holdout", ((np.sort(train), np.sort(valid)),))
