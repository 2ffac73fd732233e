"""Scoring input: the tables a file, a folder or a glob names, read in batches (and ahead, on a thread)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.data.inputs import prefetched, read_batches, resolve_input, table_columns
from components.errors import JidoError


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=250), "n": np.arange(250), "c": rng.choice(["a", "b"], 250)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_batches_cover_every_row_in_order(tmp_path, table, suffix):
    path = tmp_path / f"t{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    batches = list(read_batches(path, batch_rows=100))
    assert [len(b) for b in batches] == [100, 100, 50]
    whole = pd.concat(batches, ignore_index=True)
    assert (
        np.allclose(whole["x"], table["x"])
        and whole["n"].tolist() == table["n"].tolist()
        and whole["c"].tolist() == table["c"].tolist()
    )
    assert table_columns(path) == ["x", "n", "c"]


def test_a_folder_a_glob_and_a_file_name_their_tables(tmp_path, table):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ["b.parquet", "a.csv"]:
        table.to_csv(folder / name, index=False) if name.endswith(".csv") else table.to_parquet(folder / name)
    for name in ["_SUCCESS", ".a.csv.crc", "notes.txt"]:
        (folder / name).write_text("x")
    found = resolve_input(folder)
    assert [p.name for p in found.files] == ["a.csv", "b.parquet"] and [p.name for p in found.skipped] == ["notes.txt"]
    assert [p.name for p in resolve_input(str(folder / "*.parquet")).files] == ["b.parquet"]
    assert resolve_input(folder / "a.csv").files == (folder / "a.csv",)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: tmp / "missing.csv", "input not found"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "holds no .csv or .parquet files"),
        (lambda tmp: str(tmp / "*.parquet"), "matches no .csv or .parquet files"),
        (lambda tmp: (tmp / "t.json").write_text("{}") and tmp / "t.json", "unsupported file format '.json'"),
    ],
)
def test_inputs_that_name_no_table_are_refused(tmp_path, make, message):
    with pytest.raises(JidoError, match=message):
        resolve_input(make(tmp_path))


def test_truncated_parquet_and_wrong_encoding_are_named(tmp_path, table):
    whole = tmp_path / "whole.parquet"
    table.to_parquet(whole)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(JidoError, match="cannot read .*truncated.parquet as parquet"):
        table_columns(truncated)
    with pytest.raises(JidoError, match="cannot read .*truncated.parquet as parquet"):
        list(read_batches(truncated))
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"name,x\n" + "".join(f"caf\u00e9 {i},{i}\n" for i in range(5)).encode("latin-1"))
    with pytest.raises(JidoError, match="latin.csv is not UTF-8 text .* save it as UTF-8"):
        list(read_batches(latin))


def test_read_ahead_keeps_order_and_raises_the_readers_error_in_its_place():
    def batches():
        yield from range(5)
        raise JidoError("file 2 is truncated")

    seen = []
    with pytest.raises(JidoError, match="truncated"):
        for batch in prefetched(batches()):
            seen.append(batch)
    assert seen == [0, 1, 2, 3, 4]
    early = prefetched(iter(range(1000)))
    assert next(early) == 0
    early.close()  # a consumer that stops early ends the reader thread


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_text_columns_named_as_categories_come_from_parquets_dictionary_as_categoricals(tmp_path, table, suffix):
    table = table.assign(t=table["c"] + "-text", c=table["c"].where(table.index % 7 > 0))  # some missing
    path = tmp_path / f"t{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    batches = list(
        read_batches(path, batch_rows=100, categories=["c", "n", "absent"])
    )  # "n" holds numbers: read as it is
    whole = pd.concat(batches, ignore_index=True)
    if suffix == ".parquet":
        assert all(isinstance(b["c"].dtype, pd.CategoricalDtype) for b in batches)
    assert not isinstance(whole["t"].dtype, pd.CategoricalDtype) and pd.api.types.is_integer_dtype(whole["n"])
    assert whole["c"].astype(object).fillna("?").tolist() == table["c"].astype(object).fillna("?").tolist()
