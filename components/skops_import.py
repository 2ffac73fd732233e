"""Importing skops.io without importing torch and dask.

At import, skops lists scikit-learn's estimators as its default trust, with
``sklearn.utils.all_estimators``. That function walks scikit-learn with
``pkgutil.walk_packages``, which imports every package it meets to look inside
it, the packages ``all_estimators`` then ignores included:
``sklearn.externals.array_api_compat.torch`` imports torch, and its ``dask``
sibling imports dask. On the 2-core machine that is 2.0 s of the 3.3 s skops
takes to import, on the path of every `jido score`, `jido serve` and model
registration, for a tabular model that uses neither.

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
from contextlib import contextmanager
from typing import Iterator

_LOCK = threading.Lock()


def import_skops() -> types.ModuleType:
    """``skops.io``, imported with the pruned walk when it is not imported yet."""
    with _LOCK:
        if "skops.io" in sys.modules:  # imported, or importing on another thread: import_module waits for that to finish
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
