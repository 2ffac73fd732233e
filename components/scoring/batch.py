"""Batch scoring: tables checked against the model's contract batch by batch, scored, and written atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from components.contract.contract import TEXT_DTYPES, DataContract
from components.contract.drift import DriftCounter, FeatureDrift
from components.contract.validate import check_rows, table_problems, top_reasons
from components.data.inputs import BATCH_ROWS, Partition, prefetched, read_batches, table_columns
from components.data.values import is_text_categorical
from components.data.writers import AtomicTableWriter, WriteBehind, same_columns
from components.errors import JidoError
from components.scoring.bundle import ModelBundle, ScoringRun


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


def score_frame(model: ModelBundle, frame: pd.DataFrame, run: ScoringRun) -> pd.DataFrame:
    """Input rows in their order, plus what the task type writes per row (``prediction``, a classifier's
    ``probability_<class>``), the model's name and version and ``scored_at``.

    Raises:
        JidoError: the input lacks columns the model was trained on.
    """
    needed = model.required_columns()
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise JidoError(f"input lacks column(s) the model was trained on: {', '.join(missing)}")
    scored = frame.copy(deep=False)  # copy-on-write: the caller's frame is not changed, and no data is copied
    prediction = model.problem.predict(model.pipeline, frame[needed])
    for name, values in model.problem.output_columns(prediction, scored.index).items():
        scored[name] = values
    scored["model_name"] = run.model_name
    scored["model_version"] = str(run.model_version)
    scored["scored_at"] = pd.Timestamp(run.scored_at).as_unit("us")
    return scored


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
        if (
            column.name in scored.columns
            and column.dtype in TEXT_DTYPES
            and not isinstance(scored[column.name].dtype, pd.StringDtype)
        ):
            scored[column.name] = _as_text(scored[column.name])
    return scored


def _as_text(values: pd.Series) -> pd.Series:
    """``values`` as pandas text; a categorical of text by taking from its categories (1.5 ms per 100,000 rows, not 20
    ms)."""
    if not is_text_categorical(values):
        return values.astype("string")
    text = values.cat.categories.astype("str").array
    return pd.Series(text.take(values.cat.codes.to_numpy(), allow_fill=True), index=values.index, name=values.name)


# Drift is measured on an even sample of about this many rows per batch (all of a batch of fewer than twice as many). A
# bin's share is then off by under 0.5 percentage points (one standard error at a decile's 10%), far below what moves
# the
# index past its 0.1 warning; counting 20,000 rows took 20 ms per 100,000-row batch, these 6 ms.
DRIFT_ROWS_PER_BATCH = 5_000

# Rows of a partition scored on a Dask worker: a run of whole Parquet row groups of at least this many rows.
# Large enough that a partition's fixed costs (a task, two part files, their merge) vanish, small enough for load
# balance.
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

    def merge(self, other: ScoreTally) -> None:
        self.n_in += other.n_in
        self.n_scored += other.n_scored
        self.n_rejected += other.n_rejected
        self.predictions.update(other.predictions)
        self.reasons.update(other.reasons)
        self.drift.merge(other.drift)


def _score_batches(
    model: ModelBundle,
    part: Partition,
    batches: Iterable[pd.DataFrame],
    scored_out: WriteBehind,
    rejected_out: AtomicTableWriter,
    tally: ScoreTally,
    run: ScoringRun,
    columns: list[str] | None = None,
) -> None:
    """Checks each batch against the model's contract, scores the rows that keep it and sets aside the others, counting
    into ``tally``.

    ``columns`` puts every batch's columns in that order (the first file's), so that partitions written apart fit one
    table.

    Raises:
        JidoError: a batch has a problem of the whole input (named with the file and its rows).
    """
    contract = model.contract
    row = part.first_row
    for frame in batches:
        row += len(frame)
        tally.n_in += len(frame)
        problems = table_problems(frame, contract)
        if problems:
            where = f"{part.path}, rows {row - len(frame) + 1}-{row}"
            raise JidoError(f"input cannot be scored with {run.names()} ({where}):\n  - " + "\n  - ".join(problems))
        if columns is not None and list(frame.columns) != columns:
            frame = frame[same_columns(list(frame.columns), columns)]
        checked = check_rows(frame, contract)
        if len(checked.rejected):
            tally.reasons.update(top_reasons(checked.rejected, limit=None))
            tally.n_rejected += len(checked.rejected)
            rejected_out.write(checked.rejected.astype("string"))
        if len(checked.accepted):
            tally.drift.add(checked.accepted.iloc[:: max(1, len(checked.accepted) // DRIFT_ROWS_PER_BATCH)])
            scored = score_frame(model, checked.accepted, run)
            if model.problem.has_classes:
                tally.predictions.update(scored["prediction"].astype(str).value_counts().to_dict())
            tally.n_scored += len(scored)
            scored_out.write(_text_as_trained(scored, contract))


def check_input_columns(files: Sequence[Path], contract: DataContract, run: ScoringRun) -> None:
    """Raises a JidoError naming every file that lacks a column the contract requires (read from headers and footers
    only)."""
    problems = []
    for path in files:
        missing = [
            c for c in table_problems(pd.DataFrame(columns=table_columns(path)), contract) if c.startswith("missing")
        ]
        problems += [f"{path}: {problem}" for problem in missing]
    if problems:
        raise JidoError(f"input cannot be scored with {run.names()}:\n  - " + "\n  - ".join(problems))


def _source(files: Sequence[Path]) -> str:
    return str(files[0]) if len(files) == 1 else f"{len(files)} files from {files[0].parent}"


def commit_run(
    tally: ScoreTally,
    scored_out: AtomicTableWriter,
    rejected_out: AtomicTableWriter,
    files: Sequence[Path],
    output: Path,
    run: ScoringRun,
) -> ScoreSummary:
    """Commits the output and the rejected rows when the run may stand; else raises and leaves neither."""
    source = _source(files)
    if tally.n_in == 0:
        raise JidoError(f"{source} has a header but no rows; give at least one row of data")
    if tally.n_rejected > run.max_rejected_fraction * tally.n_in or scored_out.n_rows == 0:
        reasons = "; ".join(f"{reason} ({count} rows)" for reason, count in tally.reasons.most_common(5))
        raise JidoError(
            f"{tally.n_rejected} of {tally.n_in} rows of {source} break the data contract of {run.names()}, more than "
            f"max_rejected_fraction ({run.max_rejected_fraction:g}); nothing was written. Reasons: {reasons}"
        )
    quarantine = rejected_path(output)
    if tally.n_rejected:
        rejected_out.commit()
    else:
        quarantine.unlink(missing_ok=True)  # from an earlier run to this output: this run rejected nothing
    scored_out.commit()
    return ScoreSummary(
        run.model_name,
        run.model_version,
        source,
        str(output),
        scored_out.n_rows,
        dict(tally.predictions.most_common(20)),
        tally.n_rejected,
        str(quarantine) if tally.n_rejected else None,
        dict(tally.reasons.most_common(5)),
        tally.n_in,
        len(files),
        run.scored_at.isoformat(),
        tuple(tally.drift.result()),
    )


def model_threads_leaving_a_core() -> AbstractContextManager:
    """Runs the model's OpenMP threads on one core fewer than they have, when they have 4 or more.

    Batches are read ahead and written behind on threads of their own while
    the model predicts. Gradient boosting splits each prediction evenly over
    its OpenMP threads and waits for the slowest, so one of them sharing a core
    with the writer slows the whole batch by more than half on 16 cores
    (benchmarks/score_throughput.py). With fewer than 4 threads the model keeps
    them all. Threads set lower already (a Dask worker's one) are left as they are.
    """
    from threadpoolctl import ThreadpoolController

    openmp = ThreadpoolController().select(user_api="openmp")
    threads = max((library.num_threads for library in openmp.lib_controllers), default=0)
    return openmp.limit(limits=threads - 1) if threads >= 4 else nullcontext()


def score_files(
    model: ModelBundle, files: Sequence[Path], output: Path, run: ScoringRun, batch_rows: int = BATCH_ROWS
) -> ScoreSummary:
    """Scores tables batch by batch into ``output``, rows that break the contract into ``rejected/`` beside it, both
    atomically.

    Whole-input problems (a missing column in any file, a file that cannot be
    read, a numeric column with no number in a batch) and more rejected rows
    than ``max_rejected_fraction`` fail the run: it raises and leaves no output,
    no quarantine file, and any earlier output untouched. Rejected rows keep
    their values as text, exactly as read, so that any bad value fits the file.

    Raises:
        JidoError: the input cannot be scored, naming each problem.
    """
    output = Path(output)
    contract = model.contract
    check_input_columns(files, contract, run)
    tally = ScoreTally(DriftCounter(contract.drift_profiles()))
    with (
        AtomicTableWriter(output) as scored_out,
        AtomicTableWriter(rejected_path(output)) as rejected_out,
        model_threads_leaving_a_core(),
    ):
        behind = WriteBehind(scored_out)
        try:
            for path in files:
                batches = prefetched(read_batches(path, batch_rows, categories=contract.category_columns()))
                _score_batches(model, Partition(path), batches, behind, rejected_out, tally, run)
        finally:
            behind.drain()
        return commit_run(tally, scored_out, rejected_out, files, output, run)


def score_partition(
    model: ModelBundle,
    part: Partition,
    scored_part: Path,
    rejected_part: Path,
    columns: list[str],
    run: ScoringRun,
    batch_rows: int = BATCH_ROWS,
) -> ScoreTally:
    """Scores one partition into its own part files (each written only when it has rows), on whatever process runs it.

    A problem of the whole input comes back as the tally's ``problem``, with no part file written.
    """
    contract = model.contract
    tally = ScoreTally(DriftCounter(contract.drift_profiles()))
    # The run's staging folder is not made again here: once a failed run has removed it, a partition still running
    # leaves nothing.
    with (
        AtomicTableWriter(scored_part, make_folders=False) as scored_out,
        AtomicTableWriter(rejected_part, make_folders=False) as rejected_out,
    ):
        behind = WriteBehind(scored_out)
        problem: JidoError | None = None
        try:
            batches = prefetched(read_batches(part.path, batch_rows, part.row_groups, contract.category_columns()))
            _score_batches(model, part, batches, behind, rejected_out, tally, run, columns)
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
