"""Voting ensembles end to end: selected after the sweep, refitted, registered and scored like any model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.base import clone

from components.experiment.trial import build_pipeline
from components.experiment.voting import ENSEMBLE_NAME, VotingEnsemble
from components.problems import get_problem
from components.registry.models import load_pipeline, resolve_model
from components.spec import build_spec
from flows.score import score
from flows.train import train


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    from sklearn.datasets import load_diabetes

    folder = tmp_path_factory.mktemp("diabetes")
    frame = load_diabetes(as_frame=True).frame
    frame.to_csv(folder / "train.csv", index=False)
    frame.drop(columns="target").head(50).to_csv(folder / "new.csv", index=False)
    return folder, frame


def _spec(folder, address, name, **overrides):
    # A grid, so the trials (and the selection over them) do not depend on the order they finish in.
    data = {
        "name": name,
        "task": "regression",
        "training_data": str(folder / "train.csv"),
        "target_column": "target",
        "primary_metric": "r2_score",
        "n_cross_validations": 3,
        "limits": {"iterations": 4, "max_concurrent_iterations": 2},
        "compute": {"address": address},
        "sweep": {
            "sampling": "grid",
            "search_space": [
                {"model_name": ["ElasticNet"], "alpha": [0.001, 0.1]},
                {"model_name": ["KNN"], "n_neighbors": [15], "weights": ["uniform"]},
                {"model_name": ["RandomForest"], "n_estimators": [60], "max_features": [0.3], "min_samples_leaf": [5]},
            ],
        },
    }
    data.update(overrides)
    return build_spec(data)


def test_an_ensemble_that_beats_every_trial_is_registered_and_scores(services, tracking_uri, diabetes, tmp_path):
    folder, frame = diabetes
    result = train(_spec(folder, services, "vote"))
    top = result.leaderboard[0]
    assert top["model"] == ENSEMBLE_NAME and len(result.leaderboard) == 5  # four trials, then the ensemble
    singles = [row for row in result.leaderboard if row["model"] != ENSEMBLE_NAME]
    assert top["r2_score"] > max(row["r2_score"] for row in singles)
    assert result.champion_metric == pytest.approx(top["r2_score"], abs=1e-6)
    params = json.loads(top["params"])
    weights = {int(i): w for i, w in params["weights"].items()}
    assert len(weights) >= 2 and sum(weights.values()) == pytest.approx(1.0, abs=1e-3)

    # Registered as a vote of its members, each refitted on all rows.
    version = MlflowClient(tracking_uri).get_model_version("vote", result.champion_version)
    assert version.tags["jido.model_name"] == ENSEMBLE_NAME and version.tags["jido.trained_on"] == "all rows"
    pipeline = load_pipeline(resolve_model(result.champion_uri, tracking_uri), tracking_uri)
    ensemble = pipeline.named_steps["model"]
    assert isinstance(ensemble, VotingEnsemble) and len(ensemble.members_) == len(weights)
    X, y = frame.drop(columns="target"), frame["target"]
    by_iteration = {row["iteration"]: row for row in singles}
    refitted = [
        clone(
            build_pipeline(
                by_iteration[i].get("model"), get_problem("regression"), json.loads(by_iteration[i]["params"]), 0
            )
        ).fit(X, y)
        for i in weights
    ]
    expected = sum(w * m.predict(X.head(50)) for w, m in zip(weights.values(), refitted))
    assert np.allclose(pipeline.predict(X.head(50)), expected)

    # And it scores through the batch flow like any registered model.
    summary = score(result.champion_uri, str(folder / "new.csv"), str(tmp_path / "scored.csv"))
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert summary.n_rows == 50 and np.allclose(scored["prediction"], expected)


def test_no_ensemble_when_it_is_turned_off(services, diabetes):
    folder, _ = diabetes
    result = train(_spec(folder, services, "no-vote", enable_voting_ensemble=False))
    assert ENSEMBLE_NAME not in {row["model"] for row in result.leaderboard} and len(result.leaderboard) == 4


def test_of_trials_tied_for_the_best_the_better_calibrated_is_registered(services, tmp_path):
    # Two far-apart blobs: every C ranks every validation row right (AUC 1.0); the weakest penalty is the surest.
    rng = np.random.default_rng(0)
    y = np.repeat(["no", "yes"], 60)
    frame = pd.DataFrame(
        {"x1": rng.normal(0, 1, 120) + np.where(y == "yes", 12.0, 0.0), "x2": rng.normal(0, 1, 120), "label": y}
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    spec = build_spec(
        {
            "name": "ties",
            "task": "classification",
            "training_data": str(tmp_path / "train.csv"),
            "target_column": "label",
            "primary_metric": "AUC_weighted",
            "n_cross_validations": 3,
            "enable_voting_ensemble": False,
            "limits": {"iterations": 4, "max_concurrent_iterations": 2},
            "compute": {"address": services},
            "sweep": {
                "sampling": "grid",
                "search_space": [{"model_name": ["LogisticRegression"], "C": [0.001, 0.01, 0.1, 100.0]}],
            },
        }
    )
    result = train(spec)
    top = result.leaderboard[0]
    assert all(row["AUC_weighted"] == 1.0 for row in result.leaderboard)
    assert json.loads(top["params"])["C"] == 100.0
    assert (
        min(row["iteration"] for row in result.leaderboard) < top["iteration"]
    )  # a plain tie would have kept an earlier trial
