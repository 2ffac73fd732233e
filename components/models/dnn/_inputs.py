"""The featurizer in front of a deep text model: the text itself, plus the table's other columns as numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from components.features.auto import AutoFeaturizer
from components.features.columns import profile_table

TEXT_FEATURE = "__text__"
_JOINER = " | "


def split_inputs(X: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """A featurized frame's texts, and its tabular features as a float32 matrix (possibly with no columns)."""
    texts = X[TEXT_FEATURE].tolist()
    tabular = X.drop(columns=TEXT_FEATURE).to_numpy(dtype=np.float32, copy=True)  # writable, as torch wants
    return texts, tabular


class TextTableFeaturizer(BaseEstimator, TransformerMixin):
    """Keeps the free text whole for a network and featurizes every other column for its head.

    Several text columns are joined into one text per row. The remaining columns
    go through jido's tabular featurizer (scaled, dense), so the text model's
    output and the tabular features meet in the model's classification head.

    Args:
        text_columns: The text columns; None detects them (columns profiled as free text).
    """

    def __init__(self, text_columns: list[str] | None = None):
        self.text_columns = text_columns

    def fit(self, X: pd.DataFrame, y=None):
        X = pd.DataFrame(X)
        profiles = profile_table(X)
        if self.text_columns is None:
            self.text_columns_ = [p.name for p in profiles if p.kind == "text"]
        else:
            missing = [c for c in self.text_columns if c not in X.columns]
            if missing:
                raise ValueError(
                    f"text column(s) {', '.join(map(repr, missing))} not in the data; columns: "
                    f"{', '.join(map(str, X.columns))}"
                )
            self.text_columns_ = list(self.text_columns)
        if not self.text_columns_:
            raise ValueError("no free-text column found for a deep text model; name one in text_dnn.text_columns")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        others = [p.name for p in profiles if p.name not in self.text_columns_ and p.kind not in ("dropped", "text")]
        self.tabular_columns_ = others
        self.tabular_ = AutoFeaturizer(scale_numeric=True, sparse_output=False).fit(X[others], y) if others else None
        self.n_tabular_ = self.tabular_.transform(X[others].head(1)).shape[1] if others else 0
        return self

    def used_columns(self) -> list[str]:
        """The input columns transform reads: the text, and the tabular featurizer's columns."""
        return list(self.text_columns_) + (self.tabular_.used_columns() if self.n_tabular_ else [])

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "text_columns_")
        X = pd.DataFrame(X)
        parts = [X[c].astype("string").fillna("") for c in self.text_columns_]
        text = parts[0] if len(parts) == 1 else parts[0].str.cat(parts[1:], sep=_JOINER)
        frame = pd.DataFrame({TEXT_FEATURE: text.astype(object).to_numpy()}, index=X.index)
        if self.n_tabular_:
            rows = X[self.tabular_.used_columns()]
            tabular = (
                np.asarray(self.tabular_.transform(rows), dtype=np.float32)
                if len(rows)
                else np.zeros((0, self.n_tabular_), np.float32)
            )
            frame = pd.concat(
                [frame, pd.DataFrame(tabular, index=X.index, columns=[f"f{i}" for i in range(tabular.shape[1])])],
                axis=1,
            )
        return frame
