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
    stamped = pd.to_datetime(scored["scored_at"], utc=True)
    assert stamped.nunique() == 1 and abs(pd.Timestamp.now(tz="UTC") - stamped.iloc[0]) < pd.Timedelta(minutes=5)
    assert summary.scored_at == stamped.iloc[0].isoformat()
    assert sum(summary.prediction_counts.values()) == len(new)


def test_a_pinned_version_scores_too(trained_cancer, cancer_csv, tmp_path):
    summary = score("models:/cancer/1", str(cancer_csv / "new.csv"), str(tmp_path / "v1.csv"))
    assert summary.model_version == "1"


@pytest.mark.parametrize(
    "model_uri, make_input, output, message",
    [
        ("models:/cancer@champion", lambda d: d.drop(columns=["mean radius"]), "o.csv", "missing column.*mean radius"),
        ("models:/cancer@champion", lambda d: d.assign(**{"mean area": "large"}), "o.csv", "'mean area' should hold numbers"),
        ("models:/cancer@champion", lambda d: d.assign(**{"mean area": -1.0}), "o.csv", r"119 of 119 rows .* break the data contract.*mean area outside"),
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


def test_rows_that_break_the_contract_are_quarantined_and_a_rerun_gives_the_same_files(trained_cancer, cancer_csv, tmp_path):
    new = pd.read_csv(cancer_csv / "new.csv")
    bad = new.copy()
    bad.loc[3, "mean radius"] = None  # training had no empty values
    bad.loc[7, "mean area"] = 1e9  # far outside the training range
    bad.loc[9, "worst texture"] = float("inf")
    bad.to_csv(tmp_path / "in.csv", index=False)
    output = tmp_path / "out" / "scored.csv"
    first = score("models:/cancer@champion", str(tmp_path / "in.csv"), str(output))
    scored, rejected = pd.read_csv(output), pd.read_csv(tmp_path / "out" / "rejected" / "scored.csv")
    assert first.n_rows == len(scored) == len(new) - 3 and first.n_rejected == 3
    assert np.allclose(scored["mean radius"], new.drop(index=[3, 7, 9])["mean radius"])  # the good rows, in order
    assert rejected["rejected_reason"].tolist() == [
        "mean radius is empty (training had no empty values)",
        rejected["rejected_reason"][1],
        "worst texture is infinite",
    ] and "mean area=1000000000.0 outside the accepted range" in rejected["rejected_reason"][1]
    files = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = score("models:/cancer@champion", str(tmp_path / "in.csv"), str(output))
    assert again.n_rows == first.n_rows
    assert {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()} == set(files)
    stamps = ["model_version", "scored_at"]  # a new run is stamped with its own time; the rest is identical
    assert pd.read_csv(output).drop(columns=stamps).equals(scored.drop(columns=stamps))
    with pytest.raises(JidoError, match="3 of 119 rows .* more than max_rejected_fraction \\(0.01\\)"):
        score("models:/cancer@champion", str(tmp_path / "in.csv"), str(tmp_path / "strict.csv"), max_rejected_fraction=0.01)
    assert not (tmp_path / "strict.csv").exists() and not (tmp_path / "rejected").exists()
    clean = score("models:/cancer@champion", str(cancer_csv / "new.csv"), str(output))
    assert clean.n_rejected == 0 and not (tmp_path / "out" / "rejected" / "scored.csv").exists()  # no stale quarantine left
