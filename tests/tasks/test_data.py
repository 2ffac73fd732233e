import pandas as pd
import pytest

from components.errors import JidoError
from components.spec import build_spec
from tasks.data import load_training_data


def test_featurization_off_refuses_columns_that_are_not_numbers(tmp_path):
    frame = pd.DataFrame(
        {"amount": [1.5, 2.0] * 20, "colour": ["red", "green"] * 20, "flag": [True, False] * 20, "y": ["p", "q"] * 20}
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    base = {"name": "off", "task": "classification", "training_data": str(tmp_path / "train.csv"), "target_column": "y"}
    with pytest.raises(
        JidoError, match="featurization: off takes number columns only; these are not: colour, flag. Encode them first"
    ):
        load_training_data.fn(build_spec({**base, "featurization": "off"}))
    data = load_training_data.fn(build_spec({**base, "featurization": "off", "ignore_columns": ["colour", "flag"]}))
    assert list(data.X.columns) == ["amount"]
