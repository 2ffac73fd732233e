"""Prefect artifacts that summarise a run."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from components.experiment.leaderboard import Leaderboard
from components.scoring.batch import ScoreSummary
from components.spec import ExperimentSpec
from tasks.settings import artifact_key
from tasks.types import RegisterOutcome


@task(name="publish-leaderboard", cache_policy=NO_CACHE)
def publish_leaderboard(spec: ExperimentSpec, board: Leaderboard, outcome: RegisterOutcome) -> None:
    """The leaderboard as a table artifact, described by the registration outcome."""
    verdict = "is the new champion" if outcome.promoted else f"did not beat champion version {outcome.champion_version}"
    description = (
        f"**{spec.name}**: {len(board.results)} trials ranked by {board.metric_name}. "
        f"Best pipeline registered as `{outcome.registered_uri}` ({outcome.candidate_metric:.4f}) and {verdict}."
    )
    publish_table(spec.name, board, description)


def publish_table(experiment_name: str, board: Leaderboard, description: str) -> None:
    """Writes the leaderboard table artifact (a new version of the same key each time)."""
    create_table_artifact(
        table=board.table(), key=artifact_key(experiment_name, "leaderboard"), description=description
    )


@task(name="publish-score-summary", cache_policy=NO_CACHE)
def publish_score_summary(summary: ScoreSummary) -> None:
    """A markdown artifact: model, rows in, scored and rejected (top reasons), predicted labels and drift per
    feature."""
    lines = [
        f"### Batch scoring with {summary.model_name} version {summary.model_version}",
        f"- input: `{summary.input_path}` ({summary.n_files} file{'s' if summary.n_files != 1 else ''})",
        f"- output: `{summary.output_path}`, scored at {summary.scored_at}",
        f"- rows in: {summary.n_rows_in}",
        f"- rows scored: {summary.n_rows}",
        f"- rows rejected: {summary.n_rejected}"
        + (f" (in `{summary.rejected_path}`)" if summary.rejected_path else ""),
    ]
    if summary.rejected_reasons:
        lines += ["", "| rejected because | rows |", "|---|---|"] + [
            f"| {k} | {v} |" for k, v in summary.rejected_reasons.items()
        ]
    if summary.prediction_counts:
        lines += ["", "| prediction | rows |", "|---|---|"] + [
            f"| {k} | {v} |" for k, v in summary.prediction_counts.items()
        ]
    if summary.drift:
        lines += [
            "",
            "Drift against the training data (population stability index: below 0.1 stable, 0.1-0.25 moderate, above "
            "0.25 major; no verdict under 1,000 rows)",
            "",
            "| feature | PSI | drift | rows |",
            "|---|---|---|---|",
        ] + [f"| {d.column} | {d.psi:.4f} | {d.level} | {d.n_rows} |" for d in summary.drift]
    create_markdown_artifact(
        "\n".join(lines), key=artifact_key(summary.model_name, "scoring"), description="Batch scoring summary"
    )
