"""The training flow on real Prefect, real Dask and real MLflow."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from components.errors import JidoError
from components.experiment.leaderboard import Leaderboard
from components.registry.artifacts import load_contract
from components.registry.models import load_pipeline, resolve_model
from flows.train import train
from tests.flows.conftest import cancer_spec, experiment_runs


def test_experiment_registers_a_champion_tracks_every_trial_and_generates_scoring(trained_cancer, tracking_uri):
    _, result = trained_cancer
    assert result.promoted and result.champion_version == "1"
    assert result.champion_uri == "models:/cancer@champion" and result.registered_uri == "models:/cancer/1"
    assert len(result.leaderboard) == 6 and result.leaderboard[0]["rank"] == 1
    assert result.champion_metric == pytest.approx(result.leaderboard[0]["AUC_weighted"], abs=1e-6)
    assert result.champion_metric > 0.95

    parents, children = experiment_runs(tracking_uri, "cancer")
    assert len(parents) == 1 and len(children) == 6
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    for child in children:
        assert child.data.tags["jido.status"] == "completed" and child.info.status == "FINISHED"
        assert "AUC_weighted" in child.data.metrics and "duration_s" in child.data.metrics
        assert "model_name" in child.data.params
    assert parents[0].data.metrics["best_AUC_weighted"] == pytest.approx(result.champion_metric)
    saved = Leaderboard.load(MlflowClient(tracking_uri).download_artifacts(parents[0].info.run_id, "leaderboard.json"))
    assert len(saved.results) == 6 and saved.best().metric == pytest.approx(result.champion_metric)

    client = MlflowClient(tracking_uri)
    assert str(client.get_model_version_by_alias("cancer", "champion").version) == "1"
    assert (
        client.get_model_version("cancer", "1").tags["jido.trained_on"] == "all rows"
    )  # tabular champions are refitted
    contract = load_contract(resolve_model("models:/cancer@champion", tracking_uri), tracking_uri)
    assert len(contract.columns) == 30 and {c.kind for c in contract.columns} == {"numeric"}  # kept with the version

    with get_client(sync_client=True) as prefect:
        deployment = prefect.read_deployment_by_name("jido-score/cancer-batch-scoring")
        assert deployment.parameters["model_uri"] == "models:/cancer@champion"
        found = prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["cancer-leaderboard", "cancer-progress"]))
        )
    by_key = {a.key: a for a in sorted(found, key=lambda a: a.created)}  # the newest version of each key
    assert by_key["cancer-leaderboard"].type == "table" and by_key["cancer-progress"].type == "progress"
    assert (
        "AUC_weighted" in by_key["cancer-leaderboard"].data
        and "models:/cancer/1" in by_key["cancer-leaderboard"].description
    )
    live = [a.description for a in found if a.key == "cancer-leaderboard" and "(running)" in a.description]
    assert live and any(
        "6 of 6 trials finished" in d for d in live
    )  # updated while trials finished, the last one included
    assert by_key["cancer-progress"].data == pytest.approx(100.0)


def test_champion_moves_only_when_beaten_on_the_same_validation_rows(services, cancer_csv, tracking_uri):
    weak = cancer_spec(cancer_csv, services, name="duel", allowed_models=["KNN"], limits={"iterations": 1})
    strong = cancer_spec(
        cancer_csv, services, name="duel", allowed_models=["LogisticRegression"], limits={"iterations": 1}
    )
    first = train(weak)
    assert first.promoted and first.champion_version == "1"
    second = train(strong)
    assert second.promoted and second.champion_version == "2"
    assert second.champion_metric > first.champion_metric
    third = train(weak)
    assert not third.promoted and third.registered_uri == "models:/duel/3"
    assert third.champion_version == "2"
    assert third.champion_metric == pytest.approx(second.champion_metric)
    assert str(MlflowClient(tracking_uri).get_model_version_by_alias("duel", "champion").version) == "2"


def test_experiment_timeout_stops_starting_trials(services, cancer_csv, tracking_uri):
    spec = cancer_spec(
        cancer_csv,
        services,
        name="budget",
        allowed_models=["LogisticRegression", "SGD"],
        limits={"iterations": 1000, "max_concurrent_iterations": 2, "experiment_timeout_hours": 0.006},
    )
    result = train(spec)
    assert 1 <= len(result.leaderboard) < 1000
    # The sweep keeps within the budget (how much it leaves for the refit is tests/tasks' post_sweep_reserve test;
    # the benchmark experiment_timeout measures the whole run against its budget).
    parents, _ = experiment_runs(tracking_uri, "budget")
    assert parents[0].data.metrics["sweep_end_s"] < 0.006 * 3600 + 3


def test_a_cluster_class_with_its_arguments(prefect_api, tracking_uri, cancer_csv):
    spec = cancer_spec(
        cancer_csv,
        None,
        name="classy",
        allowed_models=["SGD"],
        limits={"iterations": 2, "max_concurrent_iterations": 1},
        compute={
            "cluster_class": "distributed.LocalCluster",
            "cluster_kwargs": {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None},
        },
    )
    assert [row["status"] for row in train(spec).leaderboard] == ["completed", "completed"]


def test_default_local_cluster(prefect_api, tracking_uri, cancer_csv):
    spec = cancer_spec(
        cancer_csv, None, name="local", allowed_models=["SGD"], limits={"iterations": 2, "max_concurrent_iterations": 1}
    )
    assert spec.compute.address is None
    result = train(spec)
    assert [row["status"] for row in result.leaderboard] == ["completed", "completed"]


@pytest.mark.parametrize("own_process", [True, False], ids=["recorder-process", "recorder-thread"])
def test_every_trial_is_recorded_by_a_recorder_process_or_thread(
    services, cancer_csv, tracking_uri, monkeypatch, own_process
):
    """Each finished trial gets its durable record and its nested run, whichever kind of recorder the machine gets."""
    import os

    import optuna

    import tasks.trials
    from components.search.store import SweepStore, trial_to_result
    from tasks.settings import sweep_storage

    asked = []
    monkeypatch.setattr(
        tasks.trials,
        "records_in_a_process",
        lambda cores, trials_here: asked.append((cores, trials_here)) or own_process,
    )
    name = f"recorded-by-a-{'process' if own_process else 'thread'}"
    train(
        cancer_spec(
            cancer_csv, services, name=name, allowed_models=["LogisticRegression", "KNN"], limits={"iterations": 5}
        )
    )
    assert asked == [(os.cpu_count(), 2)]  # both of the session cluster's workers run trials on this machine
    _, children = experiment_runs(tracking_uri, name)
    assert sorted(int(c.data.tags["jido.iteration"]) for c in children) == list(range(5))
    url = sweep_storage(name, None)
    (study,) = optuna.get_all_study_names(url)
    assert sorted(trial_to_result(t).iteration for t in SweepStore(url, study, resumed=True).finished()) == list(
        range(5)
    )


def test_a_yaml_path_is_accepted_and_bad_data_fails_before_any_run(services, tmp_path, tracking_uri, cancer_frame):
    cancer_frame.assign(empty=None).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "name: badcols\ntask: classification\ntraining_data: data.csv\ntarget_column: diagnosis\n"
    )
    with pytest.raises(JidoError, match="'empty' are entirely empty"):
        train(str(tmp_path / "spec.yaml"))
    assert MlflowClient(tracking_uri).get_experiment_by_name("badcols") is None  # nothing half-written


def test_a_grid_sweep_runs_each_combination_once(services, cancer_csv):
    spec = cancer_spec(
        cancer_csv,
        services,
        name="grid",
        limits={"iterations": 50, "max_concurrent_iterations": 2},
        sweep={
            "sampling": "grid",
            "search_space": {
                "model_name": ["LogisticRegression"],
                "C": [0.01, 1.0],
                "class_weight": [None, "balanced"],
            },
        },
    )
    result = train(spec)
    assert len(result.leaderboard) == 4
    assert {(json.loads(r["params"])["C"], json.loads(r["params"])["class_weight"]) for r in result.leaderboard} == {
        (0.01, None),
        (0.01, "balanced"),
        (1.0, None),
        (1.0, "balanced"),
    }


def test_early_termination_stops_weak_trials_on_the_workers(services, cancer_csv, tracking_uri):
    spec = cancer_spec(
        cancer_csv,
        services,
        name="pruned",
        allowed_models=["RandomForest", "HistGradientBoosting"],
        limits={"iterations": 8, "max_concurrent_iterations": 1},
        sweep={
            "sampling": "random",
            "early_termination": {"policy": "bandit", "slack_amount": 0.002, "delay_evaluation": 2},
        },
    )
    result = train(spec)
    statuses = [row["status"] for row in result.leaderboard]
    assert "early_terminated" in statuses and statuses[0] == "completed"
    _, children = experiment_runs(tracking_uri, "pruned")
    stopped = [c for c in children if c.data.tags["jido.status"] == "early_terminated"]
    assert stopped and all(c.info.status == "KILLED" for c in stopped)
    history = MlflowClient(tracking_uri).get_metric_history(stopped[0].info.run_id, "AUC_weighted_curve")
    assert 2 <= len(history) < 10  # stopped after the delay, before its last stage


def test_featurization_off_trains_on_the_columns_as_they_are(services, cancer_csv, tracking_uri):
    from components.features.auto import NumericPassthrough

    spec = cancer_spec(
        cancer_csv,
        services,
        name="own-features",
        featurization="off",
        allowed_models=["LightGBM", "RandomForest"],
        limits={"iterations": 2, "max_concurrent_iterations": 2},
    )
    result = train(spec)
    assert [json.loads(row["params"])["featurization"] for row in result.leaderboard] == ["off", "off"]
    pipeline = load_pipeline(resolve_model(result.registered_uri, tracking_uri), tracking_uri)
    assert isinstance(pipeline.named_steps["featurize"], NumericPassthrough) and result.champion_metric > 0.95
