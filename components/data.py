"""Loading, checking, hashing and splitting tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import pandas as pd

from components.errors import JidoError
from components.metrics import Task

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def is_text_categorical(values: pd.Series) -> bool:
    """Whether ``values`` is a pandas categorical whose categories are all text: compared as text, its values are its categories."""
    return isinstance(values.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(values.cat.categories)


def table_format(path: str | Path) -> Literal["csv", "parquet"]:
    """The table format implied by a file's extension.

    Raises:
        JidoError: the extension is neither CSV nor Parquet.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise JidoError(f"unsupported file format {suffix or '(no extension)'!r} for {path}; use a .csv or .parquet file")
    return TABLE_SUFFIXES[suffix]  # type: ignore[return-value]


def load_table(path: str | Path, role: str = "data") -> pd.DataFrame:
    """Reads a CSV or Parquet file with at least one row.

    Args:
        path: The file.
        role: What the file is for, used in messages (``training_data``, ``input``...).

    Raises:
        JidoError: the file is missing, empty, unreadable or of another format.
    """
    import pyarrow as pa

    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        raise JidoError(f"{role}: file not found: {path}")
    if path.stat().st_size == 0:
        raise JidoError(f"{role}: {path} is empty (0 bytes); give a file with a header and at least one row")
    try:
        frame = pd.read_csv(path, low_memory=False) if fmt == "csv" else pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise JidoError(f"{role}: {path} has no columns; give a file with a header and at least one row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pa.ArrowException, OSError, ValueError) as error:
        raise JidoError(f"{role}: cannot read {path} as {fmt}: {error}") from None
    if frame.empty:
        raise JidoError(f"{role}: {path} has a header but no rows; give at least one row of data")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def hash_frame(frame: pd.DataFrame) -> str:
    """A content hash of a table (values, column names and order)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(frame.columns).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class LearningData:
    """Features and target, checked to be learnable."""

    X: pd.DataFrame
    y: pd.Series
    n_dropped_rows: int
    classes: tuple | None


def prepare_learning_data(
    frame: pd.DataFrame, target_column: str, task: Task, ignore_columns: list[str] | tuple = (), role: str = "training_data"
) -> LearningData:
    """Separates the target, drops rows without one and checks the task can be learned.

    Raises:
        JidoError: the target is missing or unusable, or a feature column is entirely empty.
    """
    if target_column not in frame.columns:
        raise JidoError(
            f"target_column {target_column!r} is not a column of {role}; columns are: {', '.join(frame.columns[:30])}"
            + (" ..." if len(frame.columns) > 30 else "")
        )
    missing_ignored = [c for c in ignore_columns if c not in frame.columns]
    if missing_ignored:
        raise JidoError(f"ignore_columns names columns that {role} does not have: {', '.join(missing_ignored)}")
    y = frame[target_column]
    known = y.notna()
    if not known.any():
        raise JidoError(f"target_column {target_column!r} in {role} has no values (all null); fill it or pick another target")
    X = frame.loc[known].drop(columns=[target_column, *ignore_columns]).reset_index(drop=True)
    y = y[known].reset_index(drop=True)
    if X.shape[1] == 0:
        raise JidoError(f"{role} has no feature columns besides the target {target_column!r}")
    empty = [c for c in X.columns if X[c].isna().all()]
    if empty:
        raise JidoError(
            f"{role}: column(s) {', '.join(map(repr, empty))} are entirely empty (all null); "
            "remove them from the file or list them under ignore_columns"
        )
    classes = None
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise JidoError(
                f"target_column {target_column!r} has a single class ({counts.index[0]!r}); classification needs at least two"
            )
        classes = tuple(sorted(counts.index.tolist(), key=str))
    else:
        numeric = pd.to_numeric(y, errors="coerce")
        if numeric.isna().any():
            bad = y[numeric.isna()].iloc[0]
            raise JidoError(f"target_column {target_column!r} must be numeric for regression; found {bad!r}. Use task: classification for labels")
        if numeric.nunique() < 2:
            raise JidoError(f"target_column {target_column!r} is constant; there is nothing to learn")
        y = numeric.astype(float)
    return LearningData(X=X, y=y, n_dropped_rows=int((~known).sum()), classes=classes)


@dataclass(frozen=True)
class SplitPlan:
    """How trials are validated: a list of (train rows, validation rows) folds.

    A holdout is one fold; k-fold cross-validation is k folds. The rows index
    the concatenation of the training and (optional) separate validation data.
    """

    method: Literal["holdout", "validation_data", "cross_validation"]
    folds: tuple[tuple[np.ndarray, np.ndarray], ...]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(self.folds)

    def describe(self) -> str:
        n_valid = sum(len(v) for _, v in self.folds)
        if self.method == "cross_validation":
            return f"{len(self.folds)}-fold cross-validation"
        return f"{self.method} ({n_valid} validation rows)"


def plan_split(
    y: pd.Series,
    task: Task,
    seed: int,
    validation_size: float | None = None,
    n_cross_validations: int | None = None,
    n_validation_rows: int = 0,
) -> SplitPlan:
    """Chooses the validation rows.

    With no choice given, follows Azure's defaults: under 1,000 rows 10-fold
    cross-validation, up to 20,000 rows 3-fold, above that a 10% holdout.
    ``n_validation_rows`` > 0 means the last rows of ``y`` are a separate
    validation table.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n_rows = len(y)
    if n_validation_rows:
        rows = np.arange(n_rows)
        return SplitPlan("validation_data", ((rows[: n_rows - n_validation_rows], rows[n_rows - n_validation_rows :]),))
    if validation_size is None and n_cross_validations is None:
        if n_rows < 1000:
            n_cross_validations = 10
        elif n_rows <= 20000:
            n_cross_validations = 3
        else:
            validation_size = 0.1
    stratify = task == "classification" and y.value_counts().min() >= 2
    if n_cross_validations is not None:
        if n_cross_validations > n_rows:
            raise JidoError(f"n_cross_validations={n_cross_validations} exceeds the {n_rows} training rows")
        if stratify and y.value_counts().min() >= n_cross_validations:
            splitter = StratifiedKFold(n_cross_validations, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_cross_validations, shuffle=True, random_state=seed)
        folds = tuple((train, valid) for train, valid in splitter.split(np.zeros(n_rows), y))
        return SplitPlan("cross_validation", folds)
    rows = np.arange(n_rows)
    try:
        train, valid = train_test_split(rows, test_size=validation_size, random_state=seed, stratify=y if stratify else None)
    except ValueError as error:
        raise JidoError(f"validation_size={validation_size} cannot split {n_rows} rows: {error}") from None
    return SplitPlan("holdout", ((np.sort(train), np.sort(valid)),))
