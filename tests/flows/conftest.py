"""The flow tests' shared experiment lives in tests/conftest.py (the CLI and service tests read it too)."""

from tests.conftest import cancer_spec  # noqa: F401  (test_train builds variants of it)
