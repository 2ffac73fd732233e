"""CatBoost estimators that read ``NativeFeaturizer``'s output: a frame of categoricals to train, float codes after.

CatBoost takes a categorical feature only as integers or strings, never as
the float codes (NaN for missing) that ``NativeFeaturizer.transform`` gives.
These estimators turn both forms into one frame whose categorical columns are
integer codes (-1 for a missing, rare or unseen value, a category of its
own), and learn which positions are categorical from the training frame's
dtypes; the fitted model keeps those positions itself.

CatBoost also runs its own thread pool, not OpenMP, and uses every core
unless told: these run it on the threads OpenMP has here (a Dask worker's
share while a trial fits, every core in the refit, one while serving rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, CatBoostRegressor

from components.features.native import category_codes
from components.models._threads import openmp_threads, prediction_threads


def _catboost_frame(X, positions: list[int]) -> pd.DataFrame | object:
    """``X`` (float codes or numbers) as CatBoost reads it: the categorical positions as integer codes, -1 for
    missing."""
    if not positions:
        return X  # numbers only (or a sparse matrix from a text table): CatBoost reads them as they are
    values = np.asarray(X, dtype=float)
    frame = pd.DataFrame(values)
    for j in positions:
        frame[j] = np.nan_to_num(values[:, j], nan=-1).astype(np.int64)
    return frame


class _CategoryCodes:
    def fit(self, X, y, **fit_params):
        positions: list[int] = []
        if isinstance(X, pd.DataFrame):
            X, positions = category_codes(X)
        if "eval_set" in fit_params:  # validation rows for early stopping come as transform's float codes
            fit_params["eval_set"] = [
                (_catboost_frame(X_valid, positions), y_valid) for X_valid, y_valid in fit_params["eval_set"]
            ]
        # Unset (CatBoost's every core), the thread count is OpenMP's here for this fit, and unset again after, so
        # clones
        # match. Through CatBoost's own parameter dict: its set_params refuses a model already fitted.
        params = self._init_params
        requested = params.get("thread_count", -1)
        params["thread_count"] = openmp_threads() if requested == -1 else requested
        try:
            return super().fit(_catboost_frame(X, positions), y, cat_features=positions or None, **fit_params)
        finally:
            if requested == -1:
                del params["thread_count"]
            else:
                params["thread_count"] = requested

    def _features(self, X):
        return _catboost_frame(X, list(self.get_cat_feature_indices()))

    def _threads(self, X) -> int:
        return prediction_threads(X.shape[0])


class CategoryCodesClassifier(_CategoryCodes, CatBoostClassifier):
    """``CatBoostClassifier`` that trains on a frame of categoricals and predicts from their float codes."""

    def predict_proba(self, X, *args, **kwargs):
        kwargs.setdefault("thread_count", self._threads(X))
        return super().predict_proba(self._features(X), *args, **kwargs)

    def predict(self, X, *args, **kwargs):
        kwargs.setdefault("thread_count", self._threads(X))
        return super().predict(self._features(X), *args, **kwargs)


class CategoryCodesRegressor(_CategoryCodes, CatBoostRegressor):
    """``CatBoostRegressor`` that trains on a frame of categoricals and predicts from their float codes."""

    def predict(self, X, *args, **kwargs):
        kwargs.setdefault("thread_count", self._threads(X))
        return super().predict(self._features(X), *args, **kwargs)
