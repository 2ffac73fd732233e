"""Partitions of a large input scored on a real Dask cluster: the same table, and the same failures, as one process."""

import os
from datetime import UTC, datetime

import pandas as pd
import pytest

from components.contract.contract import DataContract
from components.data.inputs import partitions, resolve_input
from components.errors import JidoError
from components.scoring.batch import rejected_path, score_files, score_frame
from components.scoring.bundle import ModelBundle, ScoringRun
from tasks.partitioned import score_files_on_cluster
from tests.support.scoring import CLASSIFICATION, fitted_classifier, mixed_contract, write_row_groups

NO_CONTRACT = DataContract(())
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture()
def pipeline(mixed_frame):
    return fitted_classifier(mixed_frame)


@pytest.fixture()
def contract(mixed_frame):
    return mixed_contract(mixed_frame)


@pytest.fixture()
def client(dask_address):
    from distributed import Client

    with Client(dask_address) as client:
        yield client


def _read(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_partitions_scored_on_the_cluster_give_the_same_table_as_one_process(
    client, pipeline, contract, mixed_frame, tmp_path, suffix
):
    new = mixed_frame.drop(columns="label")
    new.loc[5, "amount_text"] = "lots"  # rows to set aside, in two partitions
    new.loc[130, "amount"] = -1e9
    folder = tmp_path / "in"
    folder.mkdir()
    write_row_groups(new.iloc[:180], folder / "a.parquet", 30)
    new.iloc[180:][list(reversed(new.columns))].to_csv(folder / "b.csv", index=False)  # its own column order
    files = resolve_input(folder).files
    alone, together = tmp_path / "alone" / f"scored{suffix}", tmp_path / "together" / f"scored{suffix}"
    expected = score_files(
        ModelBundle(pipeline, contract, CLASSIFICATION), files, alone, ScoringRun("m", "2", STAMP, 0.1), batch_rows=32
    )
    parts = partitions(files, partition_rows=60)
    assert len(parts) == 4
    summary = score_files_on_cluster(
        client,
        ModelBundle(pipeline, contract, CLASSIFICATION),
        parts,
        together,
        ScoringRun("m", "2", STAMP, 0.1),
        batch_rows=32,
    )
    pd.testing.assert_frame_equal(_read(together), _read(alone))
    pd.testing.assert_frame_equal(_read(rejected_path(together)), _read(rejected_path(alone)))
    assert _read(rejected_path(together))["customer_id"].tolist() == ["C00005", "C00130"]
    assert (summary.n_rows, summary.n_rows_in, summary.n_rejected, summary.n_files) == (expected.n_rows, 240, 2, 2)
    assert (
        summary.prediction_counts == expected.prediction_counts
        and summary.rejected_reasons == expected.rejected_reasons
    )
    assert summary.drift == expected.drift
    assert sorted(p.name for p in together.parent.iterdir()) == ["rejected", together.name]  # no part files left
    before = {p: p.read_bytes() for p in (together, rejected_path(together))}
    score_files_on_cluster(
        client,
        ModelBundle(pipeline, contract, CLASSIFICATION),
        parts,
        together,
        ScoringRun("m", "2", STAMP, 0.1),
        batch_rows=32,
    )
    assert {p: p.read_bytes() for p in before} == before  # idempotent: the same bytes


def test_a_bad_partition_on_the_cluster_fails_the_run_naming_its_rows_and_writes_nothing(
    client, pipeline, contract, mixed_frame, tmp_path
):
    new = mixed_frame.drop(columns="label")
    words = new.astype({"amount": str})
    words.loc[150:, "amount"] = "unknown"  # row groups of words where numbers belong
    write_row_groups(words, tmp_path / "in.parquet", 30)
    output = tmp_path / "out" / "scored.parquet"
    parts = partitions([tmp_path / "in.parquet"], partition_rows=60)
    with pytest.raises(JidoError, match=r"in.parquet, rows 151-180\):\n  - column 'amount' should hold numbers"):
        score_files_on_cluster(
            client,
            ModelBundle(pipeline, contract, CLASSIFICATION),
            parts,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=30,
        )
    assert not (tmp_path / "out").exists()  # no output, no rejected/, no part files
    new.loc[150:, "amount"] = -1e9  # now only rows out of range: too many of them
    write_row_groups(new, tmp_path / "in.parquet", 30)
    with pytest.raises(JidoError, match="90 of 240 rows .* more than max_rejected_fraction"):
        score_files_on_cluster(
            client,
            ModelBundle(pipeline, contract, CLASSIFICATION),
            parts,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=30,
        )
    assert not (tmp_path / "out").exists()


def test_a_worker_that_dies_scoring_a_partition_fails_the_run_naming_it_and_writes_nothing(
    client, pipeline, contract, mixed_frame, tmp_path
):
    from sklearn.pipeline import Pipeline

    from tests.support.crashing import DiesAwayFromHome

    dying = Pipeline(
        [
            ("featurize", pipeline.named_steps["featurize"]),
            ("model", DiesAwayFromHome(pipeline.named_steps["model"], os.getpid())),
        ]
    )
    assert (
        score_frame(ModelBundle(dying, NO_CONTRACT, CLASSIFICATION), mixed_frame.head(3), ScoringRun("m", "1", STAMP))[
            "prediction"
        ]
        .notna()
        .all()
    )  # fine at home
    write_row_groups(mixed_frame.drop(columns="label"), tmp_path / "in.parquet", 60)
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match=r"scoring .*in.parquet, rows 1-120 failed on its Dask worker: KilledWorker"):
        score_files_on_cluster(
            client,
            ModelBundle(dying, contract, CLASSIFICATION),
            partitions([tmp_path / "in.parquet"], 120),
            output,
            ScoringRun("m", "2", STAMP, 0.1),
        )
    assert not (tmp_path / "out").exists()


def test_a_column_that_changes_type_within_a_partition_is_named_as_in_one_process(
    client, pipeline, contract, mixed_frame, tmp_path
):
    new = mixed_frame.drop(columns="label").assign(note=1)
    new["note"] = new["note"].astype(object)
    new.loc[200:, "note"] = "text"  # numbers in the first batches, words later: Parquet output cannot hold both
    new.to_csv(tmp_path / "in.csv", index=False)
    files = [tmp_path / "in.csv"]
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match="column 'note' changes type between batches") as alone:
        score_files(
            ModelBundle(pipeline, contract, CLASSIFICATION),
            files,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=100,
        )
    with pytest.raises(JidoError, match="column 'note' changes type between batches") as together:
        score_files_on_cluster(
            client,
            ModelBundle(pipeline, contract, CLASSIFICATION),
            partitions(files, 100),
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=100,
        )
    assert str(together.value) == str(alone.value) and not (tmp_path / "out").exists()
