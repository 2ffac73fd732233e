"""Features for gradient boosters that split on categories and missing values themselves.

LightGBM and XGBoost each take a pandas categorical column and search splits
over its categories, and route missing values down the better side of each
split. One-hot encoding (at most 30 columns per categorical, the rest merged)
and median imputation throw both abilities away: on modeldata/ames (40
categorical columns, many with missing values) keeping the columns native
raised both boosters' R² and halved their fit time (benchmarks/automl_vs_flaml.py --extra).

scikit-learn's HistGradientBoosting splits on categories too, but once fitted
on categoricals it takes only a frame of them, and its own pandas handling
costs milliseconds a one-row call: it keeps ``AutoFeaturizer``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from components.data.values import is_text_categorical
from components.features.auto import AutoFeaturizer
from components.features.columns import DatetimeParts, NumericCoercer, profile_table
from components.features.records import Records, row_tables


class NativeFeaturizer(BaseEstimator, TransformerMixin):
    """Numbers and categories for a booster that handles both itself.

    Numeric columns become floats with missing values left missing. Each
    categorical column keeps its most frequent training values as categories
    (at most ``max_categories``); rarer and unseen values read as missing.
    ``fit_transform`` gives the training rows as a frame of pandas
    categoricals, from which the booster learns which features are
    categories; ``transform`` gives any rows as a float array of the same
    category codes, which the booster reads alike and faster.

    Datetimes expand into parts, as ``AutoFeaturizer`` expands them. Free text
    needs a sparse TF-IDF matrix that a frame of categories cannot hold, so a
    table with a text column is featurized by an ``AutoFeaturizer`` instead
    (fitted as ``encoded_``).

    Args:
        max_categories: Categories kept per categorical column.
        sparse_output: Whether the ``AutoFeaturizer`` used for a table with text may give sparse output.
    """

    def __init__(self, max_categories: int = 255, sparse_output: bool = True):
        self.max_categories = max_categories
        self.sparse_output = sparse_output

    def fit(self, X: pd.DataFrame, y=None):
        self._build(X, y)
        if self.encoded_ is not None:
            self.encoded_.fit(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        """Fits and returns the training rows' features as a frame whose categorical columns are pandas categoricals.

        The booster learns from these dtypes which features are categories.
        ``transform`` gives the same values as category codes in a float
        array (see there). A text table's target encodings are cross-fitted,
        as ``AutoFeaturizer`` does.
        """
        self._build(X, y)
        if self.encoded_ is not None:
            return self.encoded_.fit_transform(X, y)
        return _codes_frame(
            self.transform(X), dict(zip(self.categorical_positions_, self.categories_.values())), pd.DataFrame(X).index
        )

    def _build(self, X: pd.DataFrame, y) -> None:
        if self.max_categories < 1:
            raise ValueError(f"max_categories must be at least 1; got {self.max_categories!r}")
        self.profiles_ = profile_table(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if any(p.kind == "text" for p in self.profiles_):
            self.encoded_ = AutoFeaturizer(sparse_output=self.sparse_output)
            return
        self.encoded_ = None
        kinds = {p.name: p.kind for p in self.profiles_}
        self.numeric_ = [c for c, kind in kinds.items() if kind == "numeric"]
        self.datetime_ = [c for c, kind in kinds.items() if kind == "datetime"]
        self.categories_ = {
            c: X[c].dropna().astype("string").value_counts().index[: self.max_categories].sort_values().tolist()
            for c, kind in kinds.items()
            if kind == "categorical"
        }
        if not (self.numeric_ or self.datetime_ or self.categories_):
            raise ValueError("no usable feature columns: every column was dropped during featurization")
        self.datetime_parts_ = DatetimeParts().fit(X[self.datetime_]) if self.datetime_ else None
        parts = list(self.datetime_parts_.get_feature_names_out()) if self.datetime_parts_ is not None else []
        self.feature_names_out_ = [*self.numeric_, *self.categories_, *parts]
        self.categorical_positions_ = list(range(len(self.numeric_), len(self.numeric_) + len(self.categories_)))

    def transform(self, X):
        """The features as a float array: numbers (missing kept), each category as its code among the training
        categories.

        A missing, rare or unseen category is NaN. The codes are the ones the
        booster learned from ``fit_transform``'s categoricals, so LightGBM and
        XGBoost predict from this array exactly as from that frame, without
        the per-call cost of their pandas handling (2-2.5 ms a call, most of
        a one-row request; measured on modeldata/mlc_churn).
        """
        check_is_fitted(self, "profiles_")
        if self.encoded_ is not None:
            return self.encoded_.transform(X)
        if isinstance(X, Records):  # a request's rows: read directly when their values allow
            features = self._from_records(X.rows) if self.datetime_parts_ is None else None
            if features is not None:
                return features
            X = X.frame()
        X = pd.DataFrame(X)
        blocks: list[np.ndarray] = []
        if self.numeric_:
            blocks.append(NumericCoercer().fit_transform(X[self.numeric_]))
        for column, categories in self.categories_.items():
            blocks.append(_codes(X[column], categories)[:, None])
        if self.datetime_parts_ is not None:
            blocks.append(self.datetime_parts_.transform(X[self.datetime_]))
        return np.hstack(blocks) if blocks else np.empty((len(X), 0))

    def reads_records(self) -> bool:
        """Whether ``transform`` reads :class:`Records` without building a frame for them (no datetimes; text goes to
        ``encoded_``)."""
        check_is_fitted(self, "profiles_")
        if self.encoded_ is not None:
            return row_tables(self.encoded_) is not None
        return self.datetime_parts_ is None

    def _from_records(self, rows) -> np.ndarray | None:
        """The features of a request's rows, as ``transform`` computes them from a frame; None for a value only pandas
        reads alike.

        Numbers are taken as they are; a string in a numeric column goes the
        pandas way, which parses it as ``NumericCoercer`` does.
        """
        features = np.full((len(rows), len(self.feature_names_out_)), np.nan)
        lookups = [(column, _positions(categories)) for column, categories in self.categories_.items()]
        for i, row in enumerate(rows):
            for j, column in enumerate(self.numeric_):
                value = row.get(column)
                if isinstance(value, Real):
                    features[i, j] = float(value)
                elif value is not None:
                    return None
            for k, (column, position) in enumerate(lookups, start=len(self.numeric_)):
                value = row.get(column)
                if not isinstance(value, (str, Real, type(None))):
                    return None
                features[i, k] = _code(value, position)
        return features

    def used_columns(self) -> list[str]:
        """The input columns transform reads (dropped ones, such as identifiers, may be absent)."""
        check_is_fitted(self, "profiles_")
        return [p.name for p in self.profiles_ if p.kind != "dropped"]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "profiles_")
        if self.encoded_ is not None:
            return self.encoded_.get_feature_names_out()
        return np.asarray(self.feature_names_out_, dtype=object)


# Up to this many rows, codes are looked up value by value: building a pandas categorical costs ~1 ms a column,
# most of a one-row request.
_LOOKUP_ROWS = 64


def _positions(categories: list[str]) -> dict[str, float]:
    return {category: float(i) for i, category in enumerate(categories)}


def _code(value, position: dict[str, float]) -> float:
    """One value's code (compared as text, as ``astype("string")`` writes it), NaN for a missing or unknown one."""
    if pd.isna(value):
        return np.nan
    return position.get(value if isinstance(value, str) else str(value), np.nan)


def _codes(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Each value's position among ``categories`` (compared as text), NaN for a missing or unknown one."""
    if len(values) <= _LOOKUP_ROWS:
        position = _positions(categories)
        return np.array([_code(v, position) for v in values], dtype=float)
    if is_text_categorical(
        values
    ):  # read from a file's dictionary (components.data.inputs.read_batches): recoded, not rehashed
        codes = values.cat.set_categories(categories).cat.codes.to_numpy().astype(float)
        codes[codes < 0] = np.nan
        return codes
    if not isinstance(values.dtype, pd.StringDtype):  # numbers or mixed objects: compared as their text
        values = values.astype("string")
    codes = pd.Categorical(values, categories=categories).codes.astype(float)
    codes[codes < 0] = np.nan
    return codes


def _codes_frame(features: np.ndarray, categories: dict[int, list], index=None) -> pd.DataFrame:
    """``features`` as a frame whose columns at the positions in ``categories`` are pandas categoricals of those
    categories (codes NaN: missing)."""
    # Positional column labels: scikit-learn then records no feature names, so predicting from the array warns of none.
    frame = pd.DataFrame(features, index=index)
    for j, values in categories.items():
        codes = np.nan_to_num(features[:, j], nan=-1).astype(np.int64)
        frame[j] = pd.Categorical.from_codes(codes, categories=values)
    return frame


def like_training_frame(features, training: object):
    """``transform``'s array of codes as the frame ``fit_transform`` gave for ``training`` (same categoricals); other
    input as it is.

    For a booster that reads categories from a frame's dtypes and checks that
    its validation rows come the same way (XGBoost).
    """
    if not isinstance(training, pd.DataFrame) or isinstance(features, pd.DataFrame):
        return features
    categoricals = {
        j: dtype.categories for j, dtype in enumerate(training.dtypes) if isinstance(dtype, pd.CategoricalDtype)
    }
    return _codes_frame(np.asarray(features, dtype=float), categoricals)


def category_codes(frame: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """A frame of numbers and pandas categoricals as a float array (each category its code, NaN for missing), and the
    categoricals' positions."""
    positions = [j for j, dtype in enumerate(frame.dtypes) if isinstance(dtype, pd.CategoricalDtype)]
    columns = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j]
        if j in positions:
            codes = values.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(values.to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns) if columns else np.empty((len(frame), 0)), positions
