"""The contract every model family keeps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from sklearn.base import BaseEstimator, TransformerMixin

from components.search.space import Distribution

if TYPE_CHECKING:
    from components.problems import Problem


class ModelFamily(ABC):
    """A kind of estimator with its own typed search space.

    Attributes:
        name: The name users write in ``allowed_models`` / ``blocked_models``.
        tasks: The task types (``Problem`` names) the family can learn. The
            methods below take that task type's ``Problem``; a family asks it
            what it needs (``has_classes``: a classifier, class weights), never its name.
        needs_scaling: Whether numeric features should be standardised first.
        accepts_sparse: Whether the estimator takes sparse input.
        uses_gpu: Whether its trials take ``compute.gpus_per_trial`` GPUs when the cluster has them.
        needs_text: Whether it is a deep text model, offered only with ``enable_dnn``.
        rounds_param: For a family that stops early (see ``fit_stopping_early``),
            the parameter counting its boosting rounds, which a trial sets to the
            rounds its folds kept.
    """

    name: ClassVar[str]
    tasks: ClassVar[frozenset[str]]
    needs_scaling: ClassVar[bool] = False
    accepts_sparse: ClassVar[bool] = True
    uses_gpu: ClassVar[bool] = False
    needs_text: ClassVar[bool] = False
    rounds_param: ClassVar[str | None] = None

    @abstractmethod
    def search_space(self, problem: Problem) -> dict[str, Distribution]:
        """The hyperparameters to search, for ``problem``."""

    @abstractmethod
    def defaults(self, problem: Problem) -> dict[str, Any]:
        """A strong, cheap starting configuration, tried before any sampled one."""

    def featurizer(self, params: dict[str, Any]) -> TransformerMixin:
        """The unfitted featurizer in front of the estimator: jido's tabular one unless the family needs another."""
        from components.features.auto import AutoFeaturizer

        return AutoFeaturizer(scale_numeric=self.needs_scaling, sparse_output=self.accepts_sparse)

    @abstractmethod
    def build(self, problem: Problem, params: dict[str, Any], seed: int) -> BaseEstimator:
        """An unfitted estimator for ``problem`` with ``params`` applied."""

    def saved_trees(self, params: dict[str, Any]) -> int:
        """Trees a fitted model of ``params`` keeps as scikit-learn tree objects: registering it costs time per tree.

        skops writes and reads each such tree as files of its own (about 4.5 ms
        a tree on 2 cores), where a booster keeps all its trees in one model string.
        """
        return 0

    def fit_stopping_early(self, model: BaseEstimator, X, y, X_valid, y_valid, patience: int) -> int:
        """Fits ``model`` on ``X``, ``y`` until its loss on the validation rows has not improved for ``patience``
        rounds.

        Only for a family with a ``rounds_param``, in a trial whose parameters
        set ``early_stopping_rounds`` (see ``components.experiment.trial.run_trial_full``).
        Returns the boosting rounds the fitted model keeps: those up to its best
        validation loss, which it predicts with.
        """
        raise NotImplementedError(f"{self.name} does not stop early")

    def stages(self, problem: Problem, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Parameter updates that grow a warm-started estimator step by step, or None when it cannot.

        A family that returns stages reports a metric after each one, so early
        termination can stop it part-way.
        """
        return None


def growth_stages(param: str, total: int, n_stages: int = 10) -> list[dict[str, Any]]:
    """Warm-start stages that grow ``param`` (trees, boosting rounds) to ``total`` in up to ``n_stages`` steps."""
    sizes = sorted({max(1, -(-total * k // n_stages)) for k in range(1, n_stages + 1)})
    return [{param: size, "warm_start": True} for size in sizes]


class NativeCategoriesMixin:
    """For a gradient booster that splits on pandas categories and routes missing values itself (see
    ``components.features.native``)."""

    accepts_sparse: ClassVar[bool]

    def featurizer(self, params: dict[str, Any]) -> TransformerMixin:
        from components.features.native import NativeFeaturizer

        return NativeFeaturizer(sparse_output=self.accepts_sparse)
