"""jido's featurizer for tables: one scikit-learn transformer.

``AutoFeaturizer`` infers each column's kind when it is fitted (so it is fitted
once per trial, inside the trial's pipeline, on training rows only) and then
imputes, encodes, scales, expands datetimes and vectorises free text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from components.features.columns import (
    MISSING_CATEGORY,
    DatetimeParts,
    NumericCoercer,
    TextTfidf,
    profile_table,
    target_encoder,
)
from components.features.records import Records, row_tables


class AutoFeaturizer(BaseEstimator, TransformerMixin):
    """Infers column kinds at fit time and builds the matching transformations.

    Categorical columns with at most ``max_categories`` distinct training
    values are one-hot encoded; those with more are target encoded
    (scikit-learn's ``TargetEncoder``: each category becomes the smoothed mean
    of the target, per class for several classes), so a column of hundreds
    of categories costs a few features rather than hundreds. Fitted with
    ``fit_transform``, as a pipeline fits it, the training rows get
    cross-fitted encodings, so no row sees its own target.

    Args:
        scale_numeric: Standardise numeric features (for linear models, SVMs, k-NN).
        sparse_output: Allow a sparse result (one-hot and TF-IDF stay sparse).
        max_categories: One-hot columns at most per categorical column; a column with more distinct values is target
            encoded.
        text_max_features: Vocabulary cap for each free-text column.
    """

    def __init__(
        self,
        scale_numeric: bool = False,
        sparse_output: bool = True,
        max_categories: int = 30,
        text_max_features: int = 5000,
    ):
        self.scale_numeric = scale_numeric
        self.sparse_output = sparse_output
        self.max_categories = max_categories
        self.text_max_features = text_max_features

    def fit(self, X: pd.DataFrame, y=None):
        self._build(X, y)
        self.transformer_.fit(self._as_strings(X), y)
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        """Fits and returns the training rows' features (target encodings cross-fitted, unlike ``fit`` then
        ``transform``)."""
        self._build(X, y)
        return self.transformer_.fit_transform(self._as_strings(X), y)

    def _build(self, X: pd.DataFrame, y) -> None:
        self.profiles_ = profile_table(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        by_kind: dict[str, list[str]] = {}
        for profile in self.profiles_:
            by_kind.setdefault(profile.kind, []).append(profile.name)
        transformers = []
        if by_kind.get("numeric"):
            steps = [
                ("coerce", NumericCoercer()),
                ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ]
            if self.scale_numeric:
                steps.append(("scale", StandardScaler()))
            transformers.append(("numeric", Pipeline(steps), by_kind["numeric"]))
        if by_kind.get("categorical"):
            # Missing categories are filled by _as_strings; versions registered before that carry a constant imputer
            # first.
            many = [c for c in by_kind["categorical"] if X[c].nunique(dropna=False) > self.max_categories]
            few = [c for c in by_kind["categorical"] if c not in many]
            if few:
                encode = OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=self.max_categories,
                    sparse_output=self.sparse_output,
                )
                transformers.append(("categorical", encode, few))
            if many:
                # A regression target (floats) is encoded as one mean; integer ones may be class labels ("auto"
                # decides).
                target_type = "continuous" if y is not None and pd.api.types.is_float_dtype(pd.Series(y)) else "auto"
                encode = Pipeline(
                    [("target", target_encoder(target_type))]
                    + ([("scale", StandardScaler())] if self.scale_numeric else [])
                )
                transformers.append(("high_cardinality", encode, many))
        if by_kind.get("datetime"):
            parts = Pipeline(
                [("parts", DatetimeParts()), ("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
            )
            if self.scale_numeric:
                parts.steps.append(("scale", StandardScaler()))
            transformers.append(("datetime", parts, by_kind["datetime"]))
        for column in by_kind.get("text", []):
            transformers.append((f"text_{column}", TextTfidf(self.text_max_features), [column]))
        if not transformers:
            raise ValueError("no usable feature columns: every column was dropped during featurization")
        self.transformer_ = ColumnTransformer(
            transformers, remainder="drop", sparse_threshold=1.0 if self.sparse_output else 0.0
        )

    def transform(self, X: pd.DataFrame):
        """The features of ``X``: what the fitted ColumnTransformer's ``transform`` gives, computed without its per-call
        machinery.

        ColumnTransformer.transform spends ~5 ms per call on input validation,
        metadata routing and joblib dispatch before any work: most of a
        single-row request's time in ``jido serve``. The fitted column groups
        are applied here directly, step by step, and stacked as it would
        stack them (sparse when it chose sparse output at fit time); a test
        checks both agree on every column kind.
        """
        check_is_fitted(self, "transformer_")
        if isinstance(
            X, Records
        ):  # a request's rows: looked up in tables of this featurizer's own output when their values allow
            features = tables.features(X.rows) if (tables := row_tables(self)) is not None else None
            if features is not None:
                return features
            X = X.frame()
        X = self._as_strings(X)
        blocks = []
        for _, fitted, columns in self.transformer_.transformers_:
            if isinstance(fitted, str) or len(columns) == 0:  # "drop" (the remainder)
                continue
            part = X[list(columns)]
            for step in fitted.named_steps.values() if isinstance(fitted, Pipeline) else [fitted]:
                part = step.transform(part)
            blocks.append(part)
        if self.transformer_.sparse_output_:
            return sparse.hstack(blocks, format="csr")
        return np.hstack([block.toarray() if sparse.issparse(block) else np.asarray(block) for block in blocks])

    def used_columns(self) -> list[str]:
        """The input columns transform reads (dropped ones, such as identifiers, may be absent)."""
        check_is_fitted(self, "profiles_")
        return [p.name for p in self.profiles_ if p.kind != "dropped"]

    def reads_records(self) -> bool:
        """Whether ``transform`` looks a request's :class:`Records` up in tables (every column group tabulates: no
        datetimes, no text)."""
        check_is_fitted(self, "transformer_")
        return row_tables(self) is not None

    def _as_strings(self, X: pd.DataFrame) -> pd.DataFrame:
        """Casts categorical columns to object dtype so encoders see plain values, with ``MISSING_CATEGORY`` for a
        missing one."""
        X = pd.DataFrame(X)
        categorical = [p.name for p in self.profiles_ if p.kind == "categorical" and p.name in X.columns]
        if categorical:
            X = X.copy()
            for column in categorical:
                values = X[column]
                if (
                    isinstance(values.dtype, pd.StringDtype) and values.dtype.na_value is np.nan
                ):  # pandas' default str: one cast
                    X[column] = values.fillna(MISSING_CATEGORY).astype(object)
                else:
                    X[column] = values.astype("string").fillna(MISSING_CATEGORY).astype(object)
        return X

    def get_feature_names_out(self, input_features=None):
        return self.transformer_.get_feature_names_out()


class NumericPassthrough(BaseEstimator, TransformerMixin):
    """``featurization: off``: the feature columns as they are, as floats, for users who bring their own features.

    No imputation, encoding or scaling: a model that cannot take missing
    values fails its trial on them, with scikit-learn's message.
    """

    def fit(self, X: pd.DataFrame, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "feature_names_in_")
        return pd.DataFrame(X)[list(self.feature_names_in_)].to_numpy(dtype=float, na_value=np.nan)

    def used_columns(self) -> list[str]:
        check_is_fitted(self, "feature_names_in_")
        return [str(c) for c in self.feature_names_in_]

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_
