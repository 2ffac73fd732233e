import os

import numpy as np
import pandas as pd
import pytest

from components.data import prepare_learning_data
from components.errors import JidoError
from components.score import count_predictions, score_frame, write_table_atomic
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


def test_prediction_counts():
    assert count_predictions(pd.Series(["a", "b", "a"])) == {"a": 2, "b": 1}
    assert count_predictions(pd.Series(np.linspace(0, 1, 100))) == {}
