"""Regression of a numeric target from table rows."""

from __future__ import annotations

import pandas as pd

from components.errors import JidoError
from components.problems._base import Problem


class Regression(Problem):
    """A number per row; trials keep predicted values, scoring writes one ``prediction``."""

    name = "regression"
    default_metric = "spearman_correlation"

    def check_target(self, y: pd.Series, target_column: str) -> tuple[pd.Series, None]:
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.isna().any():
            bad = y[numeric.isna()].iloc[0]
            raise JidoError(
                f"target_column {target_column!r} must be numeric for regression; found {bad!r}. Use task: "
                "classification for labels"
            )
        if numeric.nunique() < 2:
            raise JidoError(f"target_column {target_column!r} is constant; there is nothing to learn")
        return numeric.astype(float), None
