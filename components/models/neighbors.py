"""k-nearest neighbours."""

from __future__ import annotations

from typing import Any

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from components.metrics import Task
from components.models._base import ModelFamily
from components.search.space import Choice, Distribution, IntRange


class KNNFamily(ModelFamily):
    name = "KNN"
    tasks = frozenset({"classification", "regression"})
    needs_scaling = True

    def search_space(self, task: Task) -> dict[str, Distribution]:
        return {"n_neighbors": IntRange(1, 50, log=True), "weights": Choice(("uniform", "distance"))}

    def defaults(self, task: Task) -> dict[str, Any]:
        return {"n_neighbors": 5, "weights": "distance"}

    def build(self, task: Task, params: dict[str, Any], seed: int):
        estimator = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
        return estimator(n_jobs=1, **params)
