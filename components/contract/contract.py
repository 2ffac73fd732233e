"""The data contract: what the training data looked like, as a great-expectations suite.

It is learned from the training features when a model is trained and kept with
the registered version, so every later scoring run can be checked against what
the model was built on: required columns, types, numeric ranges (widened by a
tolerance), the allowed values of low-cardinality columns, and null fractions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from components.contract.drift import category_bins, decile_edges, numeric_bins, shares
from components.data.values import to_numbers
from components.errors import at_most

if TYPE_CHECKING:
    from components.features.columns import ColumnProfile

ValueKind = Literal["numeric", "categorical", "datetime", "text", "unused"]

# A column with at most this many distinct values gets an allowed-values expectation.
MAX_CATEGORIES = 50
# Numeric ranges are widened by this share of their span on each side (never below 0 for non-negative columns).
# Scoring rejects values outside it, so it marks values far out of range: with 0.1,
# 3 of the 119 held-out rows of scikit-learn's breast cancer data fell outside.
RANGE_TOLERANCE = 0.5
# A null fraction may grow by this much (absolute) before it breaks the contract.
NULL_SLACK = 0.05

_KINDS: dict[str, ValueKind] = {
    "numeric": "numeric",
    "numeric_text": "numeric",
    "categorical": "categorical",
    "datetime": "datetime",
    "text": "text",
}

# The pandas dtypes of a text column as training read it.
TEXT_DTYPES = ("object", "str", "string")


@dataclass(frozen=True)
class ColumnContract:
    """What one training column promised.

    Attributes:
        name: The column.
        kind: How jido uses it (``unused`` for columns the featurizer drops).
        dtype: Its pandas dtype at training time.
        null_fraction: Share of nulls in the training rows.
        low, high: The accepted numeric range (the training range widened by the tolerance).
        categories: Allowed values of a low-cardinality categorical column.
        edges: A numeric column's training deciles (upper bin edges), for drift.
        expected: The training rows' share in each drift bin: per decile bin
            for a numeric column, per category and one unseen bin for a
            categorical one. Contracts learned before jido measured drift lack
            both, and their scoring runs report no drift.
    """

    name: str
    kind: ValueKind
    dtype: str
    null_fraction: float
    low: float | None = None
    high: float | None = None
    categories: tuple[Any, ...] | None = None
    edges: tuple[float, ...] | None = None
    expected: tuple[float, ...] | None = None


@dataclass(frozen=True)
class DataContract:
    """The contract of a whole training table."""

    columns: tuple[ColumnContract, ...]

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_json(self) -> str:
        return json.dumps({"columns": [asdict(c) for c in self.columns]}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> DataContract:
        raw = json.loads(text)
        columns = [
            ColumnContract(
                **{
                    **c,
                    **{
                        key: None if c.get(key) is None else tuple(c[key])
                        for key in ("categories", "edges", "expected")
                    },
                }
            )
            for c in raw["columns"]
        ]
        return cls(tuple(columns))

    def category_columns(self) -> list[str]:
        """Text columns of a few known categories: a reader may decode them as categoricals, and scoring writes them
        back as text."""
        return [
            c.name
            for c in self.columns
            if c.kind == "categorical" and c.categories is not None and c.dtype in TEXT_DTYPES
        ]

    def drift_profiles(self) -> list[tuple[str, str, tuple, tuple[float, ...]]]:
        """``(column, kind, edges or categories, expected shares)`` of each column profiled for drift."""
        return [
            (c.name, c.kind, c.edges if c.kind == "numeric" else c.categories, c.expected)
            for c in self.columns
            if c.expected and (c.edges is not None or c.categories is not None)
        ]

    def coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with numeric columns as numbers (numbers stored as text included), as the suite expects them.

        A value that is not a number becomes null, which the not-null
        expectation then reports for columns that had no nulls.
        """
        out = frame.copy()
        for column in self.columns:
            if column.kind == "numeric" and column.name in out.columns:
                out[column.name] = to_numbers(out[column.name])
        return out

    def to_suite(self, name: str):
        """The contract as a great-expectations ExpectationSuite, for frames passed through :meth:`coerce`."""
        import great_expectations as gx
        import great_expectations.expectations as gxe

        gx.get_context(mode="ephemeral")  # GX builds suites only with an active context; an ephemeral one costs ~10 ms
        suite = gx.ExpectationSuite(name=name, meta={"jido.contract": json.loads(self.to_json())})
        suite.add_expectation(gxe.ExpectTableColumnsToMatchSet(column_set=self.column_names(), exact_match=False))
        for column in self.columns:
            if column.kind == "unused":
                continue
            suite.add_expectation(gxe.ExpectColumnToExist(column=column.name))
            allowed_nulls = min(1.0, column.null_fraction + NULL_SLACK) if column.null_fraction else 0.0
            suite.add_expectation(
                gxe.ExpectColumnValuesToNotBeNull(column=column.name, mostly=round(1.0 - allowed_nulls, 6))
            )
            if column.low is not None and column.high is not None:
                suite.add_expectation(
                    gxe.ExpectColumnValuesToBeBetween(column=column.name, min_value=column.low, max_value=column.high)
                )
            if column.categories is not None:
                suite.add_expectation(
                    gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.categories))
                )
        return suite

    def rows(self) -> list[dict[str, Any]]:
        """One printable row per column."""
        out = []
        for c in self.columns:
            if c.low is not None:
                values = f"{c.low:.6g} .. {c.high:.6g}"
            elif c.categories is not None:
                shown = ", ".join(at_most([str(v) for v in c.categories], 8))
                values = f"{{{shown}}} ({len(c.categories)})"
            else:
                values = "any"
            out.append(
                {
                    "column": c.name,
                    "kind": c.kind,
                    "dtype": c.dtype,
                    "nulls seen": f"{c.null_fraction:.1%}",
                    "accepted values": values,
                }
            )
        return out


def learn_contract(X: pd.DataFrame, profiles: list[ColumnProfile] | tuple[ColumnProfile, ...]) -> DataContract:
    """Profiles the training features into a contract, using the featurizer's view of each column."""
    kinds = {p.name: _KINDS.get(p.kind, "unused") for p in profiles}
    columns = []
    for name in X.columns:
        series = X[name]
        kind = kinds.get(str(name), "unused")
        low = high = None
        categories = edges = expected = None
        if kind == "numeric":
            values = to_numbers(series).replace([np.inf, -np.inf], np.nan).dropna()
            edges = decile_edges(values.to_numpy(dtype=float))
            expected = shares(numeric_bins(values.to_numpy(dtype=float), edges)) or None
            if len(values):
                span = float(values.max() - values.min()) or max(abs(float(values.max())), 1.0)
                low, high = float(values.min()) - RANGE_TOLERANCE * span, float(values.max()) + RANGE_TOLERANCE * span
                if values.min() >= 0:  # a column that was never negative (counts, amounts) does not become so
                    low = max(low, 0.0)
        elif kind == "categorical":
            distinct = pd.unique(series.dropna())
            if len(distinct) <= MAX_CATEGORIES:
                categories = tuple(sorted((v.item() if isinstance(v, np.generic) else v for v in distinct), key=str))
                expected = shares(category_bins(series, categories)) or None
        columns.append(
            ColumnContract(
                str(name),
                kind,
                str(series.dtype),
                round(float(series.isna().mean()), 6),
                low,
                high,
                categories,
                edges,
                expected,
            )
        )
    return DataContract(tuple(columns))
