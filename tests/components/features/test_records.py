"""A request's rows featurized from tables (components/records.py): the same features, and predictions, as through a
frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone

import components.scoring.online as online
from components.contract.contract import learn_contract
from components.contract.validate import keeps_contract
from components.experiment.trial import build_pipeline
from components.experiment.voting import ensemble_pipeline
from components.features.auto import AutoFeaturizer, NumericPassthrough
from components.features.records import Records, row_tables, takes_records
from components.problems import get_problem
from components.scoring.bundle import ModelBundle


def _dense(features):
    return features.toarray() if sparse.issparse(features) else np.asarray(features)


@pytest.fixture(scope="module")
def table():
    """Numbers with nulls, a 3-category column, a 300-category one (target encoded), a rare-category column, and three
    kinds of target."""
    rng = np.random.default_rng(3)
    n = 1500
    shop = rng.integers(0, 300, n)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(50, 10, n),
            "visits": rng.integers(0, 20, n),
            "size": rng.choice(["s", "m", "l"], n),
            "shop": [f"S{s:03d}" for s in shop],
            "tier": rng.choice(["gold", "silver", "bronze", "tin", "lead"], n, p=[0.5, 0.44, 0.03, 0.02, 0.01]),
        }
    )
    frame.loc[::11, "amount"] = np.nan
    frame.loc[::7, "size"] = None
    targets = {
        "binary": pd.Series(np.where((shop % 3 == 0) | (frame["visits"] > 12), "yes", "no")),
        "multiclass": pd.Series(np.array(["low", "mid", "high"])[shop % 3]),
        "continuous": pd.Series(shop % 7 + frame["visits"] * 0.5, dtype=float),
    }
    return frame, targets


def _requests(frame: pd.DataFrame) -> list[dict]:
    """Held-out rows as JSON gives them, and rows with unseen categories, nulls and a rare category."""
    rows = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.tail(40).to_dict("records")
    ]
    rows += [
        {"amount": None, "visits": 3, "size": "xl", "shop": "S999", "tier": "lead"},
        {"amount": 1e6, "visits": -4, "size": None, "shop": None, "tier": None},
        {"amount": 12.5, "visits": 0, "size": "m", "shop": "S001", "tier": "plutonium"},
    ]
    return rows


@pytest.mark.parametrize("target", ["binary", "multiclass", "continuous"])
@pytest.mark.parametrize("scale_numeric, sparse_output", [(False, False), (True, False), (False, True), (True, True)])
def test_records_get_the_features_a_frame_of_them_gets(table, target, scale_numeric, sparse_output):
    frame, targets = table
    featurizer = AutoFeaturizer(scale_numeric=scale_numeric, sparse_output=sparse_output, max_categories=4).fit(
        frame.iloc[:-40], targets[target].iloc[:-40]
    )
    assert row_tables(featurizer) is not None
    rows = _requests(frame)
    for some in (rows, rows[:1], rows[-3:]):
        from_records, from_frame = (
            featurizer.transform(Records(some, list(frame.columns))),
            featurizer.transform(pd.DataFrame.from_records(some)),
        )
        assert sparse.issparse(from_records) == sparse.issparse(from_frame)
        assert np.array_equal(
            _dense(from_records), _dense(from_frame), equal_nan=True
        )  # the same numbers, to the last bit


def test_native_featurizers_read_records_as_they_read_a_frame(table):
    from components.features.native import NativeFeaturizer

    frame, targets = table
    featurizer = NativeFeaturizer().fit(frame.iloc[:-40], targets["binary"].iloc[:-40])
    assert featurizer.reads_records()
    rows = _requests(frame)
    odd = [
        {"amount": "12.5", "visits": 3, "size": "s", "shop": "S001", "tier": "gold"},
        {"amount": 1.0, "visits": None, "size": 7, "shop": "new", "tier": True},
    ]
    assert featurizer._from_records(odd[:1]) is None  # a number as text: pandas parses it
    for some in (rows, rows[:1], rows[-3:], odd, odd[1:]):
        from_records, from_frame = (
            featurizer.transform(Records(some, list(frame.columns))),
            featurizer.transform(pd.DataFrame.from_records(some)),
        )
        assert np.array_equal(from_records, from_frame, equal_nan=True)


def test_values_a_table_cannot_take_and_columns_without_tables_go_through_a_frame(table, mixed_frame):
    frame, targets = table
    featurizer = AutoFeaturizer(sparse_output=False).fit(frame, targets["binary"])
    odd = [
        {"amount": "12.5", "visits": 3, "size": "s", "shop": "S001", "tier": "gold"},
        {"amount": 1.0, "visits": 3, "size": 7, "shop": "S001", "tier": True},
    ]
    assert row_tables(featurizer).features(odd) is None
    assert np.array_equal(
        featurizer.transform(Records(odd, list(frame.columns))),
        featurizer.transform(pd.DataFrame.from_records(odd)),
        equal_nan=True,
    )
    # Dates and free text have no tables: the whole featurizer goes the frame's way.
    X = mixed_frame.drop(columns="label")
    mixed = AutoFeaturizer(sparse_output=False).fit(X.iloc[:200], mixed_frame["label"].iloc[:200])
    assert row_tables(mixed) is None
    rows = X.iloc[200:].to_dict("records")
    assert np.allclose(mixed.transform(Records(rows, list(X.columns))), mixed.transform(X.iloc[200:]), equal_nan=True)


def test_tables_are_kept_beside_the_featurizer_not_in_it(table):
    frame, targets = table
    featurizer = AutoFeaturizer().fit(frame, targets["binary"])
    before = set(vars(featurizer))
    featurizer.transform(Records(_requests(frame), list(frame.columns)))
    assert set(vars(featurizer)) == before  # nothing new is saved with the model
    assert row_tables(featurizer) is row_tables(featurizer) and row_tables(
        clone(featurizer).fit(frame, targets["binary"])
    ) is not row_tables(featurizer)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_requests_score_from_tables_as_through_a_frame_for_single_models_and_ensembles(table, task, monkeypatch):
    frame, targets = table
    y = targets["binary" if task == "classification" else "continuous"]
    X, held_out = frame.iloc[:-40], frame
    lgbm = build_pipeline(
        "LightGBM", get_problem(task), {"n_estimators": 30, "num_leaves": 15}, 0
    )  # categories as categories
    hgb = build_pipeline("HistGradientBoosting", get_problem(task), {"max_iter": 30}, 0)
    name, params = (
        ("LogisticRegression", {"C": 1.0, "class_weight": None})
        if task == "classification"
        else ("ElasticNet", {"alpha": 0.01, "l1_ratio": 0.5})
    )
    linear = build_pipeline(name, get_problem(task), params, 0)
    ensemble = ensemble_pipeline([clone(lgbm), clone(hgb), clone(linear)], [2.0, 1.0, 1.0], task, list(X.columns))
    contract = learn_contract(X, AutoFeaturizer().fit(X, y.iloc[:-40]).profiles_)
    rows = [
        row for row in _requests(held_out) if row["visits"] >= 0 and (row["amount"] is None or row["amount"] < 1000)
    ]
    assert keeps_contract(rows, contract)  # so the tables, not the frame, score them first
    for pipeline in (lgbm, linear, ensemble):
        pipeline.fit(X, y.iloc[:-40])
        assert takes_records(pipeline)
        for some in (rows, rows[:1]):
            model = ModelBundle(pipeline, contract, get_problem(task))
            from_records = online.score_records(model, some)
            monkeypatch.setattr(online, "RECORDS_AT_MOST", 0)  # every request through a frame
            assert from_records == online.score_records(model, some)
            monkeypatch.undo()


def test_only_featurizers_with_tables_take_records(table):
    frame, targets = table
    off = build_pipeline("LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0)
    off.steps[0] = ("featurize", NumericPassthrough())
    off.fit(frame[["amount", "visits"]].fillna(0), targets["binary"])
    assert not takes_records(off)
    dated = frame.assign(seen=pd.date_range("2024-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d"))
    booster = build_pipeline("LightGBM", get_problem("classification"), {"n_estimators": 20}, 0).fit(
        dated, targets["binary"]
    )
    assert not takes_records(booster)  # dates are split into parts through pandas
