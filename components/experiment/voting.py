"""The voting ensemble jido registers: a weighted average of whole pipelines, and the steps around it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from components.problems import get_problem

ENSEMBLE_NAME = "VotingEnsemble"


class SelectColumns(TransformerMixin, BaseEstimator):
    """The ensemble's first step: passes the input columns its members read, unchanged.

    It gives batch scoring and ``jido serve`` the columns to require, as
    jido's featurizer does for a single pipeline.
    """

    def __init__(self, columns: list[str]):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X

    def used_columns(self) -> list[str]:
        return list(self.columns)

    def reads_records(self) -> bool:
        """It hands a request's records on unchanged (its ensemble's members read them, or not)."""
        return True


def _has_classes(ensemble: VotingEnsemble) -> bool:
    return get_problem(ensemble.task).has_classes


class Densify(BaseEstimator, TransformerMixin):
    """Sparse features made dense, for a member that needs dense input but shares a sparse featurizer."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.toarray() if sparse.issparse(X) else np.asarray(X)


def _sparse_featurized(member: Pipeline) -> Pipeline:
    """``member`` with a featurizer that may give sparse output, followed by :class:`Densify` where it asked for dense
    features.

    The featurizer's output is otherwise the same, so members that differ only
    there (gradient boosting takes dense features, forests sparse) share one.
    """
    featurizer = member.steps[0][1]
    if featurizer.get_params().get("sparse_output") is False:
        member.steps[0] = (member.steps[0][0], featurizer.set_params(sparse_output=True))
        member.steps.insert(1, ("densify", Densify()))
    return member


def _featurizer_key(member: Pipeline) -> str:
    import joblib

    return joblib.hash(member.steps[0][1])


class VotingEnsemble(BaseEstimator):
    """A weighted average of whole pipelines' class probabilities (a task type with classes) or predictions (others).

    ``fit`` fits a fresh clone of every member, so cloning and refitting the
    ensemble (on all rows, or on each fold to compare it with a new
    experiment's models) works like any scikit-learn estimator.

    Members whose featurizers are configured alike (most of a tabular
    ensemble: one featurizer, several models; one that needs dense features
    gets them from the shared sparse ones) share one fitted featurizer, so a
    prediction featurizes the input once per group, not once per member.

    Args:
        task: The task type (a ``Problem`` name), kept by name so that registered ensembles load as they were saved.
    """

    def __init__(self, members: list[Pipeline], weights: list[float], task: str):
        self.members = members
        self.weights = weights
        self.task = task

    def fit(self, X: pd.DataFrame, y: pd.Series):
        if len(self.members) != len(self.weights) or not self.members:
            raise ValueError("an ensemble needs one weight per member, and at least one member")
        members = [_sparse_featurized(clone(member)) for member in self.members]
        groups: dict[str, list[int]] = {}
        for i, member in enumerate(members):
            groups.setdefault(_featurizer_key(member), []).append(i)
        for group in groups.values():
            featurizer = members[group[0]].steps[0]
            features = featurizer[1].fit_transform(
                X, y
            )  # as Pipeline.fit does: a target encoder's training rows are cross-fitted
            for i in group:
                members[i].steps[0] = featurizer
                own = features
                for _, step in members[i].steps[1:-1]:
                    own = step.fit_transform(own, y)
                members[i].steps[-1][1].fit(own, y)
        self.members_ = members
        self.feature_groups_ = [list(group) for group in groups.values()]
        self.weights_ = np.asarray(self.weights, dtype=float) / float(np.sum(self.weights))
        if _has_classes(self):
            self.classes_ = np.sort(np.asarray(pd.unique(y)))
        return self

    def _outputs(self, X: pd.DataFrame, method: str):
        """Each member's index and ``method``'s output on ``X``, featurizing once per group of members that share a
        featurizer."""
        check_is_fitted(self, "members_")
        for group in getattr(self, "feature_groups_", None) or [[i] for i in range(len(self.members_))]:
            features = self.members_[group[0]].steps[0][1].transform(X)
            for i in group:
                own = features
                for _, step in self.members_[i].steps[1:-1]:
                    own = step.transform(own)
                yield i, getattr(self.members_[i].steps[-1][1], method)(own)

    @available_if(_has_classes)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        total = np.zeros((len(X), len(self.classes_)))
        for i, proba in self._outputs(X, "predict_proba"):
            columns = np.searchsorted(self.classes_, self.members_[i].classes_)
            total[:, columns] += self.weights_[i] * proba
        return total

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if _has_classes(self):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        total = np.zeros(len(X))
        for i, values in self._outputs(X, "predict"):
            total += self.weights_[i] * np.asarray(values, dtype=float)
        return total

    def reads_records(self) -> bool:
        """Whether every member's featurizer reads a request's records (see
        ``components.features.records.takes_records``)."""
        check_is_fitted(self, "members_")
        featurizers = [member.steps[0][1] for member in self.members_]
        return all(hasattr(f, "reads_records") and f.reads_records() for f in featurizers)


def ensemble_pipeline(members: list[Pipeline], weights: list[float], task: str, columns: list[str]) -> Pipeline:
    """The unfitted ensemble as jido registers and scores it: select the members' columns, then vote."""
    return Pipeline([("featurize", SelectColumns(columns)), ("model", VotingEnsemble(members, weights, task))])
