"""A model family whose fit takes a fixed time: a stand-in objective for measuring orchestration overhead."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin
from sklearn.base import BaseEstimator, ClassifierMixin

from components.models import REGISTRY, ModelFamily
from components.search.space import FloatRange


class FixedTimeClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, seconds: float = 0.05, bias: float = 0.5):
        self.seconds = seconds
        self.bias = bias

    def fit(self, X, y):
        time.sleep(self.seconds)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        n = X.shape[0]
        return np.column_stack([np.full(n, 1 - self.bias), np.full(n, self.bias)])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


class FixedTimeFamily(ModelFamily):
    name = "FixedTime"
    tasks = frozenset({"classification"})

    def search_space(self, problem):
        return {"bias": FloatRange(0.0, 1.0)}

    def defaults(self, problem) -> dict[str, Any]:
        return {"bias": 0.5}

    def build(self, problem, params, seed):
        return FixedTimeClassifier(**params)


def register() -> None:
    REGISTRY.setdefault(FixedTimeFamily.name, FixedTimeFamily())


class RegisterFixedTime(WorkerPlugin):
    def setup(self, worker) -> None:
        register()
