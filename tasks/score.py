"""Batch scoring tasks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.contract.contract import DataContract
from components.contract.drift import drifted
from components.data.inputs import Partition, partitions, resolve_input
from components.data.tables import table_format
from components.errors import JidoError, at_most
from components.registry.artifacts import load_contract
from components.registry.models import load_pipeline, problem_of, resolve_model
from components.scoring.batch import PARTITION_ROWS, ScoreSummary, score_files
from components.scoring.bundle import ModelBundle, ScoringRun
from components.spec import Compute
from tasks.cluster import compute_client
from tasks.partitioned import score_files_on_cluster
from tasks.prefetch import take_prefetched
from tasks.settings import task_logger, tracking_uri


def scoring_time() -> datetime:
    """The time stamped on every output row: the flow run's scheduled start, else now (UTC).

    A scheduled run, and any retry of it, stamps its schedule slot, so
    scoring the same input again in that run writes the same bytes.
    """
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    expected = context.flow_run.expected_start_time if context and context.flow_run else None
    return (expected or datetime.now(UTC)).astimezone(UTC)


def parallel_plan(
    files: Sequence[Path], workers: int | None, address: str | None
) -> tuple[list[Partition], int] | None:
    """The partitions to score on a cluster and the local workers to start for them, or None to score in this process.

    ``address`` (an existing scheduler) or ``workers`` >= 2 ask for a cluster.
    Left to jido (``workers`` None), or with ``workers`` = 1, the input is
    scored in this process: the model's own threads (gradient boosting
    predicts on every core) already use the machine, and one process beat a
    LocalCluster on 2 and on 16 cores (benchmarks/score_throughput.py), so a
    cluster pays only where it brings more machines. An input of one
    partition is scored here.
    """
    if workers in (None, 1) and not address:
        return None
    parts = partitions(files, PARTITION_ROWS)
    if len(parts) < 2:
        return None
    return parts, min(workers or os.cpu_count() or 1, len(parts))


@task(name="score-file", cache_policy=NO_CACHE)
def score_file(
    model_uri: str,
    input: str,
    output: str,
    max_rejected_fraction: float = 0.1,
    workers: int | None = None,
    address: str | None = None,
) -> ScoreSummary:
    """Resolves the model, checks ``input`` against its data contract batch by batch, and writes ``output`` atomically.

    ``input`` is a CSV or Parquet file, a folder of them, or a glob. Rows that
    break the contract go to ``rejected/`` beside the output with their reason.
    Problems of the whole input, or more rejected rows than
    ``max_rejected_fraction``, fail the run and write nothing. A large input
    is scored in partitions on a Dask cluster (see :func:`parallel_plan`).
    """
    logger = task_logger()
    uri = tracking_uri()
    table_format(output)  # refuse an unsupported output format before any work
    if not 0 <= max_rejected_fraction <= 1:
        raise JidoError(f"max_rejected_fraction must be between 0 and 1; got {max_rejected_fraction}")
    if workers is not None and workers < 1:
        raise JidoError(f"workers must be 1 or more (1 scores in this process); got {workers}")
    ref = resolve_model(model_uri, uri)
    problem = problem_of(ref)
    found = resolve_input(input)
    if found.skipped:
        logger.warning(
            "input %s: left out %d file(s) that are not .csv or .parquet: %s",
            input,
            len(found.skipped),
            ", ".join(at_most([p.name for p in found.skipped], 5)),
        )
    try:
        contract = load_contract(ref, uri)
    except JidoError as missing:  # registered before jido kept contracts: scored unchecked, as then
        logger.warning("%s; its input is scored without checks", missing)
        contract = DataContract(())
    model = ModelBundle(take_prefetched(ref, uri) or load_pipeline(ref, uri), contract, problem)
    run = ScoringRun(ref.name, ref.version, scoring_time(), max_rejected_fraction)
    plan = parallel_plan(found.files, workers, address)
    if plan is None:
        summary = score_files(model, found.files, output, run)
    else:
        parts, n_workers = plan
        where = f"the Dask scheduler at {address}" if address else f"{n_workers} local Dask workers"
        logger.info("scoring %d partitions of %s on %s", len(parts), input, where)
        with compute_client(
            Compute(address=address), n_workers, address_setting="--address (scoring.address)"
        ) as client:
            summary = score_files_on_cluster(client, model, parts, output, run)
    if summary.n_rejected:
        logger.warning(
            "%d rows of %s break the data contract; set aside with reasons in %s",
            summary.n_rejected,
            input,
            summary.rejected_path,
        )
    if shifted := drifted(summary.drift):
        logger.warning(
            "input drifted from the training data: %s",
            ", ".join(at_most([f"{d.column} (PSI {d.psi:.2f}, {d.level})" for d in shifted], 5)),
        )
    logger.info("scored %d rows of %s with %s version %s into %s", summary.n_rows, input, ref.name, ref.version, output)
    return summary
