"""Deployment builders, applied to a real Prefect API."""

from __future__ import annotations

from prefect.client.orchestration import get_client

from components.spec import build_spec
from deployments.build import build_deployments
from tasks.deploy import create_scoring_deployment


def test_scoring_deployment_is_created_then_updated(prefect_api, tmp_path):
    base = {"name": "deployme", "task": "regression", "training_data": "t.csv", "target_column": "y"}
    create_scoring_deployment.fn(build_spec(base))
    scheduled = build_spec(
        {
            **base,
            "scoring": {"schedule": "0 3 * * *", "input": str(tmp_path / "in.csv"), "output": str(tmp_path / "o.csv")},
        }
    )
    create_scoring_deployment.fn(scheduled)
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("jido-score/deployme-batch-scoring")
        assert deployment.parameters == {
            "model_uri": "models:/deployme@champion",
            "max_rejected_fraction": 0.1,
            "input": str(tmp_path / "in.csv"),
            "output": str(tmp_path / "o.csv"),
        }
        assert deployment.entrypoint == "flows.score.score"
        assert [s.schedule.cron for s in deployment.schedules] == ["0 3 * * *"]


def test_jido_deploy_builds_training_and_scoring_deployments(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "name: served\ntask: classification\ntraining_data: t.csv\ntarget_column: y\n"
        "retraining: {schedule: '0 2 * * 0'}\nscoring: "
        "{schedule: '0 3 * * *', input: in.csv, output: out.csv, workers: 4, address: 'tcp://dask:8786'}\n"
    )
    training, scoring = build_deployments(str(path))
    assert (training.flow_name, training.name) == ("jido-train", "served-training")
    assert training.parameters == {"spec": str(path.resolve())}
    assert training.entrypoint == "flows.train.train" and scoring.entrypoint == "flows.score.score"
    assert training.schedules[0].schedule.cron == "0 2 * * 0" and scoring.schedules[0].schedule.cron == "0 3 * * *"
    assert scoring.parameters["input"] == str(tmp_path / "in.csv")
    assert (scoring.parameters["workers"], scoring.parameters["address"]) == (
        4,
        "tcp://dask:8786",
    )  # large inputs score on that cluster
