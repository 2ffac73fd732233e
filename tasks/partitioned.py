"""A large input scored in partitions on a Dask cluster, into the same atomic output as scoring in one process."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

from components.contract.drift import DriftCounter
from components.data.inputs import BATCH_ROWS, Partition, table_columns
from components.data.writers import AtomicTableWriter, staging_folder
from components.errors import JidoError
from components.scoring.batch import (
    ScoreSummary,
    ScoreTally,
    check_input_columns,
    commit_run,
    rejected_path,
    score_partition,
)
from components.scoring.bundle import ModelBundle, ScoringRun


def score_files_on_cluster(
    client, model: ModelBundle, parts: Sequence[Partition], output: Path, run: ScoringRun, batch_rows: int = BATCH_ROWS
) -> ScoreSummary:
    """``components.scoring.batch.score_files``, with the partitions scored in parallel on the Dask cluster of
    ``client``.

    The model goes to every worker once. Each worker writes its partition's
    scored and rejected rows to part files in a hidden folder beside
    ``output`` (so workers must share the input's and the output's file
    system); this process appends them in input order as they finish, into
    the same atomic writers as one process uses. The output holds the same
    rows in the same order, and the run fails, leaving nothing, on the same
    problems, raised as soon as any partition finds one.

    Raises:
        JidoError: the input cannot be scored, or a worker died scoring a partition.
    """
    from distributed import as_completed

    output = Path(output)
    files = list(dict.fromkeys(p.path for p in parts))
    check_input_columns(files, model.contract, run)
    columns = table_columns(files[0])
    suffix = output.suffix.lower()
    tally = ScoreTally(DriftCounter(model.contract.drift_profiles()))
    with (
        staging_folder(output) as staging,
        AtomicTableWriter(output) as scored_out,
        AtomicTableWriter(rejected_path(output)) as rejected_out,
    ):
        shared = client.scatter(model, broadcast=True, hash=False)
        paths = [
            (staging / f"scored-{i:06d}{suffix}", staging / f"rejected-{i:06d}{suffix}") for i in range(len(parts))
        ]
        futures = [
            client.submit(
                score_partition,
                shared,
                part,
                scored,
                rejected,
                columns,
                run,
                batch_rows,
                pure=False,
                key=f"jido-score-{i}-{uuid.uuid4().hex}",
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
                    client.cancel(futures[i + 1 :])
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
        return commit_run(tally, scored_out, rejected_out, files, output, run)


def _partition_tally(future, part: Partition) -> ScoreTally:
    """A finished partition's tally; a worker that died scoring it is a problem of the run, named by the partition."""
    try:
        return future.result()
    except Exception as error:  # the worker died (out of memory, a crash) or was lost
        return ScoreTally(
            DriftCounter([]), problem=f"scoring {part} failed on its Dask worker: {type(error).__name__}: {error}"
        )
