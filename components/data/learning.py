"""A training table taken apart into features and target, with the checks every task type shares."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from components.errors import JidoError, at_most


@dataclass(frozen=True)
class LearningData:
    """Features and target, checked to be learnable.

    Attributes:
        n_dropped_rows: Rows left out because their target was empty.
        classes: The target's classes, for a task type with classes; else None.
    """

    X: pd.DataFrame
    y: pd.Series
    n_dropped_rows: int
    classes: tuple | None


def features_and_target(
    frame: pd.DataFrame, target_column: str, ignore_columns: list[str] | tuple = (), role: str = "training_data"
) -> tuple[pd.DataFrame, pd.Series, int]:
    """Separates the target from the features and drops rows without one: ``(X, y, rows dropped)``.

    The target's own checks (classes, numbers) are the task type's (see ``Problem.check_target``).

    Raises:
        JidoError: the target or an ignored column is missing, the target is empty, or a feature column is entirely
            empty.
    """
    if target_column not in frame.columns:
        columns = ", ".join(at_most([str(c) for c in frame.columns], 30))
        raise JidoError(f"target_column {target_column!r} is not a column of {role}; columns are: {columns}")
    missing_ignored = [c for c in ignore_columns if c not in frame.columns]
    if missing_ignored:
        raise JidoError(f"ignore_columns names columns that {role} does not have: {', '.join(missing_ignored)}")
    y = frame[target_column]
    known = y.notna()
    if not known.any():
        raise JidoError(
            f"target_column {target_column!r} in {role} has no values (all null); fill it or pick another target"
        )
    X = frame.loc[known].drop(columns=[target_column, *ignore_columns]).reset_index(drop=True)
    y = y[known].reset_index(drop=True)
    if X.shape[1] == 0:
        raise JidoError(f"{role} has no feature columns besides the target {target_column!r}")
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise JidoError(
            f"{role}: column(s) {', '.join(map(repr, empty))} are entirely empty (all null); "
            "remove them from the file or list them under ignore_columns"
        )
    return X, y, int((~known).sum())
