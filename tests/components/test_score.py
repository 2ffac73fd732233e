import os
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from components.data import prepare_learning_data
from components.errors import JidoError
from components.batches import partitions, resolve_input, write_table_atomic
from components.score import rejected_path, score_files, score_files_on_cluster, score_frame
from components.trial import build_pipeline


@pytest.fixture()
def pipeline(mixed_frame):
    data = prepare_learning_data(mixed_frame, "label", "classification")
    return build_pipeline("LogisticRegression", "classification", {"C": 1.0, "class_weight": None}, 0).fit(data.X, data.y)


def test_scores_keep_row_order_and_carry_probabilities_and_version(pipeline, mixed_frame):
    new = mixed_frame.drop(columns="label").iloc[::-1].reset_index(drop=True)
    scored = score_frame(pipeline, new, "m", "3")
    assert list(scored["customer_id"]) == list(new["customer_id"])
    assert {"prediction", "probability_no", "probability_yes"} <= set(scored.columns)
    assert np.allclose(scored["probability_no"] + scored["probability_yes"], 1.0)
    assert (scored["prediction"] == np.where(scored["probability_yes"] > 0.5, "yes", "no")).all()
    assert set(scored["model_version"]) == {"3"} and set(scored["model_name"]) == {"m"}


def test_extra_columns_pass_through_and_missing_ones_are_named(pipeline, mixed_frame):
    new = mixed_frame.drop(columns="label").assign(extra=1)
    assert "extra" in score_frame(pipeline, new, "m", "1").columns
    with pytest.raises(JidoError, match="amount, colour"):
        score_frame(pipeline, new.drop(columns=["amount", "colour"]), "m", "1")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    target = tmp_path / "out" / "scored.parquet"
    write_table_atomic(frame, target)
    assert pd.read_parquet(target).equals(frame)
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like a plain write, not mkstemp's 0600
    unwritable = pd.DataFrame({"a": [object()]})  # pyarrow cannot store a bare object
    with pytest.raises(Exception):
        write_table_atomic(unwritable, target)
    assert pd.read_parquet(target).equals(frame)  # the earlier output is untouched
    assert [p.name for p in target.parent.iterdir()] == ["scored.parquet"]  # no partial file left


@pytest.fixture()
def contract(mixed_frame):
    from components.contract import learn_contract
    from components.featurize import profile_table

    X = mixed_frame.drop(columns="label")
    return learn_contract(X, profile_table(X))


STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_folder_scores_batch_by_batch_into_one_table_and_again_into_the_same_bytes(pipeline, contract, mixed_frame, tmp_path, suffix):
    new = mixed_frame.drop(columns="label")
    new.loc[5, "amount_text"] = "lots"  # one row to set aside
    folder = tmp_path / "in"
    folder.mkdir()
    parts = [new.iloc[:100], new.iloc[100:170], new.iloc[170:]]
    for i, part in enumerate(parts):
        part.to_csv(folder / f"part-{i}.csv", index=False) if i % 2 else part.to_parquet(folder / f"part-{i}.parquet", index=False)
    files = resolve_input(folder).files
    output = tmp_path / "out" / f"scored{suffix}"
    summary = score_files(pipeline, contract, files, output, "m", "2", STAMP, 0.1, batch_rows=32)
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert summary.n_rows_in == len(new) and summary.n_rows == len(scored) == len(new) - 1 and summary.n_files == 3
    assert scored["customer_id"].tolist() == new.drop(index=5)["customer_id"].tolist()  # every row once, in order
    assert pd.to_datetime(scored["scored_at"], utc=True).eq(pd.Timestamp(STAMP)).all() and summary.scored_at == STAMP.isoformat()
    whole = score_frame(pipeline, new.drop(index=5), "m", "2", STAMP)  # the same rows in one piece
    assert scored["prediction"].tolist() == whole["prediction"].tolist()
    assert sum(summary.prediction_counts.values()) == len(scored)
    rejected = pd.read_csv(rejected_path(output)) if suffix == ".csv" else pd.read_parquet(rejected_path(output))
    assert rejected["customer_id"].tolist() == ["C00005"] and "amount_text=lots is not a number" in rejected["rejected_reason"][0]
    assert {d.column for d in summary.drift} >= {"amount", "colour"} and all(d.level == "too few rows" for d in summary.drift)
    before = {p: p.read_bytes() for p in (output, rejected_path(output))}
    score_files(pipeline, contract, files, output, "m", "2", STAMP, 0.1, batch_rows=32)
    assert {p: p.read_bytes() for p in before} == before  # idempotent: the same bytes


def test_one_bad_file_among_good_ones_fails_the_run_naming_it_and_writes_nothing(pipeline, contract, mixed_frame, tmp_path):
    new = mixed_frame.drop(columns="label")
    folder = tmp_path / "in"
    folder.mkdir()
    new.iloc[:100].to_parquet(folder / "a.parquet")
    new.iloc[100:].drop(columns="colour").to_parquet(folder / "b.parquet")
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match=r"b.parquet: missing column\(s\) the model was trained on: colour"):
        score_files(pipeline, contract, resolve_input(folder).files, output, "m", "2", STAMP, 0.1)
    (folder / "b.parquet").write_bytes((folder / "a.parquet").read_bytes()[:300])  # truncated
    with pytest.raises(JidoError, match="cannot read .*b.parquet as parquet"):
        score_files(pipeline, contract, resolve_input(folder).files, output, "m", "2", STAMP, 0.1)
    new.iloc[100:].assign(amount="unknown").to_csv(folder / "b.parquet.csv", index=False)  # a file whose numbers are all words, found mid-stream
    (folder / "b.parquet").unlink()
    with pytest.raises(JidoError, match="b.parquet.csv, rows 1-50\\):\n  - column 'amount' should hold numbers"):
        score_files(pipeline, contract, resolve_input(folder).files, output, "m", "2", STAMP, 0.1, batch_rows=50)
    assert not (tmp_path / "out").exists()


def _row_groups(frame: pd.DataFrame, path, rows_per_group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows_per_group)


def test_partitions_are_runs_of_whole_row_groups_and_whole_csv_files(mixed_frame, tmp_path):
    _row_groups(mixed_frame, tmp_path / "a.parquet", 50)  # groups of 50, 50, 50, 50, 40
    mixed_frame.to_csv(tmp_path / "b.csv", index=False)
    parts = partitions([tmp_path / "a.parquet", tmp_path / "b.csv"], partition_rows=100)
    assert [(p.path.name, p.row_groups, p.first_row, p.n_rows) for p in parts] == [
        ("a.parquet", (0, 1), 0, 100), ("a.parquet", (2, 3), 100, 100), ("a.parquet", (4,), 200, 40), ("b.csv", None, 0, None),
    ]
    assert str(parts[1]).endswith("a.parquet, rows 101-200")
    (tmp_path / "c.parquet").write_bytes(b"")
    with pytest.raises(JidoError, match="c.parquet is empty"):
        partitions([tmp_path / "c.parquet"], partition_rows=100)


@pytest.fixture()
def client(dask_address):
    from distributed import Client

    with Client(dask_address) as client:
        yield client


def _read(path):
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_partitions_scored_on_the_cluster_give_the_same_table_as_one_process(client, pipeline, contract, mixed_frame, tmp_path, suffix):
    new = mixed_frame.drop(columns="label")
    new.loc[5, "amount_text"] = "lots"  # rows to set aside, in two partitions
    new.loc[130, "amount"] = -1e9
    folder = tmp_path / "in"
    folder.mkdir()
    _row_groups(new.iloc[:180], folder / "a.parquet", 30)
    new.iloc[180:][list(reversed(new.columns))].to_csv(folder / "b.csv", index=False)  # its own column order
    files = resolve_input(folder).files
    alone, together = tmp_path / "alone" / f"scored{suffix}", tmp_path / "together" / f"scored{suffix}"
    expected = score_files(pipeline, contract, files, alone, "m", "2", STAMP, 0.1, batch_rows=32)
    parts = partitions(files, partition_rows=60)
    assert len(parts) == 4
    summary = score_files_on_cluster(client, pipeline, contract, parts, together, "m", "2", STAMP, 0.1, batch_rows=32)
    pd.testing.assert_frame_equal(_read(together), _read(alone))
    pd.testing.assert_frame_equal(_read(rejected_path(together)), _read(rejected_path(alone)))
    assert _read(rejected_path(together))["customer_id"].tolist() == ["C00005", "C00130"]
    assert (summary.n_rows, summary.n_rows_in, summary.n_rejected, summary.n_files) == (expected.n_rows, 240, 2, 2)
    assert summary.prediction_counts == expected.prediction_counts and summary.rejected_reasons == expected.rejected_reasons
    assert summary.drift == expected.drift
    assert sorted(p.name for p in together.parent.iterdir()) == ["rejected", together.name]  # no part files left
    before = {p: p.read_bytes() for p in (together, rejected_path(together))}
    score_files_on_cluster(client, pipeline, contract, parts, together, "m", "2", STAMP, 0.1, batch_rows=32)
    assert {p: p.read_bytes() for p in before} == before  # idempotent: the same bytes


def test_a_bad_partition_on_the_cluster_fails_the_run_naming_its_rows_and_writes_nothing(client, pipeline, contract, mixed_frame, tmp_path):
    new = mixed_frame.drop(columns="label")
    words = new.astype({"amount": str})
    words.loc[150:, "amount"] = "unknown"  # row groups of words where numbers belong
    _row_groups(words, tmp_path / "in.parquet", 30)
    output = tmp_path / "out" / "scored.parquet"
    parts = partitions([tmp_path / "in.parquet"], partition_rows=60)
    with pytest.raises(JidoError, match=r"in.parquet, rows 151-180\):\n  - column 'amount' should hold numbers"):
        score_files_on_cluster(client, pipeline, contract, parts, output, "m", "2", STAMP, 0.1, batch_rows=30)
    assert not (tmp_path / "out").exists()  # no output, no rejected/, no part files
    new.loc[150:, "amount"] = -1e9  # now only rows out of range: too many of them
    _row_groups(new, tmp_path / "in.parquet", 30)
    with pytest.raises(JidoError, match="90 of 240 rows .* more than max_rejected_fraction"):
        score_files_on_cluster(client, pipeline, contract, parts, output, "m", "2", STAMP, 0.1, batch_rows=30)
    assert not (tmp_path / "out").exists()


def test_a_worker_that_dies_scoring_a_partition_fails_the_run_naming_it_and_writes_nothing(client, pipeline, contract, mixed_frame, tmp_path):
    from sklearn.pipeline import Pipeline

    from tests.support.crashing import DiesAwayFromHome

    dying = Pipeline([("featurize", pipeline.named_steps["featurize"]), ("model", DiesAwayFromHome(pipeline.named_steps["model"], os.getpid()))])
    assert score_frame(dying, mixed_frame.head(3), "m", "1")["prediction"].notna().all()  # fine at home
    _row_groups(mixed_frame.drop(columns="label"), tmp_path / "in.parquet", 60)
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match=r"scoring .*in.parquet, rows 1-120 failed on its Dask worker: KilledWorker"):
        score_files_on_cluster(client, dying, contract, partitions([tmp_path / "in.parquet"], 120), output, "m", "2", STAMP, 0.1)
    assert not (tmp_path / "out").exists()


def test_a_column_that_changes_type_within_a_partition_is_named_as_in_one_process(client, pipeline, contract, mixed_frame, tmp_path):
    new = mixed_frame.drop(columns="label").assign(note=1)
    new["note"] = new["note"].astype(object)
    new.loc[200:, "note"] = "text"  # numbers in the first batches, words later: Parquet output cannot hold both
    new.to_csv(tmp_path / "in.csv", index=False)
    files = [tmp_path / "in.csv"]
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match="column 'note' changes type between batches") as alone:
        score_files(pipeline, contract, files, output, "m", "2", STAMP, 0.1, batch_rows=100)
    with pytest.raises(JidoError, match="column 'note' changes type between batches") as together:
        score_files_on_cluster(client, pipeline, contract, partitions(files, 100), output, "m", "2", STAMP, 0.1, batch_rows=100)
    assert str(together.value) == str(alone.value) and not (tmp_path / "out").exists()


def test_the_model_leaves_one_core_to_the_reading_and_writing_threads_when_it_has_four_or_more():
    import lightgbm  # noqa: F401  (its OpenMP runtime, like scikit-learn's, must be loaded to be limited)
    from threadpoolctl import threadpool_info, threadpool_limits

    from components.score import model_threads_leaving_a_core

    def openmp_threads() -> set[int]:
        return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "openmp"}

    with threadpool_limits(limits=6, user_api="openmp"):
        with model_threads_leaving_a_core():
            assert openmp_threads() == {5}
        assert openmp_threads() == {6}
    with threadpool_limits(limits=3, user_api="openmp"), model_threads_leaving_a_core():
        assert openmp_threads() == {3}  # too few to spare one
    with threadpool_limits(limits=1, user_api="openmp"), model_threads_leaving_a_core():
        assert openmp_threads() == {1}  # a Dask worker's one thread is never raised


def test_parquet_text_categories_score_and_write_as_the_same_rows_read_as_text(contract, mixed_frame, tmp_path):
    data = prepare_learning_data(mixed_frame, "label", "classification")
    booster = build_pipeline("LightGBM", "classification", {"n_estimators": 20}, 0).fit(data.X, data.y)  # its featurizer takes codes of categoricals
    assert "colour" in contract.category_columns()
    new = mixed_frame.drop(columns="label")
    new.to_parquet(tmp_path / "in.parquet", index=False)
    new.to_csv(tmp_path / "in.csv", index=False)
    out = {}
    for suffix in (".parquet", ".csv"):
        output = tmp_path / f"scored-from{suffix}.parquet"
        summary = score_files(booster, contract, [tmp_path / f"in{suffix}"], output, "m", "2", STAMP, 0.1, batch_rows=64)
        out[suffix] = (pd.read_parquet(output), summary)
    import pyarrow.parquet as pq

    colour = pq.read_schema(tmp_path / "scored-from.parquet.parquet").field("colour").type
    assert str(colour) in ("string", "large_string")  # text in the output, as the input held it, not a dictionary
    (from_parquet, summary), (from_csv, summary_csv) = out[".parquet"], out[".csv"]
    assert from_parquet["prediction"].tolist() == from_csv["prediction"].tolist() == score_frame(booster, new, "m", "2")["prediction"].tolist()
    assert from_parquet["colour"].fillna("?").tolist() == new["colour"].fillna("?").tolist()
    assert np.allclose(from_parquet["probability_yes"], from_csv["probability_yes"])
    assert [(d.column, d.psi) for d in summary.drift] == [(d.column, d.psi) for d in summary_csv.drift]
