"""Tables written batch by batch, whole or not at all, and writing behind on a thread."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from components.data.writers import AtomicTableWriter, WriteBehind
from components.errors import JidoError


def test_parquet_batches_widen_to_the_first_schema_or_are_refused_by_column(tmp_path):
    target = tmp_path / "out" / "t.parquet"
    with AtomicTableWriter(target) as writer:
        writer.write(pd.DataFrame({"n": [1, 2], "s": ["a", "b"]}))
        writer.write(pd.DataFrame({"s": ["c", None], "n": [3.0, None]}))  # other order, nulls: cast to int64
        writer.commit()
    written = pd.read_parquet(target)
    assert written["n"].tolist()[:3] == [1, 2, 3] and written["n"].isna().tolist() == [False, False, False, True]
    with AtomicTableWriter(tmp_path / "out" / "u.parquet") as writer:
        writer.write(pd.DataFrame({"n": [1.5]}))
        with pytest.raises(JidoError, match="column 'n' changes type between batches"):
            writer.write(pd.DataFrame({"n": ["many"]}))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t.parquet"]


def test_csv_batches_keep_the_first_column_order_and_a_discard_leaves_no_folder(tmp_path):
    target = tmp_path / "new" / "deeper" / "t.csv"
    with AtomicTableWriter(target) as writer:
        writer.write(pd.DataFrame({"a": [1], "b": [2]}))
        writer.write(pd.DataFrame({"b": [4], "a": [3]}))
        with pytest.raises(JidoError, match="lacks 'b'"):
            writer.write(pd.DataFrame({"a": [5]}))
    assert not (tmp_path / "new").exists()  # the folders it made went with the partial file
    with AtomicTableWriter(target) as writer:
        writer.write(pd.DataFrame({"a": [1], "b": [2]}))
        writer.write(pd.DataFrame({"b": [4], "a": [3]}))
        writer.commit()
    assert pd.read_csv(target).to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_write_behind_writes_every_batch_in_order_and_hands_back_the_writers_error(tmp_path):
    target = tmp_path / "t.csv"
    with AtomicTableWriter(target) as writer:
        behind = WriteBehind(writer)
        for i in range(5):
            behind.write(pd.DataFrame({"i": [i, i]}))
        behind.drain()
        writer.commit()
    assert pd.read_csv(target)["i"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    with AtomicTableWriter(tmp_path / "u.parquet") as writer:
        behind = WriteBehind(writer)
        behind.write(pd.DataFrame({"n": [1.5]}))
        behind.write(pd.DataFrame({"n": ["many"]}))  # cannot join the first batch's schema
        with pytest.raises(JidoError, match="column 'n' changes type"):
            behind.drain()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_parquet_output_keeps_dictionaries_for_all_but_floating_point_columns(tmp_path):
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=1000),
            "segment": rng.choice(["a", "b", "c"], 1000),
            "n": rng.integers(0, 5, 1000),
            "scored_at": pd.Timestamp("2026-12-02", tz="UTC"),
        }
    )
    with AtomicTableWriter(tmp_path / "out.parquet") as writer:
        writer.write(frame)
        writer.write(frame)  # a second row group
        writer.commit()
    metadata = pq.ParquetFile(tmp_path / "out.parquet").metadata
    for group in range(metadata.num_row_groups):
        encodings = {
            metadata.row_group(group).column(i).path_in_schema: metadata.row_group(group).column(i).encodings
            for i in range(4)
        }
        assert "PLAIN_DICTIONARY" not in encodings["x"] and "RLE_DICTIONARY" not in encodings["x"]
        for name in ("segment", "n", "scored_at"):
            assert {"PLAIN_DICTIONARY", "RLE_DICTIONARY"} & set(encodings[name]), name
    assert pd.read_parquet(tmp_path / "out.parquet").equals(pd.concat([frame, frame], ignore_index=True))


def write_table_atomic(frame: pd.DataFrame, path) -> None:
    with AtomicTableWriter(path) as writer:
        writer.write(frame)
        writer.commit()


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    frame = pd.DataFrame({"a": [1, 2]})
    target = tmp_path / "out" / "scored.parquet"
    write_table_atomic(frame, target)
    assert pd.read_parquet(target).equals(frame)
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like a plain write, not mkstemp's 0600
    unwritable = pd.DataFrame({"a": [object()]})  # pyarrow cannot store a bare object
    with pytest.raises(Exception, match="object"):  # pyarrow's own error: which one depends on its version
        write_table_atomic(unwritable, target)
    assert pd.read_parquet(target).equals(frame)  # the earlier output is untouched
    assert [p.name for p in target.parent.iterdir()] == ["scored.parquet"]  # no partial file left
