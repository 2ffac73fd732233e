"""Deployment builders: the training deployment and the generated scoring deployment of a spec."""

from __future__ import annotations

from pathlib import Path

from prefect.deployments.runner import EntrypointType, RunnerDeployment

from components.spec import ExperimentSpec, load_spec
from flows.train import train
from tasks.deploy import scoring_deployment


def training_deployment(spec: ExperimentSpec, spec_path: str | None = None) -> RunnerDeployment:
    """The training flow for ``spec``, on ``retraining.schedule`` when one is set.

    The deployment's parameter is the YAML path when given (edits to the file
    apply to the next run), else the spec itself, which the Prefect UI shows as a form.
    """
    return train.to_deployment(
        name=f"{spec.name}-training",
        cron=spec.retraining.schedule,
        parameters={"spec": str(Path(spec_path).resolve()) if spec_path else spec.model_dump(mode="json")},
        description=f"AutoML experiment {spec.name}: trains, registers a champion, regenerates batch scoring.",
        tags=["jido", "training", spec.name],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def build_deployments(spec_path: str) -> list[RunnerDeployment]:
    """Both deployments of the spec at ``spec_path``."""
    spec = load_spec(spec_path)
    return [training_deployment(spec, spec_path), scoring_deployment(spec)]
