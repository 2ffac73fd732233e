"""Tree ensemble families: random forest, extremely randomised trees, histogram boosting."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from components.models._base import ModelFamily, growth_stages
from components.search.space import Choice, Distribution, FloatRange, IntRange


class _ForestFamily(ModelFamily):
    tasks = frozenset({"classification", "regression"})
    _classifier: type
    _regressor: type

    def search_space(self, problem) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "n_estimators": IntRange(50, 400, log=True),
            "max_features": Choice(("sqrt", 0.3, 0.6, 1.0)),
            "min_samples_leaf": IntRange(1, 20, log=True),
        }
        if problem.has_classes:  # skewed classes: weights inversely proportional to class frequency
            space["class_weight"] = Choice((None, "balanced", "balanced_subsample"))
        return space

    def defaults(self, problem) -> dict[str, Any]:
        if problem.has_classes:
            return {"n_estimators": 100, "max_features": "sqrt", "min_samples_leaf": 1, "class_weight": None}
        # A third of the features per split (Breiman's choice for regression, R's randomForest default) rather than
        # scikit-learn's all of them: on one-hot encoded wide tables (modeldata/ames) every tree costs 3x less.
        return {"n_estimators": 100, "max_features": 0.3, "min_samples_leaf": 1}

    def build(self, problem, params: dict[str, Any], seed: int):
        estimator = self._classifier if problem.has_classes else self._regressor
        # n_jobs None: one job, unless joblib's parallel_config asks for more (the refit on all rows, which runs alone,
        # asks for every core).
        return estimator(random_state=seed, n_jobs=None, **params)

    def stages(self, problem, params: dict[str, Any]) -> list[dict[str, Any]]:
        return growth_stages("n_estimators", params["n_estimators"])

    def saved_trees(self, params: dict[str, Any]) -> int:
        return int(params.get("n_estimators", 100))


class RandomForestFamily(_ForestFamily):
    name = "RandomForest"
    _classifier, _regressor = RandomForestClassifier, RandomForestRegressor


class ExtremeRandomTreesFamily(_ForestFamily):
    name = "ExtremeRandomTrees"
    _classifier, _regressor = ExtraTreesClassifier, ExtraTreesRegressor


class HistGradientBoostingFamily(ModelFamily):
    name = "HistGradientBoosting"
    tasks = frozenset({"classification", "regression"})
    accepts_sparse = False

    def search_space(self, problem) -> dict[str, Distribution]:
        space: dict[str, Distribution] = {
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "max_iter": IntRange(50, 500, log=True),
            "max_leaf_nodes": IntRange(8, 128, log=True),
            "min_samples_leaf": IntRange(5, 100, log=True),
            "l2_regularization": FloatRange(1e-6, 1.0, log=True),
        }
        if problem.has_classes:
            space["class_weight"] = Choice((None, "balanced"))
        return space

    def defaults(self, problem) -> dict[str, Any]:
        found = {
            "learning_rate": 0.1,
            "max_iter": 100,
            "max_leaf_nodes": 31,
            "min_samples_leaf": 20,
            "l2_regularization": 1e-6,
        }
        return {**found, "class_weight": None} if problem.has_classes else found

    def build(self, problem, params: dict[str, Any], seed: int):
        estimator = HistGradientBoostingClassifier if problem.has_classes else HistGradientBoostingRegressor
        return estimator(random_state=seed, **params)

    def stages(self, problem, params: dict[str, Any]) -> list[dict[str, Any]]:
        return growth_stages("max_iter", params["max_iter"])

    def saved_trees(self, params: dict[str, Any]) -> int:
        return int(params.get("max_iter", 100))  # one per iteration and class: a lower bound for more than two classes
