"""Gradient-boosting families from LightGBM, XGBoost and CatBoost.

Each starts from a cheap configuration (100 trees of moderate size, which is
strong on most tables and trains in well under a second on tens of thousands
of rows); the search space then reaches far more trees, larger leaves and
smaller learning rates, so cost grows only where the sampler finds it pays.

In a trial, ``n_estimators`` is a ceiling: each fold's booster stops once its
loss on that fold's validation rows has not improved for
``early_stopping_rounds`` rounds, and the refit on all rows grows the mean of
the folds' best round counts (set ``early_stopping_rounds`` to null in a
search space to grow every tree asked for).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from components.features.native import like_training_frame
from components.models._base import ModelFamily, NativeCategoriesMixin
from components.search.space import Choice, Distribution, FloatRange, IntRange

# Rounds without a better validation loss before a trial's booster stops.
EARLY_STOPPING_ROUNDS = 50


class LightGBMFamily(NativeCategoriesMixin, ModelFamily):
    name = "LightGBM"
    tasks = frozenset({"classification", "regression"})
    rounds_param = "n_estimators"

    def search_space(self, problem) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "n_estimators": IntRange(20, 2000, log=True),
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "num_leaves": IntRange(4, 256, log=True),
            "min_child_samples": IntRange(2, 100, log=True),
            "colsample_bytree": FloatRange(0.4, 1.0),
            "reg_alpha": FloatRange(1e-4, 10.0, log=True),
            "reg_lambda": FloatRange(1e-3, 100.0, log=True),
        }
        return _with_class_weight(space, problem)

    def defaults(self, problem) -> dict[str, Any]:
        found = {
            "n_estimators": 100,
            "learning_rate": 0.1,
            "num_leaves": 31,
            "min_child_samples": 20,
            "colsample_bytree": 1.0,
            "reg_alpha": 1e-4,
            "reg_lambda": 1.0,
        }
        return _with_stopping(_with_no_class_weight(found, problem))

    def build(self, problem, params: dict[str, Any], seed: int):
        from components.models._lightgbm import CategoryCodesClassifier, CategoryCodesRegressor

        estimator = CategoryCodesClassifier if problem.has_classes else CategoryCodesRegressor
        # Threads: those OpenMP has where it fits and predicts (see components.models._threads).
        return estimator(random_state=seed, verbose=-1, **_estimator_params(params))

    def fit_stopping_early(self, model, X, y, X_valid, y_valid, patience: int) -> int:
        import lightgbm

        stop = lightgbm.early_stopping(patience, first_metric_only=True, verbose=False)
        with warnings.catch_warnings():
            # LightGBM 4.7 deprecates eval_set for eval_X/eval_y, but its classifier codes the labels of eval_set only.
            warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
            model.fit(X, y, eval_set=[(X_valid, y_valid)], callbacks=[stop])
        return int(model.best_iteration_ or model.n_estimators)


class XGBoostFamily(NativeCategoriesMixin, ModelFamily):
    name = "XGBoost"
    tasks = frozenset({"classification", "regression"})
    rounds_param = "n_estimators"

    def search_space(self, problem) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "n_estimators": IntRange(20, 2000, log=True),
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "max_depth": IntRange(2, 12),
            "min_child_weight": FloatRange(0.01, 20.0, log=True),
            "subsample": FloatRange(0.5, 1.0),
            "colsample_bytree": FloatRange(0.4, 1.0),
            "reg_lambda": FloatRange(1e-3, 100.0, log=True),
        }
        return _with_class_weight(space, problem)

    def defaults(self, problem) -> dict[str, Any]:
        found = {
            "n_estimators": 100,
            "learning_rate": 0.1,
            "max_depth": 6,
            "min_child_weight": 1.0,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "reg_lambda": 1.0,
        }
        return _with_stopping(_with_no_class_weight(found, problem))

    def build(self, problem, params: dict[str, Any], seed: int):
        from xgboost import XGBClassifier, XGBRegressor

        # enable_categorical: splits on the featurizer's pandas categories (a table with text comes encoded, as
        # numbers).
        common = {"random_state": seed, "tree_method": "hist", "enable_categorical": True}
        return _estimator(problem, XGBClassifier, XGBRegressor, common, params)

    def fit_stopping_early(self, model, X, y, X_valid, y_valid, patience: int) -> int:
        # XGBoost reads a frame of categoricals by its dtypes and refuses validation rows without them.
        X_valid = like_training_frame(X_valid, X)
        booster = model.estimator if isinstance(model, EncodedLabels) else model
        booster.set_params(early_stopping_rounds=patience)
        model.fit(X, y, eval_set=[(X_valid, y_valid)], verbose=False)
        return int(_fitted_booster(model).best_iteration) + 1  # predict then uses the rounds up to the best one


class CatBoostFamily(NativeCategoriesMixin, ModelFamily):
    """CatBoost: symmetric trees, and categories encoded by ordered target statistics learned while boosting.

    Its defaults beat LightGBM's in cross-validation on most of the tables of
    benchmarks/automl_vs_flaml.py, at 2-15x the fit time. The start is cheaper
    than CatBoost's own defaults, each searched up to them: ``max_ctr_complexity``
    1 (no combinations of categories, about 3-5x fewer seconds a round on
    ames) and 64 borders per number instead of 254 (about 4x faster, within
    ±0.003 in cross-validation on those tables).
    """

    name = "CatBoost"
    tasks = frozenset({"classification", "regression"})
    rounds_param = "n_estimators"

    def search_space(self, problem) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "n_estimators": IntRange(20, 2000, log=True),
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "depth": IntRange(3, 10),
            "l2_leaf_reg": FloatRange(0.1, 30.0, log=True),
            "random_strength": FloatRange(0.01, 10.0, log=True),
            "max_ctr_complexity": IntRange(1, 4),
            "border_count": IntRange(16, 255, log=True),
        }
        return _with_class_weight(space, problem)

    def defaults(self, problem) -> dict[str, Any]:
        # A fixed learning rate: left unset, CatBoost derives one from the round count, and the refit grows another
        # count.
        found = {
            "n_estimators": 300,
            "learning_rate": 0.1,
            "depth": 6,
            "l2_leaf_reg": 3.0,
            "random_strength": 1.0,
            "max_ctr_complexity": 1,
            "border_count": 64,
        }
        return _with_stopping(_with_no_class_weight(found, problem))

    def build(self, problem, params: dict[str, Any], seed: int):
        from components.models._catboost import CategoryCodesClassifier, CategoryCodesRegressor

        # allow_writing_files: CatBoost otherwise writes a catboost_info folder into the working directory.
        # Threads: those OpenMP has where it fits (see components.models._threads).
        common = {"random_seed": seed, "verbose": 0, "allow_writing_files": False}
        return _estimator(problem, CategoryCodesClassifier, CategoryCodesRegressor, common, params)

    def fit_stopping_early(self, model, X, y, X_valid, y_valid, patience: int) -> int:
        model.fit(X, y, eval_set=[(X_valid, y_valid)], early_stopping_rounds=patience)
        return int(_fitted_booster(model).get_best_iteration()) + 1  # CatBoost keeps the trees up to the best one


def _estimator(problem, classifier: type, regressor: type, common: dict[str, Any], params: dict[str, Any]):
    """A regressor, or a classifier behind ``EncodedLabels``, which codes the labels 0..k-1 and turns class weights into
    row weights.

    For XGBoost, whose classifier takes only those codes and has no class
    weights, and CatBoost, whose classes then come back as the user's labels
    whatever their type.
    """
    settings = _estimator_params(params)
    if not problem.has_classes:
        return regressor(**common, **settings)
    class_weight = settings.pop("class_weight", None)
    return EncodedLabels(classifier(**common, **settings), class_weight=class_weight)


def _fitted_booster(model):
    """The fitted library estimator of ``model``, inside ``EncodedLabels`` or not."""
    return model.estimator_ if isinstance(model, EncodedLabels) else model


def _with_stopping(defaults: dict[str, Any]) -> dict[str, Any]:
    return {**defaults, "early_stopping_rounds": EARLY_STOPPING_ROUNDS}


def _estimator_params(params: dict[str, Any]) -> dict[str, Any]:
    """The estimator's own parameters: early stopping is the trial's doing (see ``fit_stopping_early``), not the
    constructor's."""
    return {k: v for k, v in params.items() if k != "early_stopping_rounds"}


def _with_class_weight(space: dict[str, Distribution], problem) -> dict[str, Distribution]:
    """Adds class weights (none, or inversely proportional to class frequency, for skewed classes) to a classifier's
    space."""
    return {**space, "class_weight": Choice((None, "balanced"))} if problem.has_classes else space


def _with_no_class_weight(defaults: dict[str, Any], problem) -> dict[str, Any]:
    """A classifier's defaults weigh every class alike."""
    return {**defaults, "class_weight": None} if problem.has_classes else defaults


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """A classifier that learns on labels coded 0..k-1 and answers in the original labels.

    XGBoost's classifier takes only those codes; jido's targets are strings or
    any numbers. (scikit-learn has no generic wrapper for this.)
    """

    def __init__(self, estimator: BaseEstimator, class_weight: str | None = None):
        self.estimator = estimator
        self.class_weight = class_weight

    def fit(self, X, y, **fit_params):
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        codes = self.encoder_.transform(y)
        if self.class_weight is not None:  # XGBoost has no class weights of its own: the same thing as row weights
            fit_params = {**fit_params, "sample_weight": compute_sample_weight(self.class_weight, codes)}
        if "eval_set" in fit_params:  # validation rows for early stopping, their labels coded alike
            fit_params["eval_set"] = [
                (X_valid, self.encoder_.transform(y_valid)) for X_valid, y_valid in fit_params["eval_set"]
            ]
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
