"""LightGBM estimators that learn categories from a frame of pandas categoricals but always train and predict on arrays.

``NativeFeaturizer`` hands the training rows over as a frame of categoricals
and later rows as a float array of the same codes. LightGBM's scikit-learn
estimators remember that they were trained on a frame and warn at every
prediction from an array; these train on the array too (the categoricals'
codes, with their positions as ``categorical_feature``), which is what
LightGBM's own pandas handling would give its booster.
"""

from __future__ import annotations

import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor

from components.features.native import category_codes


class _CategoryCodes:
    def fit(self, X, y, **fit_params):
        if isinstance(X, pd.DataFrame):
            X, positions = category_codes(X)
            fit_params.setdefault("categorical_feature", positions)
        return super().fit(X, y, **fit_params)


class CategoryCodesClassifier(_CategoryCodes, LGBMClassifier):
    """``LGBMClassifier`` that trains on a frame of categoricals as their codes."""


class CategoryCodesRegressor(_CategoryCodes, LGBMRegressor):
    """``LGBMRegressor`` that trains on a frame of categoricals as their codes."""
