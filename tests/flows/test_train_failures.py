"""Trials that fail, time out, crash, run out of memory or find no worker, on real Prefect, Dask and MLflow.

The experiment goes on without them, or ends with a clear error.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from components.errors import JidoError
from flows.train import train
from tests.flows.conftest import cancer_spec, experiment_runs


def test_failing_trials_are_recorded_and_the_experiment_goes_on(services, tmp_path, tracking_uri):
    # Ten training rows per fold: k-NN configurations sampled with more
    # neighbours than that raise inside the trial.
    frame = pd.DataFrame({"x": range(20), "z": [v % 3 for v in range(20)], "y": ["a", "b"] * 10})
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    spec = cancer_spec(
        tmp_path,
        services,
        name="tiny",
        training_data=str(tmp_path / "tiny.csv"),
        target_column="y",
        n_cross_validations=2,
        validation_size=None,
        allowed_models=["KNN"],
        limits={"iterations": 10, "max_concurrent_iterations": 2},
    )
    result = train(spec)
    statuses = [row["status"] for row in result.leaderboard]
    assert len(statuses) == 10 and "failed" in statuses and "completed" in statuses
    assert all("n_neighbors" in row["error"] for row in result.leaderboard if row["status"] == "failed")
    _, children = experiment_runs(tracking_uri, "tiny")
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(failed) == statuses.count("failed") and all("n_neighbors" in c.data.tags["jido.error"] for c in failed)


def test_trials_past_their_timeout_are_stopped_and_recorded(services, cancer_csv, tracking_uri):
    spec = cancer_spec(
        cancer_csv,
        services,
        name="hurried",
        allowed_models=["RandomForest"],
        limits={"iterations": 3, "max_concurrent_iterations": 2, "iteration_timeout_minutes": 0.0002},
    )
    with pytest.raises(JidoError, match="no trial completed.*iteration_timeout_minutes"):
        train(spec)
    parents, children = experiment_runs(tracking_uri, "hurried")
    assert len(children) == 3 and all(c.info.status == "FAILED" for c in children)
    assert all("iteration_timeout_minutes" in c.data.tags["jido.error"] for c in children)
    assert parents[0].info.status == "FAILED"


def test_a_trial_that_ends_its_process_is_failed_and_the_sweep_goes_on(services, cancer_csv, tracking_uri):
    from distributed import Client

    from components.models import REGISTRY
    from tests.support.crashing import CrashingFamily, RegisterCrashingFamily, register

    register()
    with Client(services) as client:
        client.register_plugin(RegisterCrashingFamily())
    try:
        _crash_and_check(services, cancer_csv)
    finally:
        REGISTRY.pop(CrashingFamily.name)


def _crash_and_check(services, cancer_csv):
    spec = cancer_spec(
        cancer_csv,
        services,
        name="crashing",
        allowed_models=["Crashing", "LogisticRegression"],
        limits={"iterations": 5, "max_concurrent_iterations": 2},
        sweep={
            "sampling": "grid",
            "search_space": [
                {"model_name": ["Crashing"], "how": ["crash", "exit"]},
                {"model_name": ["LogisticRegression"], "C": [0.1, 1.0, 10.0]},
            ],
        },
    )
    result = train(spec)
    by_status = {}
    for row in result.leaderboard:
        by_status.setdefault(row["status"], []).append(row)
    assert len(by_status["failed"]) == 2 and all(r["model"] == "Crashing" for r in by_status["failed"])
    errors = {json.loads(r["params"])["how"]: r["error"] for r in by_status["failed"]}
    assert "worker process died" in errors["crash"]  # the process ended: the nanny replaces the worker
    assert errors["exit"].startswith("SystemExit: 3")  # sys.exit is caught inside the trial; the worker lives
    assert len(by_status["completed"]) == 3  # the other trials still ran
    # Whether the nanny brings the dead worker back is not asserted: in about
    # one run in four here it had not within 120 s (noted on issue 3).


def _fail_one_in_line(services, cancer_csv, tracking_uri, name: str, how: str, **limits) -> list[dict]:
    """A grid of short trials with one Crashing trial (``how``) ninth; checks none is lost or run twice, returns the
    rows."""
    from distributed import Client

    from components.models import REGISTRY
    from tests.support.crashing import CrashingFamily, RegisterCrashingFamily, register

    register()
    with Client(services) as client:
        client.register_plugin(RegisterCrashingFamily())
    # Short trials line up behind each other (see tasks.trials.lines_up): the next trial waits on the ninth's worker.
    spec = cancer_spec(
        cancer_csv,
        services,
        name=name,
        allowed_models=["Crashing", "LogisticRegression"],
        limits={"iterations": 14, "max_concurrent_iterations": 2, **limits},
        sweep={
            "sampling": "grid",
            "search_space": [
                {"model_name": ["LogisticRegression"], "C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]},
                {"model_name": ["Crashing"], "how": [how]},
                {"model_name": ["LogisticRegression"], "C": [0.02, 0.2, 2.0, 20.0, 200.0]},
            ],
        },
    )
    try:
        result = train(spec)
    finally:
        REGISTRY.pop(CrashingFamily.name)
    rows = sorted(result.leaderboard, key=lambda r: r["iteration"])
    assert [r["iteration"] for r in rows] == list(range(14))  # none lost, none run twice
    assert [r["iteration"] for r in rows if r["status"] == "failed"] == [8]
    assert all(r["status"] == "completed" for r in rows if r["iteration"] != 8)
    _, children = experiment_runs(tracking_uri, name)
    assert sorted(int(c.data.tags["jido.iteration"]) for c in children) == list(range(14))
    return rows


def test_a_trial_waiting_behind_one_that_ends_its_worker_runs_again_elsewhere(services, cancer_csv, tracking_uri):
    rows = _fail_one_in_line(services, cancer_csv, tracking_uri, "crash-in-line", "late")  # ends its process 0.5 s in
    assert "worker process died" in rows[8]["error"]


def test_a_trial_waiting_behind_one_past_its_timeout_runs_again(services, cancer_csv, tracking_uri):
    rows = _fail_one_in_line(services, cancer_csv, tracking_uri, "hang-in-line", "hang", iteration_timeout_minutes=0.05)
    assert (
        "iteration_timeout_minutes" in rows[8]["error"]
    )  # stopped at 3 s: its worker restarts, and the trial behind it is sent again


def test_a_trial_that_runs_out_of_memory_is_failed_and_its_worker_replaced(prefect_api, tracking_uri, cancer_csv):
    import logging

    import dask
    from distributed import Client, LocalCluster

    from components.models import REGISTRY
    from tasks.cluster import NANNY_CLUSTER_SETTINGS
    from tests.support.crashing import CrashingFamily, RegisterCrashingFamily, register

    register()
    # One worker with a small memory limit: the nanny kills it past 95% and starts a new one.
    with (
        dask.config.set(NANNY_CLUSTER_SETTINGS),
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            memory_limit="700MiB",
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
    ):
        with Client(cluster) as client:
            client.register_plugin(RegisterCrashingFamily())
            spec = cancer_spec(
                cancer_csv,
                cluster.scheduler_address,
                name="oom",
                allowed_models=["Crashing", "LogisticRegression"],
                limits={"iterations": 3, "max_concurrent_iterations": 1, "experiment_timeout_hours": 0.05},
                sweep={
                    "sampling": "grid",
                    "search_space": [
                        {"model_name": ["Crashing"], "how": ["oom"]},
                        {"model_name": ["LogisticRegression"], "C": [0.1, 1.0]},
                    ],
                },
            )
            try:
                result = train(spec)
            finally:
                REGISTRY.pop(CrashingFamily.name)
    rows = sorted(result.leaderboard, key=lambda r: r["iteration"])
    assert rows[0]["status"] == "failed" and "worker process died" in rows[0]["error"]
    assert [r["status"] for r in rows[1:]] == ["completed", "completed"]  # ran on the replacement worker


def test_a_sweep_without_any_worker_ends_with_a_clear_error(prefect_api, tracking_uri, cancer_csv, monkeypatch):
    from distributed import LocalCluster

    import tasks.sweep.loop

    monkeypatch.setattr(tasks.sweep.loop, "NO_WORKER_PATIENCE_S", 2)
    with LocalCluster(n_workers=0, dashboard_address=":0") as cluster:
        spec = cancer_spec(cancer_csv, cluster.scheduler_address, name="no-workers", allowed_models=["SGD"])
        with pytest.raises(JidoError, match="no Dask worker could take one"):
            train(spec)
