"""Session-wide real services: one Prefect test harness, one MLflow SQLite store, one Dask LocalCluster."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.spec import build_spec

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """The session's working folder: MLflow's database and artifacts live here."""
    folder = tmp_path_factory.mktemp("jido")
    previous = Path.cwd()
    os.chdir(folder)
    yield folder
    os.chdir(previous)


@pytest.fixture(scope="session")
def tracking_uri(workdir) -> str:
    """A real MLflow store (SQLite) shared by the session: migrations run once."""
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


@pytest.fixture(scope="session")
def prefect_api():
    """One real Prefect API for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def dask_address() -> str:
    """A real Dask LocalCluster, reached by address the way a user's own scheduler is."""
    import dask
    from distributed import LocalCluster

    from tasks.cluster import NANNY_CLUSTER_SETTINGS

    # Configured like the LocalCluster jido starts (no retried trials, no nanny closed while its worker restarts).
    with (
        dask.config.set(NANNY_CLUSTER_SETTINGS),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
    ):
        yield cluster.scheduler_address


@pytest.fixture(scope="session")
def services(tracking_uri, prefect_api, dask_address) -> str:
    """Everything a flow needs; returns the Dask scheduler address."""
    return dask_address


@pytest.fixture(scope="session")
def cancer_frame() -> pd.DataFrame:
    """scikit-learn's breast cancer data with a string target."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = np.where(frame.pop("target") == 1, "benign", "malignant")
    return frame


@pytest.fixture(scope="session")
def cancer_csv(tmp_path_factory, cancer_frame):
    folder = tmp_path_factory.mktemp("cancer")
    cancer_frame.iloc[:450].to_csv(folder / "train.csv", index=False)
    cancer_frame.iloc[450:].drop(columns="diagnosis").to_csv(folder / "new.csv", index=False)
    return folder


def cancer_spec(folder, address: str | None, **overrides):
    data = {
        "name": "cancer",
        "task": "classification",
        "training_data": str(folder / "train.csv"),
        "target_column": "diagnosis",
        "primary_metric": "AUC_weighted",
        "validation_size": 0.25,
        "limits": {"iterations": 4, "max_concurrent_iterations": 2},
        "compute": {"address": address},
        # Off here so tests can count trials; ensembles have tests of their own.
        "enable_voting_ensemble": False,
    }
    data.update(overrides)
    return build_spec(data)


@pytest.fixture(scope="session")
def trained_cancer(services, cancer_csv):
    """One real experiment, shared by the tests that only read what it produced."""
    from flows.train import train

    spec = cancer_spec(cancer_csv, services, name="cancer", limits={"iterations": 6, "max_concurrent_iterations": 2})
    return spec, train(spec)


@pytest.fixture()
def mixed_frame() -> pd.DataFrame:
    """A small table with every column kind: numbers, numeric strings, categories, dates, text, an id, nulls."""
    return make_mixed_frame()


def make_mixed_frame() -> pd.DataFrame:
    """The table behind the ``mixed_frame`` fixture, for module-scoped fixtures."""
    rng = np.random.default_rng(0)
    n = 240
    colour = rng.choice(["red", "green", "blue"], n)
    amount = rng.normal(50, 10, n)
    words = np.array(["great", "poor", "fine", "broken", "superb", "late", "quick", "cheap"])
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "amount": amount,
            "amount_text": [f"{v:.2f}" for v in amount * 2],
            "colour": colour,
            "signup": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "review": [" ".join(rng.choice(words, 5)) for _ in range(n)],
        }
    )
    frame.loc[::17, "amount"] = np.nan
    frame.loc[::13, "colour"] = None
    frame["label"] = np.where((colour == "red") | (amount > 55), "yes", "no")
    return frame
