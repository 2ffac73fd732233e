"""skops, the registry's serialisation: the reviewed types a pipeline may hold, the module paths of earlier versions,
and importing skops.io without importing torch and dask.

At import, skops lists scikit-learn's estimators as its default trust, with
``sklearn.utils.all_estimators``. That function walks scikit-learn with
``pkgutil.walk_packages``, which imports every package it meets to look inside
it, the packages ``all_estimators`` then ignores included:
``sklearn.externals.array_api_compat.torch`` imports torch, and its ``dask``
sibling imports dask: most of skops' import time, on the path of every `jido
score`, `jido serve` and model registration, for a tabular model that uses
neither (benchmarks/score_startup.py).

While skops imports, the walk descends only into packages whose modules
``all_estimators`` keeps. A package it ignores (a name part in its ignore list,
or a private ``._`` part) has only ignored modules below it, so the estimators
listed, and skops' trusted types, are the same; a test compares them with
scikit-learn's own walk. No library offers this: skops has no lazy default
trust, and scikit-learn no walk that skips what it ignores.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()


def import_skops() -> types.ModuleType:
    """``skops.io``, imported with the pruned walk when it is not imported yet."""
    with _LOCK:
        if (
            "skops.io" in sys.modules
        ):  # imported, or importing on another thread: import_module waits for that to finish
            return importlib.import_module("skops.io")
        with _walk_kept_packages_only():
            return importlib.import_module("skops.io")


@contextmanager
def _walk_kept_packages_only() -> Iterator[None]:
    from sklearn.utils import discovery

    ignored = getattr(discovery, "_MODULE_TO_IGNORE", None)
    if ignored is None or getattr(discovery, "pkgutil", None) is not pkgutil:  # scikit-learn changed: walk as it does
        yield
        return

    def skipped(name: str) -> bool:  # all_estimators' own test of a module name
        return any(part in ignored for part in name.split(".")) or "._" in name

    def walk_packages(path=None, prefix="", onerror=None):
        for info in pkgutil.iter_modules(path, prefix):
            yield info
            if info.ispkg and not skipped(info.name):
                yield from walk_packages(importlib.import_module(info.name).__path__, info.name + ".", onerror)

    discovery.pkgutil = types.SimpleNamespace(**{**vars(pkgutil), "walk_packages": walk_packages})
    try:
        yield
    finally:
        discovery.pkgutil = pkgutil


# Types outside skops' default trust that a jido pipeline may hold. Each was
# reviewed: jido's own featurizer classes, plus scikit-learn/NumPy/SciPy
# internals with no code execution on load. A pipeline holding any other
# untrusted type is refused at log time rather than trusted blindly.
REVIEWED_TRUSTED_TYPES = (
    "components.experiment.voting.Densify",
    "components.experiment.voting.SelectColumns",
    "components.experiment.voting.VotingEnsemble",
    "components.features.auto.AutoFeaturizer",
    "components.features.auto.NumericPassthrough",
    "components.features.columns.ColumnProfile",
    "components.features.columns.DatetimeParts",
    "components.features.columns.NumericCoercer",
    "components.features.columns.TextTfidf",
    "components.features.native.NativeFeaturizer",
    "components.models._lightgbm.CategoryCodesClassifier",
    "components.models._lightgbm.CategoryCodesRegressor",
    # CatBoost's state is its parameters plus the model in CatBoost's own binary
    # format, read back by its loader (``_load_from_string``: no pickle, no code).
    "components.models._catboost.CategoryCodesClassifier",
    "components.models._catboost.CategoryCodesRegressor",
    "components.models.boosting.EncodedLabels",
    # The target encoder's cross-fitting splitter (a seed and a fold count).
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    # Deep text models keep their weights as NumPy arrays and their tokenizer
    # as JSON; loading rebuilds a known network (no remote code) from them.
    "components.models.dnn._bert.BertTextClassifier",
    "components.models.dnn._bilstm.BiLSTMTextClassifier",
    "components.models.dnn._inputs.TextTableFeaturizer",
    # LightGBM and XGBoost boosters keep their trees as a model string / bytes,
    # parsed by the library's own loader on load (no pickle, no code).
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)


# Where the classes of versions registered before components/ was grouped by concept live now: such a version names
# its classes by the module they were defined in when it was saved, and skops imports them by that name.
LEGACY_MODULES: dict[str, tuple[str, ...]] = {
    "components.featurize": ("components.features.auto", "components.features.columns"),
    "components.native_features": ("components.features.native",),
    "components.ensemble": ("components.experiment.voting",),
}


def legacy_modules() -> None:
    """Makes the former module paths of ``LEGACY_MODULES`` importable, each holding the classes that moved from it."""
    for old, modules in LEGACY_MODULES.items():
        if old in sys.modules:
            continue
        alias = types.ModuleType(old, f"Where jido's {old} classes live now, for versions registered under that name.")
        for name in modules:
            module = importlib.import_module(name)
            for attribute, value in vars(module).items():
                if isinstance(value, type) and value.__module__ == name:
                    setattr(alias, attribute, value)
        sys.modules[old] = alias
