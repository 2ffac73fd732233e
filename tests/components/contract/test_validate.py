"""Scoring input against a data contract: whole-input problems, and rows set aside with reasons (checked against
great-expectations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.contract.contract import learn_contract
from components.contract.validate import (
    MAX_CELL_CHARS,
    REASON_COLUMN,
    check_rows,
    row_reasons,
    table_problems,
    top_reasons,
)
from components.features.columns import profile_table


@pytest.fixture()
def trained():
    """A training table whose columns had no nulls, and its contract."""
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame(
        {
            "amount": rng.uniform(10, 100, n),
            "visits": rng.integers(0, 20, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "note": [" ".join(rng.choice(["late", "fine", "quick", "broken", "cheap", "great"], 5)) for _ in range(n)],
        }
    )
    return X, learn_contract(X, profile_table(X))


def _bad_rows(X: pd.DataFrame) -> pd.DataFrame:
    rows = X.head(8).copy().astype({"amount": object, "visits": object})
    rows.loc[1, "amount"] = None  # empty where training had none
    rows.loc[2, "amount"] = "lots"  # not a number
    rows.loc[3, "amount"] = np.inf
    rows.loc[4, "visits"] = 10_000  # far out of range
    rows.loc[5, "colour"] = "purple"  # unseen category: accepted, the featurizer encodes it as unknown
    rows.loc[6, "amount"] = -50.0
    rows.loc[6, "visits"] = -1  # two reasons in one row
    return rows


def test_rows_that_break_the_contract_are_set_aside_with_each_reason(trained):
    X, contract = trained
    rows = _bad_rows(X)
    rows.loc[7, "note"] = "x" * (MAX_CELL_CHARS + 1)
    checked = check_rows(rows, contract)
    assert list(checked.accepted.index) == [0, 5]  # in input order, as given
    reasons = checked.rejected[REASON_COLUMN].to_dict()
    assert reasons[1] == "amount is empty (training had no empty values)"
    assert reasons[2] == "amount=lots is not a number"
    assert reasons[3] == "amount is infinite"
    assert reasons[4].startswith("visits=10000 outside the accepted range [0, ")
    assert reasons[6].count("outside the accepted range") == 2 and "; " in reasons[6]
    assert reasons[7] == f"note holds {MAX_CELL_CHARS + 1} characters (more than {MAX_CELL_CHARS:,})"
    assert checked.rejected.drop(columns=REASON_COLUMN).equals(rows.loc[[1, 2, 3, 4, 6, 7]])
    counts = top_reasons(checked.rejected, limit=10)
    assert counts["amount is not a number"] == 1 and counts["note holds too many characters"] == 1
    assert sum(counts.values()) == 7  # row 6 counts twice


def test_problems_of_the_whole_input_name_each_column(trained):
    X, contract = trained
    broken = X.drop(columns=["colour"]).assign(amount="n/a")
    problems = table_problems(broken, contract)
    assert problems[0] == "missing column(s) the model was trained on: colour"
    assert problems[1].startswith("column 'amount' should hold numbers, but none of its 200 values is one (e.g. 'n/a')")
    assert table_problems(X.assign(extra=1), contract) == []  # extra columns are carried along, not a problem


def test_the_row_checks_agree_with_the_contracts_great_expectations_suite(trained):
    import great_expectations as gx

    X, contract = trained
    rows = pd.concat([_bad_rows(X), X.iloc[8:40]]).reset_index(drop=True)
    context = gx.get_context(mode="ephemeral")
    suite = context.suites.add(contract.to_suite("agreement"))
    batch = (
        context.data_sources.add_pandas("t")
        .add_dataframe_asset("f")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": contract.coerce(rows)})
    )
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    flagged_by_gx, unseen_by_gx = set(), set()
    for outcome in result.results:
        rows_hit = set(outcome.result.get("unexpected_index_list") or [])
        # The one deliberate difference: an unseen category breaks the suite's
        # allowed-values expectation, but scoring accepts it (the featurizer encodes it as unknown).
        if outcome.expectation_config.type == "expect_column_values_to_be_in_set":
            unseen_by_gx |= rows_hit
        else:
            flagged_by_gx |= rows_hit
    flagged = set(np.flatnonzero((row_reasons(rows, contract) != "").to_numpy()))
    assert flagged == flagged_by_gx == {1, 2, 3, 4, 6}
    assert unseen_by_gx == {5}


def _plain(row: dict) -> dict:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}


@pytest.mark.parametrize(
    "change",
    [
        {"amount": None},  # empty where training had none
        {"amount": "lots"},
        {"amount": "55.0"},  # a number as text: accepted by the frame checks, but theirs to decide
        {"amount": float("inf")},
        {"amount": float("nan")},
        {"visits": 10_000},
        {"visits": -1},
        {"visits": True},
        {"colour": 3},
        {"note": "x" * (MAX_CELL_CHARS + 1)},
        {"extra": [1, 2]},  # a list in any column
    ],
)
def test_rows_kept_by_the_quick_check_are_those_the_frame_checks_pass(trained, change):
    from components.contract.validate import keeps_contract

    X, contract = trained
    clean = [_plain(row) for row in X.head(5).to_dict("records")]
    clean[2]["colour"] = "purple"  # unseen categories are accepted
    assert keeps_contract(clean, contract)
    frame = pd.DataFrame.from_records(clean)
    assert not table_problems(frame, contract) and not row_reasons(frame, contract).any()
    broken = [dict(row) for row in clean]
    broken[3].update(change)
    assert not keeps_contract(broken, contract)
    assert not keeps_contract([{k: v for k, v in clean[0].items() if k != "visits"}], contract)  # a missing column
    assert not keeps_contract(clean, type(contract)(()))  # no contract: the frame path checks the model's columns


def test_a_categorical_read_from_a_files_dictionary_gets_the_same_reasons(trained):
    X, contract = trained
    rows = X.head(6).copy()
    rows.loc[1, "colour"] = None  # empty where training had none
    rows.loc[2, "colour"] = "x" * (MAX_CELL_CHARS + 1)
    rows.loc[3, "colour"] = "purple"  # unseen: accepted
    expected = row_reasons(rows, contract)
    assert expected[1].startswith("colour is empty") and "holds" in expected[2] and expected[3] == ""
    as_read = rows.assign(colour=rows["colour"].astype("category"))  # as components.batches.read_batches decodes it
    assert row_reasons(as_read, contract).tolist() == expected.tolist()
    assert check_rows(as_read, contract).accepted.index.tolist() == [0, 3, 4, 5]


def _number_contract(nulls_seen: bool):
    X = pd.DataFrame({"amount": [10.0, 50.0, 100.0] * 20, "visits": [0, 5, 20] * 20})
    if nulls_seen:
        X.loc[0, "amount"] = np.nan
    return learn_contract(X, profile_table(X))


@pytest.mark.parametrize(
    "value, nulls_seen, reason",
    [
        (55.0, False, None),
        (np.nan, False, "amount is empty"),
        (np.nan, True, None),  # training had empty values: so may scoring
        (np.inf, True, "amount is infinite"),
        (-np.inf, False, "amount is infinite"),
        (-1e6, True, "outside the accepted range"),
        (1e6, False, "outside the accepted range"),
    ],
)
def test_a_column_held_as_numbers_is_checked_from_its_extremes_as_row_by_row(value, nulls_seen, reason):
    contract = _number_contract(nulls_seen)
    batch = pd.DataFrame({"amount": [20.0, value, np.nan if nulls_seen else 30.0, 40.0], "visits": [1, 2, 3, 4]})
    reasons = row_reasons(batch, contract).tolist()
    assert reasons[0] == reasons[3] == "" and reasons[2] == ""
    assert reasons[1] == "" if reason is None else reason in reasons[1]
