"""Batch scoring: predictions for a table, written atomically."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from components.batches import BATCH_ROWS, AtomicTableWriter, WriteBehind, prefetched, read_batches, table_columns
from components.contract import DataContract
from components.drift import DriftCounter, FeatureDrift
from components.errors import InputProblems, JidoError
from components.validate import check_rows, row_reasons, table_problems, top_reasons


@dataclass(frozen=True)
class ScoreSummary:
    """What a scoring run did.

    Attributes:
        n_rows: Rows scored into the output.
        n_rows_in: Rows read from the input.
        n_files: Input files read.
        scored_at: The run's scoring time (ISO 8601, UTC), on every output row.
        drift: Each profiled feature's population stability index against the training data, most drifted first.
    """

    model_name: str
    model_version: str
    input_path: str
    output_path: str
    n_rows: int
    prediction_counts: dict[str, int]
    n_rejected: int = 0
    rejected_path: str | None = None
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    n_rows_in: int = 0
    n_files: int = 1
    scored_at: str = ""
    drift: tuple[FeatureDrift, ...] = ()


def required_columns(pipeline: Pipeline) -> list[str]:
    """The input columns the fitted pipeline reads: those it was trained on, less any its featurizer dropped."""
    featurizer = pipeline.named_steps["featurize"]
    if hasattr(featurizer, "used_columns"):
        return [str(c) for c in featurizer.used_columns()]
    return [str(c) for c in featurizer.feature_names_in_]


def predict(pipeline: Pipeline, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions and, for a classifier, the class probabilities (columns in ``pipeline.classes_`` order)."""
    if hasattr(pipeline, "predict_proba"):
        # One pass of the model, not two: for a deep text model, inference is most of scoring's time.
        proba = pipeline.predict_proba(X)
        return np.asarray(pipeline.classes_)[np.argmax(proba, axis=1)], proba
    return np.asarray(pipeline.predict(X)), None


def score_frame(
    pipeline: Pipeline, frame: pd.DataFrame, model_name: str, model_version: str, scored_at: datetime | None = None
) -> pd.DataFrame:
    """Input rows in their order, plus ``prediction``, ``probability_<class>`` per class, the model's name and version and ``scored_at``.

    Raises:
        JidoError: the input lacks columns the model was trained on.
    """
    needed = required_columns(pipeline)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise JidoError(f"input lacks column(s) the model was trained on: {', '.join(missing)}")
    scored = frame.copy(deep=False)  # copy-on-write: the caller's frame is not changed, and no data is copied
    scored["prediction"], proba = predict(pipeline, frame[needed])
    if proba is not None:
        for j, label in enumerate(pipeline.classes_):
            scored[f"probability_{label}"] = proba[:, j]
    scored["model_name"] = model_name
    scored["model_version"] = str(model_version)
    scored["scored_at"] = pd.Timestamp(scored_at or datetime.now(timezone.utc)).as_unit("us")
    return scored


# A real-time request scores at most this many rows; larger inputs belong to batch scoring.
MAX_REQUEST_ROWS = 10_000
_SCALARS = (str, int, float, bool, type(None))


def records_frame(rows: object) -> pd.DataFrame:
    """The table of a request's JSON rows: a list of objects mapping column to a scalar value.

    Raises:
        InputProblems: not a non-empty list of such objects, or more than ``MAX_REQUEST_ROWS``.
    """
    if not isinstance(rows, list):
        raise InputProblems([f"rows must be a JSON list of objects (column: value), got {type(rows).__name__}"])
    if not rows:
        raise InputProblems(["no rows given; send at least one object (column: value)"])
    if len(rows) > MAX_REQUEST_ROWS:
        raise InputProblems([f"{len(rows)} rows in one request, more than {MAX_REQUEST_ROWS:,}; send fewer, or use batch scoring (jido score)"])
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"row {i} is {type(row).__name__}, not an object (column: value)")
            continue
        nested = [str(k) for k, v in row.items() if not isinstance(v, _SCALARS)]
        if nested:
            problems.append(f"row {i}: column(s) {', '.join(nested)} hold a list or an object; give one value per column")
    if problems:
        raise InputProblems(problems[:20] + ([f"... and {len(problems) - 20} more rows"] if len(problems) > 20 else []))
    frame = pd.DataFrame.from_records(rows)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def score_records(pipeline: Pipeline, contract: DataContract, rows: object) -> list[dict]:
    """Predictions for JSON rows, checked against the data contract: all of them, or none.

    Returns:
        Per row ``{"prediction": ...}``, plus ``"probabilities": {class: p}`` for a classifier.

    Raises:
        InputProblems: the rows are malformed, miss columns, or any row breaks the contract (named by its index).
    """
    frame = records_frame(rows)
    problems = table_problems(frame, contract)
    if not problems:
        reasons = row_reasons(frame, contract)
        problems = [f"row {i}: {reason}" for i, reason in enumerate(reasons) if reason]
    needed = required_columns(pipeline)
    missing = [c for c in needed if c not in frame.columns]
    if missing and not any(p.startswith("missing") for p in problems):  # a model kept without a contract
        problems.insert(0, f"missing column(s) the model was trained on: {', '.join(missing)}")
    if problems:
        raise InputProblems(problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else []))
    labels, proba = predict(pipeline, frame if list(frame.columns) == needed else frame[needed])  # selecting costs ~1 ms a request
    labels = labels.tolist()
    if proba is None:
        return [{"prediction": label} for label in labels]
    classes = [c.item() if isinstance(c, np.generic) else c for c in pipeline.classes_]
    return [{"prediction": label, "probabilities": dict(zip(map(str, classes), row))} for label, row in zip(labels, proba.tolist())]


def rejected_path(output: str | Path) -> Path:
    """Where the rows set aside by a scoring run to ``output`` go: ``rejected/`` beside it, under the same name."""
    output = Path(output)
    return output.parent / "rejected" / output.name


def _text_as_trained(scored: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Columns that held text at training time written as text, whatever a batch's reader inferred.

    A CSV chunk whose text column happens to be all empty reads as floats; the
    Parquet output's schema, fixed by its first batch, must not depend on that.
    """
    for column in contract.columns:
        if column.name in scored.columns and column.dtype in ("object", "str", "string") and not isinstance(scored[column.name].dtype, pd.StringDtype):
            scored[column.name] = scored[column.name].astype("string")
    return scored


# Drift is measured on an even sample of at most about this many rows per batch: plenty for a decile share, a fifth of the cost.
DRIFT_ROWS_PER_BATCH = 20_000


def score_files(
    pipeline: Pipeline,
    contract: DataContract,
    files: Sequence[Path],
    output: Path,
    model_name: str,
    model_version: str,
    scored_at: datetime,
    max_rejected_fraction: float,
    batch_rows: int = BATCH_ROWS,
) -> ScoreSummary:
    """Scores tables batch by batch into ``output``, rows that break ``contract`` into ``rejected/`` beside it, both atomically.

    Whole-input problems (a missing column in any file, a file that cannot be
    read, a numeric column with no number in a batch) and more rejected rows
    than ``max_rejected_fraction`` fail the run: it raises and leaves no output,
    no quarantine file, and any earlier output untouched. Rejected rows keep
    their values as text, exactly as read, so that any bad value fits the file.

    Raises:
        JidoError: the input cannot be scored, naming each problem.
    """
    output = Path(output)
    source = str(files[0]) if len(files) == 1 else f"{len(files)} files from {files[0].parent}"
    problems = []
    for path in files:
        missing = [c for c in table_problems(pd.DataFrame(columns=table_columns(path)), contract) if c.startswith("missing")]
        problems += [f"{path}: {problem}" for problem in missing]
    if problems:
        raise JidoError(f"input cannot be scored with {model_name} version {model_version}:\n  - " + "\n  - ".join(problems))
    quarantine = rejected_path(output)
    drift = DriftCounter(contract.drift_profiles())
    predictions: Counter[str] = Counter()
    reason_counts: Counter[str] = Counter()
    n_in = 0
    with AtomicTableWriter(output) as scored_out, AtomicTableWriter(quarantine) as rejected_out:
        behind = WriteBehind(scored_out)
        try:
            for path in files:
                for frame in prefetched(read_batches(path, batch_rows)):
                    n_in += len(frame)
                    problems = table_problems(frame, contract)
                    if problems:
                        where = f"{path}, rows {n_in - len(frame) + 1}-{n_in}" if len(files) == 1 else f"{path}"
                        raise JidoError(f"input cannot be scored with {model_name} version {model_version} ({where}):\n  - " + "\n  - ".join(problems))
                    checked = check_rows(frame, contract)
                    if len(checked.rejected):
                        reason_counts.update(top_reasons(checked.rejected, limit=None))
                        rejected_out.write(checked.rejected.astype("string"))
                    if len(checked.accepted):
                        drift.add(checked.accepted.iloc[:: max(1, len(checked.accepted) // DRIFT_ROWS_PER_BATCH)])
                        scored = score_frame(pipeline, checked.accepted, model_name, model_version, scored_at)
                        if hasattr(pipeline, "classes_"):
                            predictions.update(scored["prediction"].astype(str).value_counts().to_dict())
                        behind.write(_text_as_trained(scored, contract))
        finally:
            behind.drain()
        n_rejected = rejected_out.n_rows
        if n_in == 0:
            raise JidoError(f"{source} has a header but no rows; give at least one row of data")
        if n_rejected > max_rejected_fraction * n_in or scored_out.n_rows == 0:
            reasons = "; ".join(f"{reason} ({count} rows)" for reason, count in reason_counts.most_common(5))
            raise JidoError(
                f"{n_rejected} of {n_in} rows of {source} break the data contract of {model_name} version {model_version}, more than "
                f"max_rejected_fraction ({max_rejected_fraction:g}); nothing was written. Reasons: {reasons}"
            )
        reasons = dict(reason_counts.most_common(5))
        if n_rejected:
            rejected_out.commit()
        else:
            quarantine.unlink(missing_ok=True)  # from an earlier run to this output: this run rejected nothing
        scored_out.commit()
    return ScoreSummary(
        model_name, model_version, source, str(output), scored_out.n_rows, dict(predictions.most_common(20)),
        n_rejected, str(quarantine) if n_rejected else None, reasons, n_in, len(files), scored_at.isoformat(), tuple(drift.result()),
    )


__all__ = ["ScoreSummary", "predict", "records_frame", "rejected_path", "required_columns", "score_files", "score_frame", "score_records"]
