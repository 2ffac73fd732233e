"""Population stability index per feature, against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components.contract.contract import DataContract, learn_contract
from components.contract.drift import (
    MAJOR,
    MIN_ROWS,
    DriftCounter,
    category_bins,
    decile_edges,
    level,
    numeric_bins,
    psi,
)
from components.features.columns import profile_table


def test_psi_matches_the_formula_by_hand():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert psi((0.5, 0.5), np.array([25, 75])) == pytest.approx(0.25 * np.log(2) + 0.25 * np.log(1.5))
    assert psi((0.2, 0.3, 0.5), np.array([20, 30, 50])) == pytest.approx(0.0)
    assert psi((1.0, 0.0), np.array([0, 10])) == pytest.approx(
        (1e-4 - 1) * np.log(1e-4) + (1 - 1e-4) * np.log(1 / 1e-4)
    )  # floored, finite
    assert [level(v) for v in (0.05, 0.1, 0.2, 0.25, 3.0)] == ["stable", "moderate", "moderate", "major", "major"]


def test_bins_follow_the_training_deciles_and_categories():
    values = np.arange(1, 101, dtype=float)
    edges = decile_edges(values)
    assert len(edges) == 9
    assert numeric_bins(values, edges).tolist() == [10] * 10  # each decile holds a tenth of the training rows
    assert numeric_bins(np.array([np.nan, np.inf, 0.0, 1000.0]), edges).tolist() == [1] + [0] * 8 + [
        1
    ]  # non-finite left out
    assert category_bins(pd.Series(["a", "b", None, "z", 1]), ("a", "b")).tolist() == [
        1,
        1,
        2,
    ]  # unseen values share one bin


def test_shifted_input_drifts_and_same_distribution_does_not(mixed_frame):
    X = pd.concat([mixed_frame.drop(columns="label")] * 5, ignore_index=True)  # over MIN_ROWS values per column
    contract = learn_contract(X, profile_table(X))
    same, shifted = DriftCounter(contract.drift_profiles()), DriftCounter(contract.drift_profiles())
    for part in (X.iloc[:400], X.iloc[400:900], X.iloc[900:]):  # batch by batch, as scoring streams
        same.add(part)
        shifted.add(part.assign(amount=part["amount"] * 5 + 100, colour="purple"))
    stable = {d.column: d for d in same.result()}
    moved = {d.column: d for d in shifted.result()}
    assert stable["amount"].psi == pytest.approx(0.0, abs=1e-3) and stable["colour"].level == "stable"
    assert moved["amount"].level == "major" and moved["colour"].level == "major"
    assert moved["amount"].n_rows == X["amount"].notna().sum()
    assert shifted.result()[0].psi >= shifted.result()[-1].psi  # most drifted first


def test_contracts_without_a_profile_still_load_and_report_no_drift(mixed_frame):
    X = mixed_frame.drop(columns="label")
    learned = learn_contract(X, profile_table(X))
    assert DataContract.from_json(learned.to_json()) == learned and learned.drift_profiles()
    raw = json.loads(learned.to_json())
    for column in raw["columns"]:
        del column["edges"], column["expected"]
    old = DataContract.from_json(json.dumps(raw))
    assert old.drift_profiles() == [] and DriftCounter(old.drift_profiles()).result() == []


def test_a_small_sample_gets_its_psi_but_no_verdict(mixed_frame):
    X = mixed_frame.drop(columns="label")
    counter = DriftCounter(learn_contract(X, profile_table(X)).drift_profiles())
    counter.add(X.assign(amount=X["amount"] * 5 + 100).head(MIN_ROWS - 1))
    amount = {d.column: d for d in counter.result()}["amount"]
    assert amount.psi > MAJOR and amount.level == "too few rows"


def test_a_categorical_read_from_a_files_dictionary_falls_in_the_same_bins():
    values = pd.Series(["b", "a", None, "z", "b", "1", "a"] * 5)
    for categories in (("a", "b"), ("a", "b", 1)):  # a training category that was a number is compared as text
        expected = category_bins(values, categories)
        assert expected.tolist()[-1] == 5 * (
            1 if len(categories) == 3 else 2
        )  # "z" (and "1" unless it was seen) are unseen
        assert np.array_equal(category_bins(values.astype("category"), categories), expected)
