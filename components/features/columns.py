"""Columns: how each one is profiled (number, category, date, text, dropped), and the transformers of one column
kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import TargetEncoder
from sklearn.utils.validation import check_is_fitted

ColumnKind = Literal["numeric", "categorical", "datetime", "text", "dropped"]

# Thresholds for type inference. A string column is numeric or datetime when
# nearly all its non-null values parse as such; it is free text when its values
# are mostly distinct and hold several words; an all-distinct short string
# column is an identifier and carries no signal a model could generalise from.
_PARSE_SHARE = 0.95
_TEXT_MIN_WORDS = 3.0
_TEXT_MIN_DISTINCT_SHARE = 0.3
_ID_MIN_ROWS = 50
_ID_DISTINCT_SHARE = 0.95
_INFERENCE_SAMPLE = 2000


@dataclass(frozen=True)
class ColumnProfile:
    """What featurization decided for one column, and why."""

    name: str
    kind: ColumnKind
    reason: str


def is_string_like(series: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(series)
        or pd.api.types.is_string_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _parse_share(parsed: pd.Series, original: pd.Series) -> float:
    non_null = original.notna().sum()
    return float(parsed.notna().sum()) / non_null if non_null else 0.0


def to_datetime(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return pd.to_datetime(series.astype("string"), errors="coerce", format="mixed", utc=True).dt.tz_localize(None)


def profile_column(series: pd.Series) -> ColumnProfile:
    """Infers how one column should be featurized."""
    name = str(series.name)
    non_null = series.dropna()
    if non_null.empty:
        return ColumnProfile(name, "dropped", "all values are null")
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        if non_null.nunique() == 1:
            return ColumnProfile(name, "dropped", "a single value")
        return ColumnProfile(name, "numeric", f"{series.dtype} values")
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnProfile(name, "datetime", f"{series.dtype} values")
    sample = non_null.astype("string").head(_INFERENCE_SAMPLE)
    if _parse_share(pd.to_numeric(sample, errors="coerce"), sample) >= _PARSE_SHARE:
        return ColumnProfile(name, "numeric", "strings that parse as numbers")
    if _parse_share(to_datetime(sample), sample) >= _PARSE_SHARE:
        return ColumnProfile(name, "datetime", "strings that parse as dates")
    n_distinct = non_null.nunique()
    if n_distinct == 1:
        return ColumnProfile(name, "dropped", "a single value")
    distinct_share = n_distinct / len(non_null)
    mean_words = float(sample.str.split().str.len().mean())
    if mean_words >= _TEXT_MIN_WORDS and distinct_share >= _TEXT_MIN_DISTINCT_SHARE:
        return ColumnProfile(name, "text", f"free text, {mean_words:.1f} words on average")
    if len(non_null) >= _ID_MIN_ROWS and distinct_share >= _ID_DISTINCT_SHARE:
        return ColumnProfile(name, "dropped", "an identifier (almost every value distinct)")
    return ColumnProfile(name, "categorical", f"{n_distinct} distinct values")


def profile_table(X: pd.DataFrame) -> list[ColumnProfile]:
    """Profiles every column of ``X``."""
    return [profile_column(X[column]) for column in X.columns]


def target_encoder(target_type: str) -> TargetEncoder:
    """A target encoder whose cross-fitting shuffles the same way every time (seed 0).

    scikit-learn 1.9 takes the shuffling as a splitter in ``cv`` (``random_state`` is deprecated there); earlier
    versions take ``random_state``.
    """
    import sklearn
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.utils.fixes import parse_version

    if parse_version(sklearn.__version__).release < (1, 9):
        return TargetEncoder(target_type=target_type, random_state=0)
    splitter = KFold if target_type == "continuous" else StratifiedKFold
    return TargetEncoder(target_type=target_type, cv=splitter(5, shuffle=True, random_state=0))


class NumericCoercer(BaseEstimator, TransformerMixin):
    """Turns numbers stored as strings (or booleans) into floats; anything unparseable becomes NaN."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        if not any(
            is_string_like(frame[c]) for c in frame.columns
        ):  # numbers and booleans: one conversion, not one per column
            return frame.to_numpy(dtype=float, na_value=np.nan)
        return np.column_stack(
            [
                pd.to_numeric(
                    frame[c].astype("string") if is_string_like(frame[c]) else frame[c].astype(float), errors="coerce"
                )
                for c in frame.columns
            ]
        ).astype(float)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


class DatetimeParts(BaseEstimator, TransformerMixin):
    """Expands datetime columns into year, month, day, weekday, hour and minute."""

    _PARTS = ("year", "month", "day", "day_of_week", "hour", "minute")

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(pd.DataFrame(X).columns, dtype=object)
        return self

    def transform(self, X):
        frame = pd.DataFrame(X)
        blocks = []
        for column in frame.columns:
            parsed = to_datetime(frame[column])
            blocks.append(
                np.column_stack(
                    [getattr(parsed.dt, part).to_numpy(dtype=float, na_value=np.nan) for part in self._PARTS]
                )
            )
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"{c}_{p}" for c in self.feature_names_in_ for p in self._PARTS], dtype=object)


class TextTfidf(BaseEstimator, TransformerMixin):
    """TF-IDF of one free-text column, with missing text read as empty."""

    def __init__(self, max_features: int = 5000):
        self.max_features = max_features

    def fit(self, X, y=None):
        self.vectorizer_ = TfidfVectorizer(max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
        self.vectorizer_.fit(self._as_text(X))
        return self

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        return self.vectorizer_.transform(self._as_text(X))

    @staticmethod
    def _as_text(X) -> list[str]:
        column = pd.DataFrame(X).iloc[:, 0]
        return column.astype("string").fillna("").tolist()

    def get_feature_names_out(self, input_features=None):
        return self.vectorizer_.get_feature_names_out()


# What a missing categorical value is encoded as: a category of its own.
MISSING_CATEGORY = "__missing__"
