from __future__ import annotations

import pytest

from components.spec import build_spec


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
    }
    data.update(overrides)
    return build_spec(data)


@pytest.fixture(scope="session")
def trained_cancer(services, cancer_csv):
    """One real experiment, shared by the tests that only read what it produced."""
    from flows.train import train

    spec = cancer_spec(cancer_csv, services, name="cancer", limits={"iterations": 6, "max_concurrent_iterations": 2})
    return spec, train(spec)
