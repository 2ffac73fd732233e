"""Typed search-space distributions that validate themselves on construction.

They are thin, typed descriptions; sampling is Optuna's job, so each one only
knows how to ask an Optuna trial for a value.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import optuna


class Distribution(ABC):
    """One hyperparameter's range of values."""

    @abstractmethod
    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Asks ``trial`` for a value of the parameter called ``name``."""


@dataclass(frozen=True)
class Choice(Distribution):
    """One of a fixed list of values (strings, numbers, booleans or None)."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ValueError("Choice needs at least one value; got an empty list")

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.values))


def _check_bounds(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"bounds must be finite; got low={low}, high={high}")
    if low >= high:
        raise ValueError(f"low must be below high; got low={low}, high={high}")
    if log and low <= 0:
        raise ValueError(f"a log scale needs a positive low bound; got low={low}")


@dataclass(frozen=True)
class IntRange(Distribution):
    """An integer in [low, high], optionally sampled on a log scale."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log)

    def suggest(self, trial: optuna.Trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class FloatRange(Distribution):
    """A real number in [low, high], optionally sampled on a log scale."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log)

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)
