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
        (
            "models:/cancer@champion",
            lambda d: d.assign(**{"mean area": "large"}),
            "o.csv",
            "'mean area' should hold numbers",
        ),
        (
            "models:/cancer@champion",
            lambda d: d.assign(**{"mean area": -1.0}),
            "o.csv",
            r"119 of 119 rows .* break the data contract.*mean area outside",
        ),
        ("models:/cancer@champion", lambda d: d, "o.xlsx", "unsupported file format '.xlsx'"),
        ("models:/unknown@champion", lambda d: d, "o.csv", "no registered model version"),
        ("models:/cancer@champion", lambda d: d.head(0), "o.csv", "header but no rows"),
    ],
)
def test_bad_scoring_input_fails_cleanly_and_writes_nothing(
    trained_cancer, cancer_csv, tmp_path, model_uri, make_input, output, message
):
    make_input(pd.read_csv(cancer_csv / "new.csv")).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(JidoError, match=message):
        score(model_uri, str(tmp_path / "in.csv"), str(tmp_path / output))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_rows_that_break_the_contract_are_quarantined_and_a_rerun_gives_the_same_files(
    trained_cancer, cancer_csv, tmp_path
):
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
    assert (
        rejected["rejected_reason"].tolist()
        == [
            "mean radius is empty (training had no empty values)",
            rejected["rejected_reason"][1],
            "worst texture is infinite",
        ]
        and "mean area=1000000000.0 outside the accepted range" in rejected["rejected_reason"][1]
    )
    files = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = score("models:/cancer@champion", str(tmp_path / "in.csv"), str(output))
    assert again.n_rows == first.n_rows
    assert {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()} == set(files)
    stamps = ["model_version", "scored_at"]  # a new run is stamped with its own time; the rest is identical
    assert pd.read_csv(output).drop(columns=stamps).equals(scored.drop(columns=stamps))
    with pytest.raises(JidoError, match="3 of 119 rows .* more than max_rejected_fraction \\(0.01\\)"):
        score(
            "models:/cancer@champion",
            str(tmp_path / "in.csv"),
            str(tmp_path / "strict.csv"),
            max_rejected_fraction=0.01,
        )
    assert not (tmp_path / "strict.csv").exists() and not (tmp_path / "rejected").exists()
    clean = score("models:/cancer@champion", str(cancer_csv / "new.csv"), str(output))
    assert (
        clean.n_rejected == 0 and not (tmp_path / "out" / "rejected" / "scored.csv").exists()
    )  # no stale quarantine left


def _in_row_groups(frame: pd.DataFrame, path, rows_per_group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows_per_group)


def test_a_large_input_scores_on_local_workers_or_an_existing_scheduler_into_the_same_table(
    trained_cancer, cancer_csv, tmp_path, dask_address, monkeypatch
):
    import tasks.score

    new = pd.read_csv(cancer_csv / "new.csv")
    bad = new.copy()
    bad.loc[100, "mean area"] = 1e9  # one row to set aside, in the last partition
    _in_row_groups(bad, tmp_path / "in.parquet", 20)
    monkeypatch.setattr(tasks.score, "PARTITION_ROWS", 40)  # three partitions of this small input
    alone = score("models:/cancer@champion", str(tmp_path / "in.parquet"), str(tmp_path / "alone.parquet"), workers=1)
    local = score("models:/cancer@champion", str(tmp_path / "in.parquet"), str(tmp_path / "local.parquet"), workers=2)
    remote = score(
        "models:/cancer@champion", str(tmp_path / "in.parquet"), str(tmp_path / "remote.parquet"), address=dask_address
    )
    stamps = ["scored_at"]  # each run is stamped with its own time
    expected = pd.read_parquet(tmp_path / "alone.parquet").drop(columns=stamps)
    for name, summary in (("local", local), ("remote", remote)):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet").drop(columns=stamps), expected)
        assert (summary.n_rows, summary.n_rejected, summary.prediction_counts) == (
            alone.n_rows,
            1,
            alone.prediction_counts,
        )
        assert pd.read_parquet(tmp_path / "rejected" / f"{name}.parquet")["mean area"].tolist() == ["1000000000.0"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alone.parquet",
        "in.parquet",
        "local.parquet",
        "rejected",
        "remote.parquet",
    ]


def test_parallel_scoring_is_chosen_by_what_was_asked(tmp_path, monkeypatch):
    import tasks.score
    from tasks.score import parallel_plan

    _in_row_groups(pd.DataFrame({"x": range(100)}), tmp_path / "in.parquet", 10)
    files = [tmp_path / "in.parquet"]
    monkeypatch.setattr(tasks.score, "PARTITION_ROWS", 30)
    assert parallel_plan(files, 1, None) is None  # asked for one process
    parts, n_workers = parallel_plan(files, 3, None)
    assert [p.row_groups for p in parts] == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)] and n_workers == 3
    assert parallel_plan(files, 8, None)[1] == 4  # never more workers than partitions
    monkeypatch.setattr(tasks.score.os, "cpu_count", lambda: 2)
    assert parallel_plan(files, None, "tcp://somewhere:8786")[1] == 2  # an existing scheduler: this machine's cores
    monkeypatch.setattr(tasks.score.os, "cpu_count", lambda: 16)
    assert parallel_plan(files, None, None) is None  # left to jido: one process, even on many cores
    monkeypatch.setattr(tasks.score, "PARTITION_ROWS", 1000)
    assert parallel_plan(files, 4, None) is None  # one partition


def test_an_unreachable_scoring_scheduler_is_named_by_the_setting_it_came_from(
    trained_cancer, cancer_csv, tmp_path, monkeypatch
):
    import tasks.score

    _in_row_groups(pd.read_csv(cancer_csv / "new.csv"), tmp_path / "in.parquet", 20)
    monkeypatch.setattr(tasks.score, "PARTITION_ROWS", 40)
    with pytest.raises(
        JidoError, match=r"^--address \(scoring.address\): cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    ):
        score(
            "models:/cancer@champion",
            str(tmp_path / "in.parquet"),
            str(tmp_path / "out.parquet"),
            address="tcp://127.0.0.1:9",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_a_worker_count_below_one_is_refused(trained_cancer, cancer_csv, tmp_path):
    with pytest.raises(JidoError, match="workers must be 1 or more"):
        score("models:/cancer@champion", str(cancer_csv / "new.csv"), str(tmp_path / "o.csv"), workers=0)
    assert not (tmp_path / "o.csv").exists()
