"""Linear model families: logistic regression, elastic net, linear SVM, SGD."""

from __future__ import annotations

from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import ElasticNet, LogisticRegression, SGDClassifier, SGDRegressor
from sklearn.svm import LinearSVC, LinearSVR

from components.models._base import ModelFamily
from components.search.space import Choice, Distribution, FloatRange


class LogisticRegressionFamily(ModelFamily):
    name = "LogisticRegression"
    tasks = frozenset({"classification"})
    needs_scaling = True

    def search_space(self, problem) -> dict[str, Distribution]:
        return {"C": FloatRange(1e-3, 100.0, log=True), "class_weight": Choice((None, "balanced"))}

    def defaults(self, problem) -> dict[str, Any]:
        return {"C": 1.0, "class_weight": None}

    def build(self, problem, params: dict[str, Any], seed: int):
        return LogisticRegression(max_iter=2000, random_state=seed, **params)


class ElasticNetFamily(ModelFamily):
    name = "ElasticNet"
    tasks = frozenset({"regression"})
    needs_scaling = True

    def search_space(self, problem) -> dict[str, Distribution]:
        return {"alpha": FloatRange(1e-4, 10.0, log=True), "l1_ratio": FloatRange(0.0, 1.0)}

    def defaults(self, problem) -> dict[str, Any]:
        return {"alpha": 1e-3, "l1_ratio": 0.5}

    def build(self, problem, params: dict[str, Any], seed: int):
        return ElasticNet(max_iter=5000, random_state=seed, **params)


class LinearSVMFamily(ModelFamily):
    name = "LinearSVM"
    tasks = frozenset({"classification", "regression"})
    needs_scaling = True

    def search_space(self, problem) -> dict[str, Distribution]:
        return {"C": FloatRange(1e-3, 10.0, log=True)}

    def defaults(self, problem) -> dict[str, Any]:
        return {"C": 1.0}

    def build(self, problem, params: dict[str, Any], seed: int):
        if not problem.has_classes:
            return LinearSVR(max_iter=5000, random_state=seed, **params)
        # A linear SVM has no probabilities of its own; calibration adds them so
        # probability metrics and probability_<class> outputs work.
        return CalibratedClassifierCV(LinearSVC(max_iter=5000, random_state=seed, **params), cv=3)


class SGDFamily(ModelFamily):
    name = "SGD"
    tasks = frozenset({"classification", "regression"})
    needs_scaling = True

    def search_space(self, problem) -> dict[str, Distribution]:
        losses = ("log_loss", "modified_huber") if problem.has_classes else ("squared_error", "huber")
        return {
            "loss": Choice(losses),
            "penalty": Choice(("l2", "l1", "elasticnet")),
            "alpha": FloatRange(1e-6, 1e-1, log=True),
        }

    def defaults(self, problem) -> dict[str, Any]:
        loss = "log_loss" if problem.has_classes else "squared_error"
        return {"loss": loss, "penalty": "l2", "alpha": 1e-4}

    def build(self, problem, params: dict[str, Any], seed: int):
        estimator = SGDClassifier if problem.has_classes else SGDRegressor
        return estimator(max_iter=2000, tol=1e-4, random_state=seed, **params)
