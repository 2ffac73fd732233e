import numpy as np
import pandas as pd
import pytest

from components.data import hash_frame, load_table, plan_split, prepare_learning_data
from components.errors import JidoError


def test_csv_and_parquet_load_the_same_table(tmp_path, mixed_frame):
    mixed_frame.to_csv(tmp_path / "t.csv", index=False)
    mixed_frame.to_parquet(tmp_path / "t.parquet", index=False)
    from_csv, from_parquet = load_table(tmp_path / "t.csv"), load_table(tmp_path / "t.parquet")
    assert from_csv.shape == from_parquet.shape == mixed_frame.shape
    assert list(from_csv.columns) == list(mixed_frame.columns)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.csv", None, "file not found"),
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b,label\n", "header but no rows"),
        ("blank.csv", b"\n\n", "has no columns"),
        ("table.xlsx", b"whatever", "unsupported file format '.xlsx'"),
        ("noext", b"a,b\n1,2\n", "unsupported file format"),
        ("broken.parquet", b"PAR1 this is not parquet", "cannot read"),
    ],
)
def test_unreadable_files_give_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(JidoError, match=message):
        load_table(path, "training_data")


def test_truncated_parquet_is_refused(tmp_path, mixed_frame):
    path = tmp_path / "t.parquet"
    mixed_frame.to_parquet(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(JidoError, match="cannot read"):
        load_table(path)


def test_learning_data_checks(mixed_frame):
    with pytest.raises(JidoError, match="'target' is not a column.*label"):
        prepare_learning_data(mixed_frame, "target", "classification")
    single = mixed_frame.assign(label="yes")
    with pytest.raises(JidoError, match="single class"):
        prepare_learning_data(single, "label", "classification")
    empty_column = mixed_frame.assign(notes=None)
    with pytest.raises(JidoError, match="'notes' are entirely empty.*ignore_columns"):
        prepare_learning_data(empty_column, "label", "classification")
    assert "notes" not in prepare_learning_data(empty_column, "label", "classification", ["notes"]).X.columns
    with pytest.raises(JidoError, match="must be numeric for regression"):
        prepare_learning_data(mixed_frame, "label", "regression")
    with pytest.raises(JidoError, match="all null"):
        prepare_learning_data(mixed_frame.assign(label=None), "label", "classification")


def test_rows_without_target_are_dropped(mixed_frame):
    frame = mixed_frame.copy()
    frame.loc[:4, "label"] = None
    data = prepare_learning_data(frame, "label", "classification")
    assert data.n_dropped_rows == 5 and len(data.X) == len(frame) - 5
    assert data.classes == ("no", "yes")
    assert "label" not in data.X.columns


@pytest.mark.parametrize("n_rows, method, n_folds", [(500, "cross_validation", 10), (5000, "cross_validation", 3), (25000, "holdout", 1)])
def test_azure_default_validation_by_size(n_rows, method, n_folds):
    y = pd.Series(np.arange(n_rows) % 2)
    plan = plan_split(y, "classification", seed=0)
    assert plan.method == method and len(plan.folds) == n_folds


def test_holdout_is_stratified_and_disjoint():
    y = pd.Series(["a"] * 90 + ["b"] * 10)
    plan = plan_split(y, "classification", seed=0, validation_size=0.2)
    (train, valid), = plan.folds
    assert not set(train) & set(valid) and len(train) + len(valid) == 100
    assert (y.iloc[valid] == "b").sum() == 2


def test_separate_validation_rows_come_last():
    plan = plan_split(pd.Series(range(10)), "regression", 0, n_validation_rows=3)
    (train, valid), = plan.folds
    assert list(valid) == [7, 8, 9] and plan.method == "validation_data"


def test_hash_changes_with_content(mixed_frame):
    assert hash_frame(mixed_frame) == hash_frame(mixed_frame.copy())
    changed = mixed_frame.copy()
    changed.loc[0, "amount"] = 1.0
    assert hash_frame(changed) != hash_frame(mixed_frame)
