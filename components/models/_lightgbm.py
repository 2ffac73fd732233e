"""LightGBM estimators that learn categories from a frame of pandas categoricals but always train and predict on arrays.

``NativeFeaturizer`` hands the training rows over as a frame of categoricals
and later rows as a float array of the same codes. LightGBM's scikit-learn
estimators remember that they were trained on a frame and warn at every
prediction from an array; these train on the array too (the categoricals'
codes, with their positions as ``categorical_feature``), which is what
LightGBM's own pandas handling would give its booster.

Left at ``n_jobs=None`` (every physical core, whatever OpenMP is told), they
fit and predict on the threads OpenMP has here (see components/models/_threads.py).
"""

from __future__ import annotations

import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor

from components.features.native import category_codes
from components.models._threads import openmp_threads, prediction_threads


class _CategoryCodes:
    def fit(self, X, y, **fit_params):
        if isinstance(X, pd.DataFrame):
            X, positions = category_codes(X)
            fit_params.setdefault("categorical_feature", positions)
        # Unset, the thread count is OpenMP's here for this fit, and unset again after, so that clones match.
        requested = self.n_jobs
        if requested is None:
            self.n_jobs = openmp_threads()
        try:
            return super().fit(X, y, **fit_params)
        finally:
            self.n_jobs = requested

    def predict(self, X, *args, **kwargs):
        if self.n_jobs is None:
            kwargs.setdefault("num_threads", prediction_threads(X.shape[0]))
        return super().predict(X, *args, **kwargs)


class CategoryCodesClassifier(_CategoryCodes, LGBMClassifier):
    """``LGBMClassifier`` that trains on a frame of categoricals as their codes."""

    def predict_proba(self, X, *args, **kwargs):
        if self.n_jobs is None:
            kwargs.setdefault("num_threads", prediction_threads(X.shape[0]))
        return super().predict_proba(X, *args, **kwargs)


class CategoryCodesRegressor(_CategoryCodes, LGBMRegressor):
    """``LGBMRegressor`` that trains on a frame of categoricals as their codes."""
