"""skops imported without torch, trusting the same scikit-learn estimators."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path


def _fresh(script: str) -> dict:
    # A fresh interpreter: the test session has imported skops, torch and dask long ago.
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=root, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_skops_imports_without_torch_or_dask_and_trusts_what_scikit_learn_lists():
    seen = _fresh(
        """
        import json, pkgutil, sys
        from components.registry.skops import import_skops
        import_skops()
        imported = sorted(name for name in ("torch", "dask") if name in sys.modules)
        from sklearn.utils import all_estimators, discovery
        from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES
        from skops.io._utils import get_type_name
        restored = discovery.pkgutil is pkgutil
        walked = [get_type_name(c) for _, c in all_estimators() if get_type_name(c).startswith("sklearn.")]
        print(json.dumps({"imported": imported, "restored": restored, "trusted": list(SKLEARN_ESTIMATOR_TYPE_NAMES),
        "walked": walked}))
        """
    )
    assert seen["imported"] == []
    assert seen["restored"]
    assert len(seen["walked"]) > 100  # scikit-learn's own walk, after the import, with torch and dask
    assert seen["trusted"] == seen["walked"]


def test_a_second_import_is_the_module_already_imported():
    seen = _fresh(
        """
        import json
        import skops.io
        from components.registry.skops import import_skops
        print(json.dumps({"same": import_skops() is skops.io}))
        """
    )
    assert seen["same"]
