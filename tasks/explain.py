"""Explain the registered model: feature importance in the user's column names, kept with the version and shown in Prefect."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from components.explain import EXPLAIN_REPEATS, EXPLAIN_ROWS, explain_pipeline, importance_chart
from components.metrics import get_metric
from components.register import log_explanation
from components.score import required_columns
from components.spec import ExperimentSpec
from tasks.data import ExperimentData
from tasks.register import RegisterOutcome
from tasks.settings import artifact_key, experiment_started, task_logger, tracking_uri


# With no experiment_timeout_hours, an explanation still takes no more than this.
_EXPLAIN_CAP_S = 60.0
# Kept back for what follows the explanation (the scoring deployment, artifacts, the run's end).
_AFTER_EXPLAINING_S = 2.0


def _time_for_explaining(spec: ExperimentSpec) -> float:
    """Seconds the explanation may take: what is left of experiment_timeout_hours (at least 1 s), else the cap."""
    import time

    hours = spec.limits.experiment_timeout_hours
    if not hours:
        return _EXPLAIN_CAP_S
    left = experiment_started() + hours * 3600 - time.time() - _AFTER_EXPLAINING_S
    return float(min(_EXPLAIN_CAP_S, max(1.0, left)))


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
        outcome.pipeline, data.X, data.y, metric, required_columns(outcome.pipeline), "training rows", seed=spec.seed,
        time_budget_s=_time_for_explaining(spec),
    )
    if explanation.n_repeats < EXPLAIN_REPEATS or explanation.n_rows < min(EXPLAIN_ROWS, len(data.X)):
        logger.info("explanation cut to %d rows x %d shuffles to fit the time left", explanation.n_rows, explanation.n_repeats)
    title = f"{ref.name} version {ref.version}: feature importance"
    log_explanation(explanation.to_json(), importance_chart(explanation, title), ref, tracking_uri())
    create_markdown_artifact(explanation.markdown(title), key=artifact_key(spec.name, "explanation"), description=title)
    top = ", ".join(f"{c} ({v:.3f})" for c, v in list(explanation.overall.items())[:3])
    logger.info("most important columns of %s: %s", ref.uri, top)
