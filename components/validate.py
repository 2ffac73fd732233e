"""Scoring input checked against a model's data contract: whole-input problems, and rows set aside with reasons.

The checks are the contract's great-expectations suite (components/contract.py)
evaluated row by row with vectorised pandas: GX's own validation reports which
rows broke an expectation only after per-expectation passes over the whole
batch, which would cost more than scoring itself on large inputs. A test runs
both over the same frames and checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from components.contract import DataContract, to_numbers

# A string cell longer than this is refused: no training value comes near it,
# and featurizing it would stall the batch (10 MB strings are a known attack on scoring).
MAX_CELL_CHARS = 1_000_000
REASON_COLUMN = "rejected_reason"


@dataclass(frozen=True)
class CheckedInput:
    """Input rows split by the contract.

    Attributes:
        accepted: Rows to score, in their input order, as given.
        rejected: Rows set aside, as given, with a ``rejected_reason`` column.
    """

    accepted: pd.DataFrame
    rejected: pd.DataFrame


def table_problems(frame: pd.DataFrame, contract: DataContract) -> list[str]:
    """Problems of the input as a whole, each a sentence naming the column: missing columns, values of the wrong type throughout."""
    problems = []
    used = [c for c in contract.columns if c.kind != "unused"]
    missing = [c.name for c in used if c.name not in frame.columns]
    if missing:
        problems.append(f"missing column(s) the model was trained on: {', '.join(missing)}")
    for column in used:
        if column.name not in frame.columns or column.kind != "numeric":
            continue
        values = frame[column.name]
        present = values.notna()
        if present.any() and to_numbers(values[present]).isna().all():
            example = values[present].iloc[0]
            problems.append(f"column {column.name!r} should hold numbers, but none of its {int(present.sum())} values is one (e.g. {str(example)[:40]!r})")
    return problems


def _join(reasons: pd.Series, flagged: pd.Series, message: pd.Series | str) -> pd.Series:
    addition = message if isinstance(message, pd.Series) else pd.Series(message, index=reasons.index)
    joined = reasons.where(reasons == "", reasons + "; ") + addition
    return reasons.where(~flagged, joined)


def row_reasons(frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    """Why each row breaks the contract ("" for a row that keeps it).

    A row is rejected for a null where training saw none, a value that is not
    a number (or is infinite) in a numeric column, a number outside the
    contract's range, or a string longer than ``MAX_CELL_CHARS``. Unseen
    categories are accepted: jido's featurizer encodes them as unknown.
    """
    reasons = pd.Series("", index=frame.index, dtype=object)
    for column in contract.columns:
        if column.kind == "unused" or column.name not in frame.columns:
            continue
        values = frame[column.name]
        given = values.notna()
        if column.null_fraction == 0:
            reasons = _join(reasons, ~given, f"{column.name} is empty (training had no empty values)")
        if column.kind == "numeric":
            numbers = to_numbers(values)
            not_number = given & numbers.isna()
            shown = values.astype("string").str.slice(0, 40)
            reasons = _join(reasons, not_number, f"{column.name}=" + shown.fillna("") + " is not a number")
            infinite = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
            reasons = _join(reasons, pd.Series(infinite, index=frame.index), f"{column.name} is infinite")
            if column.low is not None and column.high is not None:
                outside = pd.Series(~infinite, index=frame.index) & ((numbers < column.low) | (numbers > column.high)).fillna(False)
                reasons = _join(
                    reasons, outside, f"{column.name}=" + shown.fillna("") + f" outside the accepted range [{column.low:.6g}, {column.high:.6g}]"
                )
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            lengths = values.astype("string").str.len()
            too_long = (lengths > MAX_CELL_CHARS).fillna(False)
            reasons = _join(reasons, too_long, f"{column.name} holds " + lengths.astype("string").fillna("") + f" characters (more than {MAX_CELL_CHARS:,})")
    return reasons


def check_rows(frame: pd.DataFrame, contract: DataContract) -> CheckedInput:
    """Splits ``frame`` into rows that keep the contract and rows that break it (with their reasons)."""
    reasons = row_reasons(frame, contract)
    bad = reasons != ""
    rejected = frame[bad].copy()
    rejected[REASON_COLUMN] = reasons[bad]
    return CheckedInput(frame[~bad], rejected)


def top_reasons(rejected: pd.DataFrame, limit: int = 5) -> dict[str, int]:
    """The most frequent kinds of rejection (values left out), for summaries."""
    if rejected.empty:
        return {}
    kinds = rejected[REASON_COLUMN].str.split("; ").explode().str.replace(r"=.*? (is|outside)", r" \1", regex=True)
    kinds = kinds.str.replace(r" holds \d+ characters.*", " holds too many characters", regex=True)
    return {str(k): int(v) for k, v in kinds.value_counts().head(limit).items()}
