"""Batch scoring: predictions for a table, written atomically."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from components.data import table_format
from components.errors import JidoError


@dataclass(frozen=True)
class ScoreSummary:
    """What a scoring run did."""

    model_name: str
    model_version: str
    input_path: str
    output_path: str
    n_rows: int
    prediction_counts: dict[str, int]
    n_rejected: int = 0
    rejected_path: str | None = None
    rejected_reasons: dict[str, int] = field(default_factory=dict)


def required_columns(pipeline: Pipeline) -> list[str]:
    """The input columns the fitted pipeline was trained on."""
    return [str(c) for c in pipeline.named_steps["featurize"].feature_names_in_]


def score_frame(pipeline: Pipeline, frame: pd.DataFrame, model_name: str, model_version: str) -> pd.DataFrame:
    """Input rows in their order, plus ``prediction``, ``probability_<class>`` per class and the model's name and version.

    Raises:
        JidoError: the input lacks columns the model was trained on.
    """
    needed = required_columns(pipeline)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise JidoError(f"input lacks column(s) the model was trained on: {', '.join(missing)}")
    X = frame[needed]
    scored = frame.copy()
    if hasattr(pipeline, "predict_proba"):
        # One pass of the model, not two: for a deep text model, inference is most of scoring's time.
        proba = pipeline.predict_proba(X)
        scored["prediction"] = np.asarray(pipeline.classes_)[np.argmax(proba, axis=1)]
        for j, label in enumerate(pipeline.classes_):
            scored[f"probability_{label}"] = proba[:, j]
    else:
        scored["prediction"] = pipeline.predict(X)
    scored["model_name"] = model_name
    scored["model_version"] = str(model_version)
    return scored


def rejected_path(output: str | Path) -> Path:
    """Where the rows set aside by a scoring run to ``output`` go: ``rejected/`` beside it, under the same name."""
    output = Path(output)
    return output.parent / "rejected" / output.name


def write_table_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Writes CSV or Parquet (by extension) to a temporary file, then renames it into place.

    A failure leaves no file at ``path`` (and an older file there untouched).
    """
    path = Path(path)
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    try:
        if fmt == "csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
        # mkstemp creates the file private (0600); give it the permissions a plain write would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def count_predictions(predictions: pd.Series, limit: int = 20) -> dict[str, int]:
    """Counts of each predicted label (classification) for the summary; empty for regression."""
    if pd.api.types.is_float_dtype(predictions) and predictions.nunique() > limit:
        return {}
    counts = predictions.astype(str).value_counts().head(limit)
    return {str(k): int(v) for k, v in counts.items()}


__all__ = ["ScoreSummary", "count_predictions", "required_columns", "score_frame", "write_table_atomic"]
