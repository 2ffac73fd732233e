"""Tables read whole (training and validation data), and their content hash."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import pandas as pd

from components.errors import JidoError

TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | Path) -> Literal["csv", "parquet"]:
    """The table format implied by a file's extension.

    Raises:
        JidoError: the extension is neither CSV nor Parquet.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise JidoError(
            f"unsupported file format {suffix or '(no extension)'!r} for {path}; use a .csv or .parquet file"
        )
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
