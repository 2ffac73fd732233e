"""Batch scoring tasks."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.contract import DataContract
from components.data import load_table, table_format
from components.errors import JidoError
from components.register import load_contract, load_pipeline, resolve_model
from components.score import ScoreSummary, count_predictions, rejected_path, score_frame, write_table_atomic
from components.validate import check_rows, table_problems, top_reasons
from tasks.settings import tracking_uri, task_logger


@task(name="score-file", cache_policy=NO_CACHE)
def score_file(model_uri: str, input: str, output: str, max_rejected_fraction: float = 0.1) -> ScoreSummary:
    """Resolves the model, checks ``input`` against its data contract, scores the rows that keep it and writes ``output`` atomically.

    Rows that break the contract go to ``rejected/`` beside the output with their
    reason. Problems of the whole input, or more rejected rows than
    ``max_rejected_fraction``, fail the run and write nothing.
    """
    logger = task_logger()
    uri = tracking_uri()
    table_format(output)  # refuse an unsupported output format before any work
    if not 0 <= max_rejected_fraction <= 1:
        raise JidoError(f"max_rejected_fraction must be between 0 and 1; got {max_rejected_fraction}")
    ref = resolve_model(model_uri, uri)
    frame = load_table(input, "input")
    try:
        contract = load_contract(ref, uri)
    except JidoError as missing:  # registered before jido kept contracts: scored unchecked, as then
        logger.warning("%s; its input is scored without checks", missing)
        contract = DataContract(())
    problems = table_problems(frame, contract)
    if problems:
        raise JidoError(f"input {input} cannot be scored with {ref.uri}:\n  - " + "\n  - ".join(problems))
    checked = check_rows(frame, contract)
    n_rejected, reasons = len(checked.rejected), top_reasons(checked.rejected)
    if n_rejected > max_rejected_fraction * len(frame) or checked.accepted.empty:
        listed = "; ".join(f"{reason} ({count} rows)" for reason, count in reasons.items())
        raise JidoError(
            f"{n_rejected} of {len(frame)} rows of {input} break the data contract of {ref.uri}, more than max_rejected_fraction "
            f"({max_rejected_fraction:g}); nothing was written. Reasons: {listed}"
        )
    pipeline = load_pipeline(ref, uri)
    scored = score_frame(pipeline, checked.accepted, ref.name, ref.version)
    quarantine = rejected_path(output)
    if n_rejected:
        write_table_atomic(checked.rejected, quarantine)
        logger.warning("%d rows of %s break the data contract; set aside with reasons in %s", n_rejected, input, quarantine)
    elif quarantine.exists():
        quarantine.unlink()  # from an earlier run of this output: this run rejected nothing
    write_table_atomic(scored, output)
    logger.info("scored %d rows of %s with %s version %s into %s", len(scored), input, ref.name, ref.version, output)
    return ScoreSummary(
        ref.name, ref.version, str(input), str(output), len(scored), count_predictions(scored["prediction"]),
        n_rejected, str(quarantine) if n_rejected else None, reasons,
    )
