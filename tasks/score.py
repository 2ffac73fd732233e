"""Batch scoring tasks."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from components.data import load_table, table_format
from components.register import load_pipeline, resolve_model
from components.score import ScoreSummary, count_predictions, score_frame, write_table_atomic
from tasks.settings import tracking_uri, task_logger


@task(name="score-file", cache_policy=NO_CACHE)
def score_file(model_uri: str, input: str, output: str) -> ScoreSummary:
    """Resolves the model, scores every row of ``input`` and writes ``output`` atomically."""
    logger = task_logger()
    uri = tracking_uri()
    table_format(output)  # refuse an unsupported output format before any work
    ref = resolve_model(model_uri, uri)
    frame = load_table(input, "input")
    pipeline = load_pipeline(ref, uri)
    scored = score_frame(pipeline, frame, ref.name, ref.version)
    write_table_atomic(scored, output)
    logger.info("scored %d rows of %s with %s version %s into %s", len(scored), input, ref.name, ref.version, output)
    return ScoreSummary(ref.name, ref.version, str(input), str(output), len(scored), count_predictions(scored["prediction"]))
