"""Taking a training table apart, with the checks every task type shares and each one's own (through its Problem)."""

import pytest

from components.data.learning import features_and_target
from components.errors import JidoError
from components.problems import get_problem

CLASSIFICATION = get_problem("classification")


def test_learning_data_checks(mixed_frame):
    with pytest.raises(JidoError, match="'target' is not a column.*label"):
        CLASSIFICATION.learning_data(mixed_frame, "target")
    single = mixed_frame.assign(label="yes")
    with pytest.raises(JidoError, match="single class"):
        CLASSIFICATION.learning_data(single, "label")
    empty_column = mixed_frame.assign(notes=None)
    with pytest.raises(JidoError, match="'notes' are entirely empty.*ignore_columns"):
        CLASSIFICATION.learning_data(empty_column, "label")
    assert "notes" not in CLASSIFICATION.learning_data(empty_column, "label", ["notes"]).X.columns
    with pytest.raises(JidoError, match="must be numeric for regression"):
        get_problem("regression").learning_data(mixed_frame, "label")
    with pytest.raises(JidoError, match="all null"):
        CLASSIFICATION.learning_data(mixed_frame.assign(label=None), "label")


def test_rows_without_target_are_dropped(mixed_frame):
    frame = mixed_frame.copy()
    frame.loc[:4, "label"] = None
    data = CLASSIFICATION.learning_data(frame, "label")
    assert data.n_dropped_rows == 5 and len(data.X) == len(frame) - 5
    assert data.classes == ("no", "yes")
    assert "label" not in data.X.columns


def test_features_and_target_leave_the_target_as_it_is(mixed_frame):
    X, y, n_dropped = features_and_target(
        mixed_frame.assign(label=mixed_frame["label"].where(mixed_frame.index > 2)), "label", ["customer_id"]
    )
    assert n_dropped == 3 and len(X) == len(y) == len(mixed_frame) - 3
    assert "customer_id" not in X.columns and y.tolist() == mixed_frame["label"].iloc[3:].tolist()
