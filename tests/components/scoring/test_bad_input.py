"""Thirty-odd kinds of bad scoring input: each ends in a clear error or in rows set aside with a reason; never partial
output."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.contract.contract import learn_contract
from components.data.inputs import resolve_input
from components.errors import JidoError
from components.experiment.trial import build_pipeline
from components.features.columns import profile_table
from components.problems import get_problem
from components.scoring.batch import rejected_path, score_files
from components.scoring.bundle import ModelBundle, ScoringRun

CLASSIFICATION = get_problem("classification")

STAMP = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def model():
    from tests.conftest import make_mixed_frame

    frame = make_mixed_frame()
    data = CLASSIFICATION.learning_data(frame, "label")
    pipeline = build_pipeline("LogisticRegression", CLASSIFICATION, {"C": 1.0, "class_weight": None}, 0).fit(
        data.X, data.y
    )
    return pipeline, learn_contract(data.X, profile_table(data.X)), frame.drop(columns="label")


def _csv(frame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def _parquet(frame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def _write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _folder(tmp: Path, parts: dict[str, bytes]) -> Path:
    folder = tmp / "in"
    folder.mkdir()
    for name, content in parts.items():
        (folder / name).write_bytes(content)
    return folder


def _bytes_of(writer, frame, tmp: Path, name: str) -> bytes:
    return writer(frame, tmp / name).read_bytes()


def _set(frame, row: int, column: str, value):
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.iloc[row, frame.columns.get_loc(column)] = value
    return frame


ERRORS = {
    "missing column": (
        lambda t, f: _csv(f.drop(columns="amount_text"), t / "in.csv"),
        r"missing column\(s\) the model was trained on: amount_text",
    ),
    "renamed column": (
        lambda t, f: _csv(f.rename(columns={"colour": "color"}), t / "in.csv"),
        r"missing column\(s\).*colour",
    ),
    "another table entirely": (
        lambda t, f: _csv(pd.DataFrame({"a": [1, 2]}), t / "in.csv"),
        r"missing column\(s\).*amount, amount_text, colour",
    ),
    "numbers column all words": (
        lambda t, f: _csv(f.assign(amount_text="many"), t / "in.csv"),
        "'amount_text' should hold numbers, but none of its 240 values is one",
    ),
    "numbers column all booleans": (
        lambda t, f: _csv(f.assign(amount_text=True), t / "in.csv"),
        "'amount_text' should hold numbers",
    ),
    "empty csv (0 bytes)": (lambda t, f: _write(t / "in.csv", b""), r"in.csv is empty \(0 bytes\)"),
    "empty parquet (0 bytes)": (lambda t, f: _write(t / "in.parquet", b""), r"in.parquet is empty \(0 bytes\)"),
    "header-only csv": (lambda t, f: _csv(f.head(0), t / "in.csv"), "has a header but no rows"),
    "parquet with no rows": (lambda t, f: _parquet(f.head(0), t / "in.parquet"), "has a header but no rows"),
    "truncated parquet": (
        lambda t, f: _write(t / "in.parquet", _bytes_of(_parquet, f, t, "w.parquet")[:-100]),
        "cannot read .*in.parquet as parquet",
    ),
    "parquet footer only kept": (
        lambda t, f: _write(t / "in.parquet", _bytes_of(_parquet, f, t, "w.parquet")[-300:]),
        "cannot read .*in.parquet as parquet",
    ),
    "random bytes named .parquet": (
        lambda t, f: _write(t / "in.parquet", np.random.default_rng(0).bytes(5000)),
        "cannot read .*in.parquet as parquet",
    ),
    "csv in latin-1": (
        lambda t, f: _write(
            t / "in.csv", f.assign(review="caf\u00e9 cr\u00e8me").to_csv(index=False).encode("latin-1")
        ),
        "in.csv is not UTF-8 text",
    ),
    "csv in utf-16": (
        lambda t, f: _write(t / "in.csv", f.to_csv(index=False).encode("utf-16")),
        "in.csv is not UTF-8 text",
    ),
    "binary file named .csv": (
        lambda t, f: _write(t / "in.csv", bytes(range(256)) * 20),
        "in.csv(: missing column| is not UTF-8 text| has no header|, cannot read)",
    ),
    "ragged csv rows": (
        lambda t, f: _write(t / "in.csv", f.head(5).to_csv(index=False) + "1,2,3,4,5,6,7,8,9\n"),
        "cannot read .*in.csv as csv: .*Expected 6 fields",
    ),
    "a parquet file named .csv": (
        lambda t, f: _write(t / "in.csv", _bytes_of(_parquet, f, t, "w.parquet")),
        "in.csv (is not UTF-8 text|cannot read)",
    ),
    "folder with one truncated file": (
        lambda t, f: _folder(
            t,
            {
                "a.parquet": _bytes_of(_parquet, f.iloc[:100], t, "a.parquet"),
                "b.parquet": _bytes_of(_parquet, f.iloc[100:], t, "b.parquet")[:400],
            },
        ),
        "cannot read .*b.parquet as parquet",
    ),
    "folder with one file missing a column": (
        lambda t, f: _folder(
            t,
            {
                "a.csv": f.iloc[:100].to_csv(index=False).encode(),
                "b.csv": f.iloc[100:].drop(columns="colour").to_csv(index=False).encode(),
            },
        ),
        r"b.csv: missing column\(s\).*colour",
    ),
    "folder with one latin-1 file": (
        lambda t, f: _folder(
            t,
            {
                "a.csv": f.iloc[:100].to_csv(index=False).encode(),
                "b.csv": f.iloc[100:].assign(review="na\u00efve").to_csv(index=False).encode("latin-1"),
            },
        ),
        "b.csv is not UTF-8 text",
    ),
    "folder whose files disagree on extra columns": (
        lambda t, f: _folder(
            t,
            {
                "a.csv": f.iloc[:100].to_csv(index=False).encode(),
                "b.csv": f.iloc[100:].assign(extra=1).to_csv(index=False).encode(),
            },
        ),
        "adds 'extra' against the first batch's columns",
    ),
    "folder without tables": (lambda t, f: _folder(t, {"notes.txt": b"hello"}), "holds no .csv or .parquet files"),
    "glob matching nothing": (lambda t, f: str(t / "*.parquet"), "matches no .csv or .parquet files"),
    "path that does not exist": (lambda t, f: t / "nowhere.csv", "input not found"),
    "json file": (lambda t, f: _write(t / "in.json", "{}"), "unsupported file format '.json'"),
    "every row out of range": (
        lambda t, f: _csv(f.assign(amount_text=1e12), t / "in.csv"),
        r"240 of 240 rows .* break the data contract .*amount_text outside",
    ),
}


@pytest.mark.parametrize("kind", list(ERRORS))
def test_whole_input_problems_fail_with_a_message_naming_them_and_write_nothing(model, tmp_path, kind):
    pipeline, contract, frame = model
    make, message = ERRORS[kind]
    source = make(tmp_path, frame)
    inputs = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    output = tmp_path / "out" / "scored.parquet"
    with pytest.raises(JidoError, match=message):
        score_files(
            ModelBundle(pipeline, contract, CLASSIFICATION),
            resolve_input(source).files,
            output,
            ScoringRun("m", "1", STAMP, 0.1),
        )
    assert not (tmp_path / "out").exists()  # no output, no rejected/, no partial file
    assert {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()
    } == inputs  # input untouched


ROWS = {
    "empty cell where training had none": (
        lambda f: _set(f, 3, "amount_text", None),
        "amount_text is empty (training had no empty values)",
    ),
    "NaN in a number column without nulls": (lambda f: _set(f, 3, "amount_text", float("nan")), "amount_text is empty"),
    "infinity": (lambda f: _set(f, 3, "amount_text", "inf"), "amount_text is infinite"),
    "minus infinity": (lambda f: _set(f, 3, "amount", float("-inf")), "amount is infinite"),
    "far out of range": (lambda f: _set(f, 3, "amount", 1e9), "amount=1000000000.0 outside the accepted range"),
    "negative where never negative": (
        lambda f: _set(f, 3, "amount_text", -500.0),
        "amount_text=-500.0 outside the accepted range",
    ),
    "a word in a number column": (lambda f: _set(f, 3, "amount_text", "twelve"), "amount_text=twelve is not a number"),
    "a boolean in a number column": (lambda f: _set(f, 3, "amount_text", "true"), "amount_text=true is not a number"),
    "a 10 MB string": (lambda f: _set(f, 3, "review", "x" * 10_000_000), "review holds 10000000 characters"),
    "two problems in one row": (
        lambda f: _set(_set(f, 3, "amount", 1e9), 3, "amount_text", "twelve"),
        "amount=1000000000.0 outside the accepted range [0, 114.852]; amount_text=twelve is not a number",
    ),
    "empty text where training had none": (
        lambda f: _set(f, 3, "review", None),
        "review is empty (training had no empty values)",
    ),
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("kind", list(ROWS))
def test_rows_that_break_the_contract_are_set_aside_with_their_reason(model, tmp_path, kind, suffix):
    pipeline, contract, frame = model
    make, reason = ROWS[kind]
    bad = make(frame)
    source = (
        _csv(bad, tmp_path / "in.csv")
        if suffix == ".csv"
        else _parquet(bad.astype({c: "string" for c in bad.columns if bad[c].dtype == object}), tmp_path / "in.parquet")
    )
    output = tmp_path / "out" / f"scored{suffix}"
    summary = score_files(
        ModelBundle(pipeline, contract, CLASSIFICATION),
        resolve_input(source).files,
        output,
        ScoringRun("m", "1", STAMP, 0.1),
    )
    rejected = pd.read_csv(rejected_path(output)) if suffix == ".csv" else pd.read_parquet(rejected_path(output))
    assert summary.n_rejected == 1 and rejected["customer_id"].tolist() == ["C00003"]
    assert reason in rejected["rejected_reason"][0]
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert scored["customer_id"].tolist() == frame.drop(index=3)["customer_id"].tolist()


ACCEPTED = {
    "an unseen category": lambda f: _set(f, 3, "colour", "purple"),
    "numbers written as text": lambda f: f.assign(amount=f["amount"].map(lambda v: "" if pd.isna(v) else f"{v:.4f}")),
    "an extra column": lambda f: f.assign(note="kept"),
    "columns in another order": lambda f: f[list(reversed(f.columns))],
    "an unparseable date": lambda f: _set(f, 3, "signup", "not a date"),
    "the id column left out": lambda f: f.drop(columns="customer_id"),
}


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_input_the_model_can_handle_is_scored_whole(model, tmp_path, kind):
    pipeline, contract, frame = model
    source = _csv(ACCEPTED[kind](frame), tmp_path / "in.csv")
    output = tmp_path / "out" / "scored.csv"
    summary = score_files(
        ModelBundle(pipeline, contract, CLASSIFICATION),
        resolve_input(source).files,
        output,
        ScoringRun("m", "1", STAMP, 0.1),
    )
    assert summary.n_rejected == 0 and summary.n_rows == len(frame) == len(pd.read_csv(output))
    assert not rejected_path(output).exists()
