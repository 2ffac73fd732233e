"""k-nearest neighbours."""

from __future__ import annotations

from typing import Any

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from components.models._base import ModelFamily
from components.search.space import Choice, Distribution, IntRange


class KNNFamily(ModelFamily):
    name = "KNN"
    tasks = frozenset({"classification", "regression"})
    needs_scaling = True

    def search_space(self, problem) -> dict[str, Distribution]:
        return {"n_neighbors": IntRange(1, 50, log=True), "weights": Choice(("uniform", "distance"))}

    def defaults(self, problem) -> dict[str, Any]:
        return {"n_neighbors": 5, "weights": "distance"}

    def build(self, problem, params: dict[str, Any], seed: int):
        estimator = KNeighborsClassifier if problem.has_classes else KNeighborsRegressor
        return estimator(n_jobs=1, **params)
