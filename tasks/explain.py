"""Explain the registered model: feature importance in the user's column names, kept with the version and shown in Prefect."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from components.explain import explain_pipeline, importance_chart
from components.metrics import get_metric
from components.register import log_explanation
from components.score import required_columns
from components.spec import ExperimentSpec
from tasks.data import ExperimentData
from tasks.register import RegisterOutcome
from tasks.settings import artifact_key, task_logger, tracking_uri


@task(name="explain-model", cache_policy=NO_CACHE)
def explain_model(spec: ExperimentSpec, data: ExperimentData, outcome: RegisterOutcome) -> None:
    """Permutation importance of the version this run registered, overall and per class.

    Measured on a sample of the training rows (the refitted model has seen
    them: the importance of what it learned, not of what generalises).
    Logged with the version (JSON and a PNG chart; ``jido explain`` prints it)
    and published as a markdown artifact.
    """
    logger = task_logger()
    ref = outcome.registered
    metric = get_metric(outcome.metric_name)
    explanation = explain_pipeline(
        outcome.pipeline, data.X, data.y, metric, required_columns(outcome.pipeline), "training rows", seed=spec.seed
    )
    title = f"{ref.name} version {ref.version}: feature importance"
    log_explanation(explanation.to_json(), importance_chart(explanation, title), ref, tracking_uri())
    create_markdown_artifact(explanation.markdown(title), key=artifact_key(spec.name, "explanation"), description=title)
    top = ", ".join(f"{c} ({v:.3f})" for c, v in list(explanation.overall.items())[:3])
    logger.info("most important columns of %s: %s", ref.uri, top)
