"""How jido reads the values of one column: text categoricals, and numbers stored as numbers or text."""

from __future__ import annotations

import pandas as pd


def is_text_categorical(values: pd.Series) -> bool:
    """Whether ``values`` is a pandas categorical whose categories are all text: compared as text, its values are its
    categories."""
    return isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(values.cat.categories)


def to_numbers(series: pd.Series) -> pd.Series:
    """``series`` as floats: numbers as they are, text parsed (surrounding spaces ignored), anything else null."""
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return pd.to_numeric(series.astype("string").str.strip(), errors="coerce").astype(float)
