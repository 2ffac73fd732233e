import pytest

from components.data.tables import hash_frame, load_table
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


def test_hash_changes_with_content(mixed_frame):
    assert hash_frame(mixed_frame) == hash_frame(mixed_frame.copy())
    changed = mixed_frame.copy()
    changed.loc[0, "amount"] = 1.0
    assert hash_frame(changed) != hash_frame(mixed_frame)
