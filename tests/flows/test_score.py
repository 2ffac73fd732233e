"""The scoring flow against the model the training flow registered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.errors import JidoError
from flows.score import score


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scoring_writes_every_row_in_order_with_probabilities_and_version(trained_cancer, cancer_csv, tmp_path, suffix):
    new = pd.read_csv(cancer_csv / "new.csv")
    source = tmp_path / f"new{suffix}"
    new.to_csv(source, index=False) if suffix == ".csv" else new.to_parquet(source, index=False)
    output = tmp_path / "out" / f"scored{suffix}"
    summary = score("models:/cancer@champion", str(source), str(output))
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert summary.n_rows == len(new) == len(scored) and summary.model_version == "1"
    assert np.allclose(scored["mean radius"], new["mean radius"])  # input order kept
    assert set(scored["prediction"]) <= {"benign", "malignant"}
    assert np.allclose(scored["probability_benign"] + scored["probability_malignant"], 1.0)
    assert set(scored["model_version"].astype(str)) == {"1"}
    assert sum(summary.prediction_counts.values()) == len(new)


def test_a_pinned_version_scores_too(trained_cancer, cancer_csv, tmp_path):
    summary = score("models:/cancer/1", str(cancer_csv / "new.csv"), str(tmp_path / "v1.csv"))
    assert summary.model_version == "1"


@pytest.mark.parametrize(
    "model_uri, make_input, output, message",
    [
        ("models:/cancer@champion", lambda d: d.drop(columns=["mean radius"]), "o.csv", "lacks column.*mean radius"),
        ("models:/cancer@champion", lambda d: d, "o.xlsx", "unsupported file format '.xlsx'"),
        ("models:/unknown@champion", lambda d: d, "o.csv", "no registered model version"),
        ("models:/cancer@champion", lambda d: d.head(0), "o.csv", "header but no rows"),
    ],
)
def test_bad_scoring_input_fails_cleanly_and_writes_nothing(trained_cancer, cancer_csv, tmp_path, model_uri, make_input, output, message):
    make_input(pd.read_csv(cancer_csv / "new.csv")).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(JidoError, match=message):
        score(model_uri, str(tmp_path / "in.csv"), str(tmp_path / output))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
