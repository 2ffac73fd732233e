"""The batch-scoring flow, bound to a registered model by the generated deployment."""

from __future__ import annotations

from prefect import flow

from components.scoring.batch import ScoreSummary
from tasks.report import publish_score_summary
from tasks.score import score_file


@flow(name="jido-score", log_prints=False)
def score(
    model_uri: str,
    input: str,
    output: str,
    max_rejected_fraction: float = 0.1,
    workers: int | None = None,
    address: str | None = None,
) -> ScoreSummary:
    """Scores CSV or Parquet input with a registered model, batch by batch, checked against the model's data contract.

    Args:
        model_uri: ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.
        input: What to score: a .csv or .parquet file, a folder of them, or a glob.
        output: Where to write it with predictions (.csv or .parquet); rows that
            break the contract go to ``rejected/`` beside it, with their reason.
            Every row carries the model's name and version and ``scored_at``.
        max_rejected_fraction: Share of rows that may break the contract before the run fails.
        workers: Dask workers to score a large input's partitions on: 1 scores in
            this process; None lets jido choose (a LocalCluster for an input of a
            million rows or more on a machine of 4 or more cores).
        address: An existing Dask scheduler to score partitions on instead; its
            workers must see the input's and the output's paths.
    """
    summary = score_file(model_uri, input, output, max_rejected_fraction, workers, address)
    publish_score_summary(summary)
    return summary
