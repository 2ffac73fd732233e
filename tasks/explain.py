"""Explain the registered model: feature importance in the user's column names, kept with the version and shown in
Prefect."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from components.evaluate.explain import EXPLAIN_REPEATS, EXPLAIN_ROWS, explain_pipeline, importance_chart
from components.evaluate.metrics import get_metric
from components.experiment.budget import ExperimentBudget
from components.registry.artifacts import log_explanation
from components.scoring.bundle import required_columns
from components.spec import ExperimentSpec
from tasks.settings import artifact_key, task_logger, tracking_uri
from tasks.types import ExperimentData, RegisterOutcome


@task(name="explain-model", cache_policy=NO_CACHE)
def explain_model(
    spec: ExperimentSpec, data: ExperimentData, outcome: RegisterOutcome, budget: ExperimentBudget
) -> None:
    """Permutation importance of the version this run registered, overall and per class, in the time the budget leaves.

    Measured on a sample of the training rows (the refitted model has seen
    them: the importance of what it learned, not of what generalises).
    Logged with the version (JSON and a PNG chart; ``jido explain`` prints it)
    and published as a markdown artifact. A task type without explanations skips this.
    """
    logger = task_logger()
    problem = spec.problem()
    if not problem.explanations:
        return
    ref = outcome.registered
    metric = get_metric(outcome.metric_name)
    explanation = explain_pipeline(
        outcome.pipeline,
        data.X,
        data.y,
        problem,
        metric,
        required_columns(outcome.pipeline),
        "training rows",
        seed=spec.seed,
        time_budget_s=budget.explanation_time(),
    )
    if explanation.n_repeats < EXPLAIN_REPEATS or explanation.n_rows < min(EXPLAIN_ROWS, len(data.X)):
        logger.info(
            "explanation cut to %d rows x %d shuffles to fit the time left", explanation.n_rows, explanation.n_repeats
        )
    title = f"{ref.name} version {ref.version}: feature importance"
    log_explanation(explanation.to_json(), importance_chart(explanation, title), ref, tracking_uri())
    create_markdown_artifact(explanation.markdown(title), key=artifact_key(spec.name, "explanation"), description=title)
    top = ", ".join(f"{c} ({v:.3f})" for c, v in list(explanation.overall.items())[:3])
    logger.info("most important columns of %s: %s", ref.uri, top)
