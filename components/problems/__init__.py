"""Task types: one ``Problem`` per type, found by the spec's ``task`` name.

A new task type is one module here (a ``Problem`` subclass), its name in
``TaskType`` and ``PROBLEMS``, plus the model families and metrics that declare
it in their own registries. docs/architecture.md says how each planned type plugs in.
"""

from __future__ import annotations

from typing import Literal

from components.problems._base import Prediction, Problem
from components.problems.classification import Classification
from components.problems.regression import Regression

# The spec's ``task`` values: a Literal, so the Prefect UI offers them as a choice. The contract
# tests hold it equal to the registry below.
TaskType = Literal["classification", "regression"]

PROBLEMS: dict[str, Problem] = {problem.name: problem for problem in (Classification(), Regression())}


def get_problem(name: str) -> Problem:
    """The problem of a task type, by the spec's ``task`` name.

    Raises:
        KeyError: no such task type (the spec refuses it before this is asked).
    """
    return PROBLEMS[name]


def problem_names() -> list[str]:
    """Every task type, in registry order."""
    return list(PROBLEMS)


__all__ = ["PROBLEMS", "Prediction", "Problem", "TaskType", "get_problem", "problem_names"]
