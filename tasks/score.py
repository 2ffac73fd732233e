"""Batch scoring tasks."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.batches import resolve_input
from components.contract import DataContract
from components.data import table_format
from components.errors import JidoError
from components.register import load_contract, load_pipeline, resolve_model
from components.score import ScoreSummary, score_files
from tasks.settings import task_logger, tracking_uri


def scoring_time() -> datetime:
    """The time stamped on every output row: the flow run's scheduled start, else now (UTC).

    A scheduled run, and any retry of it, stamps its schedule slot, so
    scoring the same input again in that run writes the same bytes.
    """
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    expected = context.flow_run.expected_start_time if context and context.flow_run else None
    return (expected or datetime.now(timezone.utc)).astimezone(timezone.utc)


@task(name="score-file", cache_policy=NO_CACHE)
def score_file(model_uri: str, input: str, output: str, max_rejected_fraction: float = 0.1) -> ScoreSummary:
    """Resolves the model, checks ``input`` against its data contract batch by batch, and writes ``output`` atomically.

    ``input`` is a CSV or Parquet file, a folder of them, or a glob. Rows that
    break the contract go to ``rejected/`` beside the output with their reason.
    Problems of the whole input, or more rejected rows than
    ``max_rejected_fraction``, fail the run and write nothing.
    """
    logger = task_logger()
    uri = tracking_uri()
    table_format(output)  # refuse an unsupported output format before any work
    if not 0 <= max_rejected_fraction <= 1:
        raise JidoError(f"max_rejected_fraction must be between 0 and 1; got {max_rejected_fraction}")
    ref = resolve_model(model_uri, uri)
    found = resolve_input(input)
    if found.skipped:
        logger.warning("input %s: left out %d file(s) that are not .csv or .parquet: %s", input, len(found.skipped), ", ".join(p.name for p in found.skipped[:5]))
    try:
        contract = load_contract(ref, uri)
    except JidoError as missing:  # registered before jido kept contracts: scored unchecked, as then
        logger.warning("%s; its input is scored without checks", missing)
        contract = DataContract(())
    pipeline = load_pipeline(ref, uri)
    summary = score_files(pipeline, contract, found.files, output, ref.name, ref.version, scoring_time(), max_rejected_fraction)
    if summary.n_rejected:
        logger.warning("%d rows of %s break the data contract; set aside with reasons in %s", summary.n_rejected, input, summary.rejected_path)
    drifted = [d for d in summary.drift if d.level in ("moderate", "major")]
    if drifted:
        logger.warning("input drifted from the training data: %s", ", ".join(f"{d.column} (PSI {d.psi:.2f}, {d.level})" for d in drifted[:5]))
    logger.info("scored %d rows of %s with %s version %s into %s", summary.n_rows, input, ref.name, ref.version, output)
    return summary
