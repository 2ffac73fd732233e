"""A request's few JSON rows featurized without pandas, for ``jido serve``.

One row through pandas and scikit-learn's transformers costs ~5 ms of fixed
per-call work (frame construction, column selection, each encoder's input
validation) for microseconds of arithmetic: half of a single-row request.

The encoders' results are looked up instead of recomputed. Every categorical
group of a fitted :class:`~components.features.auto.AutoFeaturizer` (one-hot and
target encoding, with any scaling after them) maps each input column to its
own output columns, independently of the others. So when a featurizer first
meets records, each column's training categories, plus one value it never
saw, are passed once through the fitted group itself; the output columns
that column owns are kept per value. A row's categorical features are then
those entries, copied into place: the group's own numbers, not a
re-implementation of its encoding. Numeric groups run their fitted imputer
and scaler on a plain array, as :meth:`AutoFeaturizer.transform` does.

Anything else (a datetime or text column, a value that is not a plain string
or number) goes the pandas way, so the features are the same either way;
a test compares both on every column kind.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from components.features.columns import MISSING_CATEGORY, NumericCoercer

# Stands for every value a categorical column did not see in training: the encoders treat all such values alike.
_UNSEEN = "\x00jido: a value not seen in training\x00"


class Records:
    """A request's rows (column: value), as given, passed through a fitted pipeline in place of a frame.

    Steps that know records (an ``AutoFeaturizer``, ensembles, column
    selection) featurize them directly; :meth:`frame` is the same rows as
    the table batch scoring would see.
    """

    def __init__(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]):
        self.rows = rows
        self.columns = list(columns)

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self.rows)
        frame.columns = [str(c) for c in frame.columns]
        return frame[self.columns]


@dataclass(frozen=True)
class _CategoricalGroup:
    """One fitted categorical group, tabulated: per column, its output positions and their values for each category."""

    columns: tuple[str, ...]
    reference: np.ndarray  # the group's output for a row of each column's first category
    positions: tuple[np.ndarray, ...]
    values: tuple[dict[str, np.ndarray], ...]

    def features(self, rows: Sequence[dict], missing: str) -> np.ndarray:
        out = np.tile(self.reference, (len(rows), 1))
        for j, column in enumerate(self.columns):
            table, where = self.values[j], self.positions[j]
            if not len(where):
                continue
            unseen = table[_UNSEEN]
            for i, row in enumerate(rows):
                value = row[column]
                out[i, where] = table.get(missing if value is None else value, unseen)
        return out


@dataclass(frozen=True)
class _NumericGroup:
    """One fitted numeric group: its columns, and the steps after numeric coercion (imputer, scaler)."""

    columns: tuple[str, ...]
    steps: tuple[Any, ...]

    def features(self, rows: Sequence[dict]) -> np.ndarray:
        block = np.array([[np.nan if row[c] is None else row[c] for c in self.columns] for row in rows], dtype=float)
        for step in self.steps:
            block = step.transform(block)
        return np.asarray(block, dtype=float)


@dataclass(frozen=True)
class RowTables:
    """A fitted featurizer's groups in output order, and the kind of value each of their columns takes."""

    groups: tuple[_NumericGroup | _CategoricalGroup, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    sparse_output: bool
    missing: str

    def features(self, rows: Sequence[dict]):
        """The features of ``rows``, or None when a value is not a plain number (numeric column) or string (categorical
        column)."""
        for row in rows:
            for column in self.numeric:
                value = row.get(column, _UNSEEN)
                if value is not None and (type(value) is bool or not isinstance(value, Real)):
                    return None
            for column in self.categorical:
                value = row.get(column, 0)
                if value is not None and type(value) is not str:
                    return None
        blocks = [
            g.features(rows) if isinstance(g, _NumericGroup) else g.features(rows, self.missing) for g in self.groups
        ]
        dense = np.hstack(blocks)
        return sparse.csr_matrix(dense) if self.sparse_output else dense


_TABLES: weakref.WeakKeyDictionary[Any, RowTables | None] = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def row_tables(featurizer) -> RowTables | None:
    """The fitted featurizer's tables, built on first use and kept beside it (None when a group has no table: datetime,
    text).

    Kept outside the estimator, so it is not saved with the model nor copied by ``clone``.
    """
    with _TABLES_LOCK:
        if featurizer not in _TABLES:
            _TABLES[featurizer] = _build(featurizer)
        return _TABLES[featurizer]


def _steps(fitted) -> list:
    return list(fitted.named_steps.values()) if hasattr(fitted, "named_steps") else [fitted]


def _build(featurizer) -> RowTables | None:
    kinds = {p.name: p.kind for p in featurizer.profiles_}
    groups: list[_NumericGroup | _CategoricalGroup] = []
    for _, fitted, columns in featurizer.transformer_.transformers_:
        if isinstance(fitted, str) or len(columns) == 0:  # the dropped remainder
            continue
        columns = tuple(str(c) for c in columns)
        steps = _steps(fitted)
        if all(kinds.get(c) == "numeric" for c in columns) and isinstance(steps[0], NumericCoercer):
            groups.append(_NumericGroup(columns, tuple(steps[1:])))
        elif all(kinds.get(c) == "categorical" for c in columns):
            tabulated = _tabulate(fitted, columns, MISSING_CATEGORY)
            if tabulated is None:
                return None
            groups.append(tabulated)
        else:
            return None
    numeric = tuple(c for g in groups if isinstance(g, _NumericGroup) for c in g.columns)
    categorical = tuple(c for g in groups if isinstance(g, _CategoricalGroup) for c in g.columns)
    return RowTables(
        tuple(groups), numeric, categorical, bool(featurizer.transformer_.sparse_output_), MISSING_CATEGORY
    )


def _tabulate(fitted, columns: tuple[str, ...], missing: str) -> _CategoricalGroup | None:
    """Passes each column's training categories, and one unseen value, through the fitted group; keeps what each column
    owns.

    None when an output column follows more than one input column (no encoder jido fits does that).
    """
    encoder = next(step for step in _steps(fitted) if hasattr(step, "categories_"))
    categories = [[str(v) for v in values] for values in encoder.categories_]
    first = [values[0] if values else missing for values in categories]
    rows = [first]
    spans = []
    for j, values in enumerate(categories):
        varied = [*values, _UNSEEN]
        spans.append((len(rows), varied))
        rows.extend([*first[:j], value, *first[j + 1 :]] for value in varied)
    table = pd.DataFrame(rows, columns=list(columns), dtype=object)
    out = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the one-hot encoder warns of the unseen value
        for step in _steps(fitted):
            out = step.transform(out)
    out = out.toarray() if sparse.issparse(out) else np.asarray(out, dtype=float)
    reference = out[0]
    positions, values = [], []
    for start, varied in spans:
        block = out[start : start + len(varied)]
        where = np.flatnonzero((block != reference).any(axis=0))
        positions.append(where)
        values.append({value: block[k, where] for k, value in enumerate(varied)})
    owned = np.concatenate(positions) if positions else np.array([], dtype=int)
    if len(owned) != len(np.unique(owned)):
        return None
    return _CategoricalGroup(columns, reference, tuple(positions), tuple(values))


def takes_records(pipeline) -> bool:
    """Whether a fitted pipeline can be given :class:`Records`: its first step reads them, and so does its last when it
    reads input itself.

    A single model's pipeline starts with its featurizer (an
    ``AutoFeaturizer`` whose groups all tabulate, a ``NativeFeaturizer``
    without datetimes); an ensemble's passes the records on to its members'
    featurizers, which must all read them. A step says so with ``reads_records()``.
    """
    first, final = pipeline.steps[0][1], pipeline.steps[-1][1]
    readers = [first] + ([final] if len(pipeline.steps) == 2 and hasattr(final, "reads_records") else [])
    return all(hasattr(step, "reads_records") and step.reads_records() for step in readers)
