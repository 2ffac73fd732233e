"""Drift of scoring input against the training data, per feature: the population stability index.

PSI compares the share of rows in each bin, training (expected) against
scoring (actual): ``sum((actual - expected) * ln(actual / expected))``. Bins
are the training deciles for numeric columns and the training categories (plus
one bin for anything unseen) for categorical ones. The usual reading, from
credit scoring, where PSI comes from: below 0.1 stable, 0.1 to 0.25 a moderate
shift, above 0.25 a major one. No library in the stack computes it over
streamed batches, hence this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.data.values import is_text_categorical, to_numbers

# A bin's share is floored at this before the logarithm, so an empty bin counts as a large but finite shift.
SHARE_FLOOR = 1e-4
MODERATE, MAJOR = 0.1, 0.25
# Below this many rows PSI is mostly sampling noise (about (bins - 1) / rows for an unchanged population: 0.09 at 100
# rows),
# so it is reported without a verdict.
MIN_ROWS = 1000


def decile_edges(values: np.ndarray) -> tuple[float, ...]:
    """Distinct training deciles of finite ``values`` (upper bin edges; the last bin is open)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return ()
    return tuple(float(e) for e in np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))))


def numeric_bins(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Counts of finite ``values`` per bin: ``<= edges[0]``, ..., ``> edges[-1]``."""
    finite = values[np.isfinite(values)]
    return np.bincount(np.searchsorted(np.asarray(edges), finite, side="left"), minlength=len(edges) + 1)


def category_bins(values: pd.Series, categories: tuple) -> np.ndarray:
    """Counts of non-null ``values`` per training category, then one bin for unseen values (compared as text)."""
    known = pd.Index([str(c) for c in categories], dtype=object)
    if is_text_categorical(values):
        # A categorical read from a file's dictionary: each of its categories is looked up once, not each row.
        position = known.get_indexer(values.cat.categories.astype(object))
        position[position < 0] = len(categories)
        codes = values.cat.codes.to_numpy()
        return np.bincount(position[codes[codes >= 0]], minlength=len(categories) + 1)
    present = values.dropna()
    if not (isinstance(present.dtype, pd.StringDtype) or present.dtype == object):
        present = present.astype(str)
    codes = known.get_indexer(present.astype(object))
    codes[codes < 0] = len(categories)
    return np.bincount(codes, minlength=len(categories) + 1)


def shares(counts: np.ndarray) -> tuple[float, ...]:
    total = counts.sum()
    return tuple(round(float(c) / total, 6) for c in counts) if total else ()


def psi(expected: np.ndarray | tuple, actual_counts: np.ndarray) -> float:
    """The population stability index of observed counts against expected shares."""
    expected = np.maximum(np.asarray(expected, dtype=float), SHARE_FLOOR)
    actual = np.maximum(actual_counts / max(actual_counts.sum(), 1), SHARE_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level(value: float) -> str:
    """``stable``, ``moderate`` or ``major``."""
    return "major" if value >= MAJOR else "moderate" if value >= MODERATE else "stable"


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift over a scoring run."""

    column: str
    psi: float
    level: str
    n_rows: int


def drifted(drifts: list[FeatureDrift] | tuple[FeatureDrift, ...]) -> list[FeatureDrift]:
    """The features whose drift is worth a warning (moderate or major), in the order given."""
    return [d for d in drifts if d.level in ("moderate", "major")]


class DriftCounter:
    """Counts scoring rows into each profiled column's training bins, batch by batch.

    Args:
        profiles: ``(column, kind, edges_or_categories, expected_shares)`` per
            profiled column; kind is ``numeric`` or ``categorical``.
    """

    def __init__(self, profiles: list[tuple[str, str, tuple, tuple[float, ...]]]):
        self.profiles = profiles
        self.counts = {name: np.zeros(len(expected), dtype=np.int64) for name, _, _, expected in profiles}

    def add(self, frame: pd.DataFrame) -> None:
        for name, kind, bins, _ in self.profiles:
            if name not in frame.columns:
                continue
            if kind == "numeric":
                self.counts[name] += numeric_bins(to_numbers(frame[name]).to_numpy(dtype=float, na_value=np.nan), bins)
            else:
                self.counts[name] += category_bins(frame[name], bins)

    def merge(self, other: DriftCounter) -> None:
        """Adds the counts of ``other``, a counter of the same profiles over other rows."""
        for name, counts in other.counts.items():
            self.counts[name] += counts

    def result(self) -> list[FeatureDrift]:
        """Each profiled column that saw values, most drifted first."""
        drifts = []
        for name, _, _, expected in self.profiles:
            counts = self.counts[name]
            if counts.sum():
                value = psi(expected, counts)
                verdict = level(value) if counts.sum() >= MIN_ROWS else "too few rows"
                drifts.append(FeatureDrift(name, round(value, 6), verdict, int(counts.sum())))
        return sorted(drifts, key=lambda d: -d.psi)
