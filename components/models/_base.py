"""The contract every model family keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sklearn.base import BaseEstimator

from components.metrics import Task
from components.search.space import Distribution


class ModelFamily(ABC):
    """A kind of estimator with its own typed search space.

    Attributes:
        name: The name users write in ``allowed_models`` / ``blocked_models``.
        tasks: Tasks the family can learn.
        needs_scaling: Whether numeric features should be standardised first.
        accepts_sparse: Whether the estimator takes sparse input.
    """

    name: ClassVar[str]
    tasks: ClassVar[frozenset[str]]
    needs_scaling: ClassVar[bool] = False
    accepts_sparse: ClassVar[bool] = True

    @abstractmethod
    def search_space(self, task: Task) -> dict[str, Distribution]:
        """The hyperparameters to search, for ``task``."""

    @abstractmethod
    def defaults(self, task: Task) -> dict[str, Any]:
        """A strong, cheap starting configuration, tried before any sampled one."""

    @abstractmethod
    def build(self, task: Task, params: dict[str, Any], seed: int) -> BaseEstimator:
        """An unfitted estimator for ``task`` with ``params`` applied."""
