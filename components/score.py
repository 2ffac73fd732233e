"""Batch scoring: predictions for a table, written atomically."""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from components.batches import (
    BATCH_ROWS, AtomicTableWriter, Partition, WriteBehind, prefetched, read_batches, same_columns, staging_folder, table_columns,
)
from components.contract import TEXT_DTYPES, DataContract
from components.data import is_text_categorical
from components.drift import DriftCounter, FeatureDrift
from components.errors import InputProblems, JidoError
from components.records import Records, takes_records
from components.validate import JSON_SCALARS, check_rows, keeps_contract, row_reasons, table_problems, top_reasons


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
    labels, proba = predict(pipeline, frame[needed])
    if proba is not None and all(isinstance(c, str) for c in pipeline.classes_):
        # Taken from the classes as pandas text: 1.7 ms per 100,000 rows, against 10 ms to convert the array of labels.
        labels = pd.Series(pd.array(list(pipeline.classes_), dtype="str").take(np.argmax(proba, axis=1)), index=scored.index)
    scored["prediction"] = labels
    if proba is not None:
        for j, label in enumerate(pipeline.classes_):
            scored[f"probability_{label}"] = proba[:, j]
    scored["model_name"] = model_name
    scored["model_version"] = str(model_version)
    scored["scored_at"] = pd.Timestamp(scored_at or datetime.now(timezone.utc)).as_unit("us")
    return scored


# A real-time request scores at most this many rows; larger inputs belong to batch scoring.
MAX_REQUEST_ROWS = 10_000
# Requests of at most this many clean rows are featurized as records, without pandas (components/records.py). Measured
# on an ensemble of two boosted models: 1 row 1.8 ms against 9.3 ms through a frame, 128 rows 5.9 ms against 11.7 ms.
RECORDS_AT_MOST = 256


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
        nested = [str(k) for k, v in row.items() if not isinstance(v, JSON_SCALARS)]
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
    needed = required_columns(pipeline)
    if isinstance(rows, list) and 0 < len(rows) <= RECORDS_AT_MOST and keeps_contract(rows, contract) and takes_records(pipeline):
        labels, proba = predict(pipeline, Records(rows, needed))
    else:
        frame = records_frame(rows)
        problems = table_problems(frame, contract)
        if not problems:
            reasons = row_reasons(frame, contract)
            problems = [f"row {i}: {reason}" for i, reason in enumerate(reasons) if reason]
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
        if column.name in scored.columns and column.dtype in TEXT_DTYPES and not isinstance(scored[column.name].dtype, pd.StringDtype):
            scored[column.name] = _as_text(scored[column.name])
    return scored


def _as_text(values: pd.Series) -> pd.Series:
    """``values`` as pandas text; a categorical of text by taking from its categories (1.5 ms per 100,000 rows, not 20 ms)."""
    if not is_text_categorical(values):
        return values.astype("string")
    text = values.cat.categories.astype("str").array
    return pd.Series(text.take(values.cat.codes.to_numpy(), allow_fill=True), index=values.index, name=values.name)


# Drift is measured on an even sample of about this many rows per batch (all of a batch of fewer than twice as many). A
# bin's share is then off by under 0.5 percentage points (one standard error at a decile's 10%), far below what moves the
# index past its 0.1 warning; counting 20,000 rows took 20 ms per 100,000-row batch, these 6 ms.
DRIFT_ROWS_PER_BATCH = 5_000

# Rows of a partition scored on a Dask worker: a run of whole Parquet row groups of at least this many rows.
# Large enough that a partition's fixed costs (a task, two part files, their merge) vanish, small enough for load balance.
PARTITION_ROWS = 500_000


@dataclass
class ScoreTally:
    """What scoring some batches found: rows read, scored and set aside, predictions, reasons and drift counts.

    Tallies of partitions scored apart add up (:meth:`merge`) to the run's.
    A partition scored on a worker hands back a problem of the whole input
    as ``problem`` rather than raising it, so the worker logs no traceback for a user's error.
    """

    drift: DriftCounter
    n_in: int = 0
    n_scored: int = 0
    n_rejected: int = 0
    predictions: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    problem: str | None = None

    def merge(self, other: "ScoreTally") -> None:
        self.n_in += other.n_in
        self.n_scored += other.n_scored
        self.n_rejected += other.n_rejected
        self.predictions.update(other.predictions)
        self.reasons.update(other.reasons)
        self.drift.merge(other.drift)


def _score_batches(
    pipeline: Pipeline,
    contract: DataContract,
    part: Partition,
    batches: Iterable[pd.DataFrame],
    scored_out: WriteBehind,
    rejected_out: AtomicTableWriter,
    tally: ScoreTally,
    model_name: str,
    model_version: str,
    scored_at: datetime,
    columns: list[str] | None = None,
) -> None:
    """Checks each batch against ``contract``, scores the rows that keep it and sets aside the others, counting into ``tally``.

    ``columns`` puts every batch's columns in that order (the first file's), so that partitions written apart fit one table.

    Raises:
        JidoError: a batch has a problem of the whole input (named with the file and its rows).
    """
    row = part.first_row
    for frame in batches:
        row += len(frame)
        tally.n_in += len(frame)
        problems = table_problems(frame, contract)
        if problems:
            where = f"{part.path}, rows {row - len(frame) + 1}-{row}"
            raise JidoError(f"input cannot be scored with {model_name} version {model_version} ({where}):\n  - " + "\n  - ".join(problems))
        if columns is not None and list(frame.columns) != columns:
            frame = frame[same_columns(list(frame.columns), columns)]
        checked = check_rows(frame, contract)
        if len(checked.rejected):
            tally.reasons.update(top_reasons(checked.rejected, limit=None))
            tally.n_rejected += len(checked.rejected)
            rejected_out.write(checked.rejected.astype("string"))
        if len(checked.accepted):
            tally.drift.add(checked.accepted.iloc[:: max(1, len(checked.accepted) // DRIFT_ROWS_PER_BATCH)])
            scored = score_frame(pipeline, checked.accepted, model_name, model_version, scored_at)
            if hasattr(pipeline, "classes_"):
                tally.predictions.update(scored["prediction"].astype(str).value_counts().to_dict())
            tally.n_scored += len(scored)
            scored_out.write(_text_as_trained(scored, contract))


def _missing_columns(files: Sequence[Path], contract: DataContract, model_name: str, model_version: str) -> None:
    """Raises a JidoError naming every file that lacks a column the contract requires (read from headers and footers only)."""
    problems = []
    for path in files:
        missing = [c for c in table_problems(pd.DataFrame(columns=table_columns(path)), contract) if c.startswith("missing")]
        problems += [f"{path}: {problem}" for problem in missing]
    if problems:
        raise JidoError(f"input cannot be scored with {model_name} version {model_version}:\n  - " + "\n  - ".join(problems))


def _source(files: Sequence[Path]) -> str:
    return str(files[0]) if len(files) == 1 else f"{len(files)} files from {files[0].parent}"


def _finish(
    tally: ScoreTally,
    scored_out: AtomicTableWriter,
    rejected_out: AtomicTableWriter,
    files: Sequence[Path],
    output: Path,
    model_name: str,
    model_version: str,
    scored_at: datetime,
    max_rejected_fraction: float,
) -> ScoreSummary:
    """Commits the output and the rejected rows when the run may stand; else raises and leaves neither."""
    source = _source(files)
    if tally.n_in == 0:
        raise JidoError(f"{source} has a header but no rows; give at least one row of data")
    if tally.n_rejected > max_rejected_fraction * tally.n_in or scored_out.n_rows == 0:
        reasons = "; ".join(f"{reason} ({count} rows)" for reason, count in tally.reasons.most_common(5))
        raise JidoError(
            f"{tally.n_rejected} of {tally.n_in} rows of {source} break the data contract of {model_name} version {model_version}, more than "
            f"max_rejected_fraction ({max_rejected_fraction:g}); nothing was written. Reasons: {reasons}"
        )
    quarantine = rejected_path(output)
    if tally.n_rejected:
        rejected_out.commit()
    else:
        quarantine.unlink(missing_ok=True)  # from an earlier run to this output: this run rejected nothing
    scored_out.commit()
    return ScoreSummary(
        model_name, model_version, source, str(output), scored_out.n_rows, dict(tally.predictions.most_common(20)),
        tally.n_rejected, str(quarantine) if tally.n_rejected else None, dict(tally.reasons.most_common(5)), tally.n_in, len(files),
        scored_at.isoformat(), tuple(tally.drift.result()),
    )


def model_threads_leaving_a_core() -> AbstractContextManager:
    """Runs the model's OpenMP threads on one core fewer than they have, when they have 4 or more.

    Batches are read ahead and written behind on threads of their own while
    the model predicts. Gradient boosting splits each prediction evenly over
    its OpenMP threads and waits for the slowest, so one of them sharing a core
    with the writer slows the whole batch. Measured on 16 cores: three boosted
    models predicting 2,000,000 rows in batches of 100,000 took 4.9 s alone and
    11.9 s beside one thread writing Parquet. With fewer than 4 threads the
    model keeps them all. Threads set lower already (a Dask worker's one) are left as they are.
    """
    from threadpoolctl import ThreadpoolController

    openmp = ThreadpoolController().select(user_api="openmp")
    threads = max((library.num_threads for library in openmp.lib_controllers), default=0)
    return openmp.limit(limits=threads - 1) if threads >= 4 else nullcontext()


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
    _missing_columns(files, contract, model_name, model_version)
    tally = ScoreTally(DriftCounter(contract.drift_profiles()))
    with AtomicTableWriter(output) as scored_out, AtomicTableWriter(rejected_path(output)) as rejected_out, model_threads_leaving_a_core():
        behind = WriteBehind(scored_out)
        try:
            for path in files:
                batches = prefetched(read_batches(path, batch_rows, categories=contract.category_columns()))
                _score_batches(pipeline, contract, Partition(path), batches, behind, rejected_out, tally, model_name, model_version, scored_at)
        finally:
            behind.drain()
        return _finish(tally, scored_out, rejected_out, files, output, model_name, model_version, scored_at, max_rejected_fraction)


def score_partition(
    pipeline: Pipeline,
    contract: DataContract,
    part: Partition,
    scored_part: Path,
    rejected_part: Path,
    columns: list[str],
    model_name: str,
    model_version: str,
    scored_at: datetime,
    batch_rows: int = BATCH_ROWS,
) -> ScoreTally:
    """Scores one partition into its own part files (each written only when it has rows), on whatever process runs it.

    A problem of the whole input comes back as the tally's ``problem``, with no part file written.
    """
    tally = ScoreTally(DriftCounter(contract.drift_profiles()))
    # The run's staging folder is not made again here: once a failed run has removed it, a partition still running leaves nothing.
    with AtomicTableWriter(scored_part, make_folders=False) as scored_out, AtomicTableWriter(rejected_part, make_folders=False) as rejected_out:
        behind = WriteBehind(scored_out)
        problem: JidoError | None = None
        try:
            batches = prefetched(read_batches(part.path, batch_rows, part.row_groups, contract.category_columns()))
            _score_batches(pipeline, contract, part, batches, behind, rejected_out, tally, model_name, model_version, scored_at, columns)
        except JidoError as error:
            problem = error
        try:
            behind.drain()  # the writer's own problem (a column that changes type) comes out here
        except JidoError as error:
            problem = problem or error
        if problem is not None:
            return ScoreTally(tally.drift, problem=str(problem))
        for writer in (scored_out, rejected_out):
            if writer.n_rows:
                writer.commit()
    return tally


def _partition_tally(future, part: Partition) -> ScoreTally:
    """A finished partition's tally; a worker that died scoring it is a problem of the run, named by the partition."""
    try:
        return future.result()
    except Exception as error:  # the worker died (out of memory, a crash) or was lost
        return ScoreTally(DriftCounter([]), problem=f"scoring {part} failed on its Dask worker: {type(error).__name__}: {error}")


def score_files_on_cluster(
    client,
    pipeline: Pipeline,
    contract: DataContract,
    parts: Sequence[Partition],
    output: Path,
    model_name: str,
    model_version: str,
    scored_at: datetime,
    max_rejected_fraction: float,
    batch_rows: int = BATCH_ROWS,
) -> ScoreSummary:
    """:func:`score_files`, with the partitions scored in parallel on the Dask cluster of ``client``.

    The model and contract go to every worker once. Each worker writes its
    partition's scored and rejected rows to part files in a hidden folder
    beside ``output`` (so workers must share the input's and the output's file
    system); this process appends them in input order as they finish, into
    the same atomic writers as :func:`score_files`. The output holds the same
    rows in the same order, and the run fails, leaving nothing, on the same
    problems, raised as soon as any partition finds one.

    Raises:
        JidoError: the input cannot be scored, or a worker died scoring a partition.
    """
    from distributed import as_completed

    output = Path(output)
    files = list(dict.fromkeys(p.path for p in parts))
    _missing_columns(files, contract, model_name, model_version)
    columns = table_columns(files[0])
    suffix = output.suffix.lower()
    tally = ScoreTally(DriftCounter(contract.drift_profiles()))
    with staging_folder(output) as staging, AtomicTableWriter(output) as scored_out, AtomicTableWriter(rejected_path(output)) as rejected_out:
        shared_pipeline, shared_contract = client.scatter([pipeline, contract], broadcast=True, hash=False)
        paths = [(staging / f"scored-{i:06d}{suffix}", staging / f"rejected-{i:06d}{suffix}") for i in range(len(parts))]
        futures = [
            client.submit(
                score_partition, shared_pipeline, shared_contract, part, scored, rejected, columns, model_name, model_version, scored_at, batch_rows,
                pure=False, key=f"jido-score-{i}-{uuid.uuid4().hex}",
            )
            for i, (part, (scored, rejected)) in enumerate(zip(parts, paths))
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        finished: dict[int, ScoreTally] = {}
        appended = 0
        try:
            for future in as_completed(futures):
                i = index[future.key]
                finished[i] = _partition_tally(future, parts[i])
                if finished[i].problem:
                    # The first problem in input order, as scoring in one process would name it: later partitions are
                    # dropped, earlier ones still running are waited for.
                    client.cancel(futures[i + 1:])
                    earlier = [_partition_tally(futures[j], parts[j]) for j in range(appended, i) if j not in finished]
                    raise JidoError(next(t.problem for t in [*earlier, finished[i]] if t.problem))
                while appended in finished:  # in input order, while later partitions are still being scored
                    done = finished.pop(appended)
                    scored, rejected = paths[appended]
                    if done.n_scored:
                        scored_out.append_file(scored, done.n_scored)
                    if done.n_rejected:
                        rejected_out.append_file(rejected, done.n_rejected)
                    tally.merge(done)
                    appended += 1
        finally:
            client.cancel(futures)
        return _finish(tally, scored_out, rejected_out, files, output, model_name, model_version, scored_at, max_rejected_fraction)


__all__ = [
    "PARTITION_ROWS", "ScoreSummary", "ScoreTally", "predict", "records_frame", "rejected_path",
    "required_columns", "score_files", "score_files_on_cluster", "score_frame", "score_partition", "score_records",
]
