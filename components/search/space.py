"""Typed search-space distributions that validate themselves on construction.

They are thin, typed descriptions; sampling is Optuna's job, so each one only
knows how to ask an Optuna trial for a value. ``parse_distribution`` reads
Azure's distribution names (``choice``, ``uniform``, ``qlognormal``...).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import optuna

# Normal distributions are sampled through their quantile: Optuna draws the
# quantile uniformly (so every sampler, TPE included, can model it) and the
# inverse CDF turns it into a value. The tails are clipped at these quantiles.
_QUANTILE_LOW, _QUANTILE_HIGH = 1e-4, 1.0 - 1e-4


class Distribution(ABC):
    """One hyperparameter's range of values."""

    @abstractmethod
    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        """Asks ``trial`` for a value of the parameter called ``name``."""

    def grid_values(self) -> list[Any] | None:
        """Every value, when the distribution is discrete and finite; else None."""
        return None


def _quantize(value: float, q: float | None) -> float | int:
    """Azure's q-rounding, round(value / q) * q; an integer step gives an integer."""
    if q is None:
        return value
    rounded = round(value / q) * q
    return round(rounded) if float(q).is_integer() else rounded


def _check_q(q: float | None) -> None:
    if q is not None and not (math.isfinite(q) and q > 0):
        raise ValueError(f"q must be a positive number; got q={q}")


@dataclass(frozen=True)
class Choice(Distribution):
    """One of a fixed list of values (strings, numbers, booleans or None)."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.values) == 0:
            raise ValueError("choice needs at least one value; got an empty list")

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.values))

    def grid_values(self) -> list[Any]:
        return list(self.values)


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

    def grid_values(self) -> list[int]:
        return list(range(self.low, self.high + 1))


@dataclass(frozen=True)
class FloatRange(Distribution):
    """A real number in [low, high], optionally on a log scale, optionally rounded to multiples of ``q``."""

    low: float
    high: float
    log: bool = False
    q: float | None = None

    def __post_init__(self) -> None:
        _check_bounds(self.low, self.high, self.log)
        _check_q(self.q)

    def suggest(self, trial: optuna.Trial, name: str) -> float | int:
        return _quantize(trial.suggest_float(name, self.low, self.high, log=self.log), self.q)


@dataclass(frozen=True)
class Normal(Distribution):
    """A normal value with mean ``mu`` and spread ``sigma``; ``log`` makes it log-normal, ``q`` rounds it."""

    mu: float
    sigma: float
    log: bool = False
    q: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mu) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"normal needs a finite mu and a positive sigma; got mu={self.mu}, sigma={self.sigma}")
        _check_q(self.q)

    def suggest(self, trial: optuna.Trial, name: str) -> float | int:
        from scipy.stats import norm

        quantile = trial.suggest_float(name, _QUANTILE_LOW, _QUANTILE_HIGH)
        value = float(norm.ppf(quantile, loc=self.mu, scale=self.sigma))
        return _quantize(math.exp(value) if self.log else value, self.q)


def _numbers(name: str, args: list, count: tuple[int, ...]) -> list[float]:
    if len(args) not in count:
        expected = " or ".join(str(c) for c in count)
        raise ValueError(f"{name} takes {expected} numbers; got {args!r}")
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise ValueError(f"{name} takes numbers; got {args!r}")
    return [float(a) for a in args]


def parse_distribution(spec: Any) -> Distribution:
    """Reads one distribution written with Azure's names.

    ``{choice: [a, b]}``, ``{randint: [upper]}`` (0 to upper-1),
    ``{uniform: [low, high]}``, ``{quniform: [low, high, q]}``,
    ``{loguniform: [low, high]}`` and ``{qloguniform: [low, high, q]}`` (the
    value's logarithm is uniform between low and high, as in Azure),
    ``{normal: [mu, sigma]}``, ``{qnormal: [mu, sigma, q]}``,
    ``{lognormal: [mu, sigma]}``, ``{qlognormal: [mu, sigma, q]}``. A bare value
    or list is shorthand for a fixed value or a choice.

    Raises:
        ValueError: an unknown name or impossible arguments, saying which.
    """
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, list):
        return Choice(tuple(spec))
    if not isinstance(spec, dict):
        return Choice((spec,))
    if len(spec) != 1:
        raise ValueError(f"a distribution is one name with its arguments, e.g. {{uniform: [0.01, 0.1]}}; got {spec!r}")
    ((kind, args),) = spec.items()
    args = list(args) if isinstance(args, (list, tuple)) else [args]
    if kind == "choice":
        return Choice(tuple(args))
    if kind == "randint":
        (upper,) = _numbers(kind, args, (1,))
        if not upper.is_integer() or upper < 1:
            raise ValueError(f"randint takes a positive integer upper bound; got {args!r}")
        return Choice((0,)) if upper == 1 else IntRange(0, int(upper) - 1)
    if kind in ("uniform", "quniform"):
        low, high, *q = _numbers(kind, args, (2,) if kind == "uniform" else (3,))
        return FloatRange(low, high, q=q[0] if q else None)
    if kind in ("loguniform", "qloguniform"):
        low, high, *q = _numbers(kind, args, (2,) if kind == "loguniform" else (3,))
        if low >= high:
            raise ValueError(f"low must be below high; got low={low}, high={high}")
        return FloatRange(math.exp(low), math.exp(high), log=True, q=q[0] if q else None)
    if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
        mu, sigma, *q = _numbers(kind, args, (3,) if kind.startswith("q") else (2,))
        return Normal(mu, sigma, log="lognormal" in kind, q=q[0] if q else None)
    raise ValueError(
        f"unknown distribution {kind!r}; use choice, randint, uniform, quniform, loguniform, qloguniform, normal, "
        "qnormal, lognormal or qlognormal"
    )
