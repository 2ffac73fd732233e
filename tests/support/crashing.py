"""A model family whose fit ends its own process, to test that trials are isolated from each other.

It stands in for real failures that cannot be staged on demand: a native crash,
a library calling sys.exit, the kernel's out-of-memory killer.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin
from sklearn.base import BaseEstimator, ClassifierMixin

from components.models import REGISTRY, ModelFamily
from components.search.space import Choice


class ProcessEnder(ClassifierMixin, BaseEstimator):
    def __init__(self, how: str = "crash"):
        self.how = how

    def fit(self, X, y):
        if self.how == "hang":  # outlives any timeout a test sets
            time.sleep(60)
            return self
        if self.how == "late":  # a native crash half a second in, while other trials wait behind it
            time.sleep(0.5)
            os._exit(1)
        if self.how == "exit":
            sys.exit(3)
        if self.how == "oom":  # grows until the worker's nanny kills it for passing its memory limit
            hoard = []
            while True:
                hoard.append(bytearray(os.urandom(1)) * (50 * 2**20))
                time.sleep(0.05)
        os._exit(1)


class CrashingFamily(ModelFamily):
    name = "Crashing"
    tasks = frozenset({"classification"})

    def search_space(self, problem):
        return {"how": Choice(("crash", "exit", "oom", "late", "hang"))}

    def defaults(self, problem) -> dict[str, Any]:
        return {"how": "crash"}

    def build(self, problem, params, seed):
        return ProcessEnder(**params)


def register() -> None:
    REGISTRY.setdefault(CrashingFamily.name, CrashingFamily())


class RegisterCrashingFamily(WorkerPlugin):
    """Registers the family on every worker, replacements included."""

    def setup(self, worker) -> None:
        register()


class DiesAwayFromHome(ClassifierMixin, BaseEstimator):
    """A fitted classifier that ends any process other than the one it was made in when it predicts, as a native crash
    would."""

    def __init__(self, model=None, home: int = 0):
        self.model = model
        self.home = home

    @property
    def classes_(self):
        return self.model.classes_

    def fit(self, X, y):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict_proba(self, X):
        if os.getpid() != self.home:
            os._exit(1)
        return self.model.predict_proba(X)
