"""The data contract learned from training data, checked with real great-expectations."""

from __future__ import annotations

import numpy as np
import pytest

from components.contract.contract import RANGE_TOLERANCE, DataContract, learn_contract
from components.features.columns import profile_table


@pytest.fixture()
def contract(mixed_frame):
    X = mixed_frame.drop(columns="label")
    return X, learn_contract(X, profile_table(X))


def _failures(contract, frame) -> set[tuple[str, str | None]]:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    suite = context.suites.add(contract.to_suite("mixed"))
    batch = (
        context.data_sources.add_pandas("t")
        .add_dataframe_asset("f")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": contract.coerce(frame)})
    )
    result = batch.validate(suite)
    return {
        (r.expectation_config.type, r.expectation_config.kwargs.get("column")) for r in result.results if not r.success
    }


def test_the_contract_describes_each_column_as_the_featurizer_sees_it(contract):
    X, learned = contract
    by_name = {c.name: c for c in learned.columns}
    assert learned.column_names() == list(X.columns)
    amount = by_name["amount"]
    span = X["amount"].max() - X["amount"].min()
    assert amount.kind == "numeric" and amount.low == pytest.approx(
        max(0.0, X["amount"].min() - RANGE_TOLERANCE * span)
    )  # never-negative: clamped at 0
    assert amount.null_fraction == pytest.approx(X["amount"].isna().mean())
    assert by_name["amount_text"].kind == "numeric" and by_name["amount_text"].high > 100  # numbers stored as text
    assert by_name["colour"].categories == ("blue", "green", "red")
    assert by_name["customer_id"].kind == "unused" and by_name["review"].kind == "text"
    assert DataContract.from_json(learned.to_json()) == learned


def test_the_training_rows_keep_the_contract_and_broken_rows_do_not(contract):
    X, learned = contract
    assert _failures(learned, X) == set()
    broken = X.copy()
    broken.loc[3, "amount"] = 1e6
    broken.loc[4, "colour"] = "purple"
    broken.loc[: len(X) // 2, "amount_text"] = None  # amount_text never had nulls
    assert _failures(learned, broken) == {
        ("expect_column_values_to_be_between", "amount"),
        ("expect_column_values_to_be_in_set", "colour"),
        ("expect_column_values_to_not_be_null", "amount_text"),
    }
    assert ("expect_table_columns_to_match_set", None) in _failures(learned, X.drop(columns="colour"))


def test_printable_rows_show_ranges_and_categories(contract):
    _, learned = contract
    rows = {r["column"]: r for r in learned.rows()}
    assert rows["colour"]["accepted values"] == "{blue, green, red} (3)"
    assert " .. " in rows["amount"]["accepted values"] and rows["review"]["accepted values"] == "any"
    assert np.isclose(float(rows["amount"]["nulls seen"].rstrip("%")) / 100, 15 / 240, atol=0.001)


def test_ranges_of_never_negative_columns_stay_non_negative():
    import pandas as pd

    X = pd.DataFrame({"calls": [0, 1, 2, 5, 3] * 10, "delta": [-1.0, 0.5, 2.0, 1.0, 0.0] * 10})
    by_name = {c.name: c for c in learn_contract(X, profile_table(X)).columns}
    assert by_name["calls"].low == 0.0 and by_name["calls"].high == pytest.approx(5 + RANGE_TOLERANCE * 5)
    assert by_name["delta"].low == pytest.approx(-1.0 - RANGE_TOLERANCE * 3.0)
