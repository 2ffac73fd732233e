from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from components.contract.contract import DataContract
from components.data.inputs import partitions, resolve_input
from components.errors import JidoError
from components.experiment.trial import build_pipeline
from components.problems import get_problem
from components.scoring.batch import rejected_path, score_files, score_frame
from components.scoring.bundle import ModelBundle, ScoringRun
from tests.support.scoring import fitted_classifier, mixed_contract, write_row_groups

CLASSIFICATION = get_problem("classification")
NO_CONTRACT = DataContract(())
STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture()
def pipeline(mixed_frame):
    return fitted_classifier(mixed_frame)


def test_scores_keep_row_order_and_carry_probabilities_and_version(pipeline, mixed_frame):
    new = mixed_frame.drop(columns="label").iloc[::-1].reset_index(drop=True)
    scored = score_frame(ModelBundle(pipeline, NO_CONTRACT, CLASSIFICATION), new, ScoringRun("m", "3", STAMP))
    assert list(scored["customer_id"]) == list(new["customer_id"])
    assert {"prediction", "probability_no", "probability_yes"} <= set(scored.columns)
    assert np.allclose(scored["probability_no"] + scored["probability_yes"], 1.0)
    assert (scored["prediction"] == np.where(scored["probability_yes"] > 0.5, "yes", "no")).all()
    assert set(scored["model_version"]) == {"3"} and set(scored["model_name"]) == {"m"}


def test_extra_columns_pass_through_and_missing_ones_are_named(pipeline, mixed_frame):
    new = mixed_frame.drop(columns="label").assign(extra=1)
    assert (
        "extra"
        in score_frame(ModelBundle(pipeline, NO_CONTRACT, CLASSIFICATION), new, ScoringRun("m", "1", STAMP)).columns
    )
    with pytest.raises(JidoError, match="amount, colour"):
        score_frame(
            ModelBundle(pipeline, NO_CONTRACT, CLASSIFICATION),
            new.drop(columns=["amount", "colour"]),
            ScoringRun("m", "1", STAMP),
        )


@pytest.fixture()
def contract(mixed_frame):
    return mixed_contract(mixed_frame)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_folder_scores_batch_by_batch_into_one_table_and_again_into_the_same_bytes(
    pipeline, contract, mixed_frame, tmp_path, suffix
):
    new = mixed_frame.drop(columns="label")
    new.loc[5, "amount_text"] = "lots"  # one row to set aside
    folder = tmp_path / "in"
    folder.mkdir()
    parts = [new.iloc[:100], new.iloc[100:170], new.iloc[170:]]
    for i, part in enumerate(parts):
        part.to_csv(folder / f"part-{i}.csv", index=False) if i % 2 else part.to_parquet(
            folder / f"part-{i}.parquet", index=False
        )
    files = resolve_input(folder).files
    output = tmp_path / "out" / f"scored{suffix}"
    summary = score_files(
        ModelBundle(pipeline, contract, CLASSIFICATION), files, output, ScoringRun("m", "2", STAMP, 0.1), batch_rows=32
    )
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert summary.n_rows_in == len(new) and summary.n_rows == len(scored) == len(new) - 1 and summary.n_files == 3
    assert scored["customer_id"].tolist() == new.drop(index=5)["customer_id"].tolist()  # every row once, in order
    assert (
        pd.to_datetime(scored["scored_at"], utc=True).eq(pd.Timestamp(STAMP)).all()
        and summary.scored_at == STAMP.isoformat()
    )
    whole = score_frame(
        ModelBundle(pipeline, NO_CONTRACT, CLASSIFICATION), new.drop(index=5), ScoringRun("m", "2", STAMP)
    )  # the same rows in one piece
    assert scored["prediction"].tolist() == whole["prediction"].tolist()
    assert sum(summary.prediction_counts.values()) == len(scored)
    rejected = pd.read_csv(rejected_path(output)) if suffix == ".csv" else pd.read_parquet(rejected_path(output))
    assert (
        rejected["customer_id"].tolist() == ["C00005"]
        and "amount_text=lots is not a number" in rejected["rejected_reason"][0]
    )
    assert {d.column for d in summary.drift} >= {"amount", "colour"} and all(
        d.level == "too few rows" for d in summary.drift
    )
    before = {p: p.read_bytes() for p in (output, rejected_path(output))}
    score_files(
        ModelBundle(pipeline, contract, CLASSIFICATION), files, output, ScoringRun("m", "2", STAMP, 0.1), batch_rows=32
    )
    assert {p: p.read_bytes() for p in before} == before  # idempotent: the same bytes


def test_one_bad_file_among_good_ones_fails_the_run_naming_it_and_writes_nothing(
    pipeline, contract, mixed_frame, tmp_path
):
    new = mixed_frame.drop(columns="label")
    folder = tmp_path / "in"
    folder.mkdir()
    new.iloc[:100].to_parquet(folder / "a.parquet")
    new.iloc[100:].drop(columns="colour").to_parquet(folder / "b.parquet")
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match=r"b.parquet: missing column\(s\) the model was trained on: colour"):
        score_files(
            ModelBundle(pipeline, contract, CLASSIFICATION),
            resolve_input(folder).files,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
        )
    (folder / "b.parquet").write_bytes((folder / "a.parquet").read_bytes()[:300])  # truncated
    with pytest.raises(JidoError, match="cannot read .*b.parquet as parquet"):
        score_files(
            ModelBundle(pipeline, contract, CLASSIFICATION),
            resolve_input(folder).files,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
        )
    new.iloc[100:].assign(amount="unknown").to_csv(
        folder / "b.parquet.csv", index=False
    )  # a file whose numbers are all words, found mid-stream
    (folder / "b.parquet").unlink()
    with pytest.raises(JidoError, match="b.parquet.csv, rows 1-50\\):\n  - column 'amount' should hold numbers"):
        score_files(
            ModelBundle(pipeline, contract, CLASSIFICATION),
            resolve_input(folder).files,
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=50,
        )
    assert not (tmp_path / "out").exists()


def test_partitions_are_runs_of_whole_row_groups_and_whole_csv_files(mixed_frame, tmp_path):
    write_row_groups(mixed_frame, tmp_path / "a.parquet", 50)  # groups of 50, 50, 50, 50, 40
    mixed_frame.to_csv(tmp_path / "b.csv", index=False)
    parts = partitions([tmp_path / "a.parquet", tmp_path / "b.csv"], partition_rows=100)
    assert [(p.path.name, p.row_groups, p.first_row, p.n_rows) for p in parts] == [
        ("a.parquet", (0, 1), 0, 100),
        ("a.parquet", (2, 3), 100, 100),
        ("a.parquet", (4,), 200, 40),
        ("b.csv", None, 0, None),
    ]
    assert str(parts[1]).endswith("a.parquet, rows 101-200")
    (tmp_path / "c.parquet").write_bytes(b"")
    with pytest.raises(JidoError, match="c.parquet is empty"):
        partitions([tmp_path / "c.parquet"], partition_rows=100)


def test_the_model_leaves_one_core_to_the_reading_and_writing_threads_when_it_has_four_or_more():
    import lightgbm  # noqa: F401  (its OpenMP runtime, like scikit-learn's, must be loaded to be limited)
    from threadpoolctl import threadpool_info, threadpool_limits

    from components.scoring.batch import model_threads_leaving_a_core

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
    data = CLASSIFICATION.learning_data(mixed_frame, "label")
    booster = build_pipeline("LightGBM", CLASSIFICATION, {"n_estimators": 20}, 0).fit(
        data.X, data.y
    )  # its featurizer takes codes of categoricals
    assert "colour" in contract.category_columns()
    new = mixed_frame.drop(columns="label")
    new.to_parquet(tmp_path / "in.parquet", index=False)
    new.to_csv(tmp_path / "in.csv", index=False)
    out = {}
    for suffix in (".parquet", ".csv"):
        output = tmp_path / f"scored-from{suffix}.parquet"
        summary = score_files(
            ModelBundle(booster, contract, CLASSIFICATION),
            [tmp_path / f"in{suffix}"],
            output,
            ScoringRun("m", "2", STAMP, 0.1),
            batch_rows=64,
        )
        out[suffix] = (pd.read_parquet(output), summary)
    import pyarrow.parquet as pq

    colour = pq.read_schema(tmp_path / "scored-from.parquet.parquet").field("colour").type
    assert str(colour) in ("string", "large_string")  # text in the output, as the input held it, not a dictionary
    (from_parquet, summary), (from_csv, summary_csv) = out[".parquet"], out[".csv"]
    assert (
        from_parquet["prediction"].tolist()
        == from_csv["prediction"].tolist()
        == score_frame(ModelBundle(booster, NO_CONTRACT, CLASSIFICATION), new, ScoringRun("m", "2", STAMP))[
            "prediction"
        ].tolist()
    )
    assert from_parquet["colour"].fillna("?").tolist() == new["colour"].fillna("?").tolist()
    assert np.allclose(from_parquet["probability_yes"], from_csv["probability_yes"])
    assert [(d.column, d.psi) for d in summary.drift] == [(d.column, d.psi) for d in summary_csv.drift]
