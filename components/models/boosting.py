"""Gradient-boosting families from LightGBM and XGBoost.

Both start from a cheap configuration (100 trees of moderate size, which is
strong on most tables and trains in well under a second on tens of thousands
of rows); the search space then reaches far more trees, larger leaves and
smaller learning rates, so cost grows only where the sampler finds it pays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from components.metrics import Task
from components.models._base import ModelFamily
from components.search.space import Distribution, FloatRange, IntRange


class LightGBMFamily(ModelFamily):
    name = "LightGBM"
    tasks = frozenset({"classification", "regression"})

    def search_space(self, task: Task) -> dict[str, Distribution]:
        return {
            "n_estimators": IntRange(20, 2000, log=True),
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "num_leaves": IntRange(4, 256, log=True),
            "min_child_samples": IntRange(2, 100, log=True),
            "colsample_bytree": FloatRange(0.4, 1.0),
            "reg_alpha": FloatRange(1e-4, 10.0, log=True),
            "reg_lambda": FloatRange(1e-3, 100.0, log=True),
        }

    def defaults(self, task: Task) -> dict[str, Any]:
        return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "colsample_bytree": 1.0, "reg_alpha": 1e-4, "reg_lambda": 1.0}

    def build(self, task: Task, params: dict[str, Any], seed: int):
        from lightgbm import LGBMClassifier, LGBMRegressor

        estimator = LGBMClassifier if task == "classification" else LGBMRegressor
        # Threads: LightGBM's default follows OpenMP, which jido's workers set to their share of the cores.
        return estimator(random_state=seed, verbose=-1, **params)


class XGBoostFamily(ModelFamily):
    name = "XGBoost"
    tasks = frozenset({"classification", "regression"})

    def search_space(self, task: Task) -> dict[str, Distribution]:
        return {
            "n_estimators": IntRange(20, 2000, log=True),
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "max_depth": IntRange(2, 12),
            "min_child_weight": FloatRange(0.01, 20.0, log=True),
            "subsample": FloatRange(0.5, 1.0),
            "colsample_bytree": FloatRange(0.4, 1.0),
            "reg_lambda": FloatRange(1e-3, 100.0, log=True),
        }

    def defaults(self, task: Task) -> dict[str, Any]:
        return {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0}

    def build(self, task: Task, params: dict[str, Any], seed: int):
        from xgboost import XGBClassifier, XGBRegressor

        if task == "regression":
            return XGBRegressor(random_state=seed, tree_method="hist", **params)
        return EncodedLabels(XGBClassifier(random_state=seed, tree_method="hist", **params))


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """A classifier that learns on labels coded 0..k-1 and answers in the original labels.

    XGBoost's classifier takes only those codes; jido's targets are strings or
    any numbers. (scikit-learn has no generic wrapper for this.)
    """

    def __init__(self, estimator: BaseEstimator):
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(X, self.encoder_.transform(y), **fit_params)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
