import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io
from scipy import sparse

from components.experiment.trial import build_pipeline
from components.features.native import NativeFeaturizer
from components.problems import get_problem
from tests.support.skops import trusted_types_for


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 300
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "amount": np.where(np.arange(n) % 10 == 0, np.nan, rng.normal(50, 10, n)),
            "visits [30 d]": rng.integers(0, 9, n),  # brackets: LightGBM and XGBoost refuse them in feature names
            "plan": rng.choice(["basic", "plus", "pro", None], n, p=[0.5, 0.3, 0.15, 0.05]),
            "signup": pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        }
    )


def test_training_rows_come_as_categoricals_and_later_rows_as_their_codes(table):
    featurizer = NativeFeaturizer()
    frame = featurizer.fit_transform(table)
    names = list(featurizer.get_feature_names_out())
    assert "customer_id" not in featurizer.used_columns() and "customer_id" not in names  # an identifier
    assert names[:3] == ["amount", "visits [30 d]", "plan"] and {"signup_year", "signup_day_of_week"} <= set(names)
    assert frame.shape == (len(table), len(names)) and (frame.index == table.index).all()
    plan = frame[names.index("plan")]
    assert isinstance(plan.dtype, pd.CategoricalDtype) and list(plan.cat.categories) == ["basic", "plus", "pro"]
    assert plan.isna().sum() == table["plan"].isna().sum()
    amount = frame[names.index("amount")]
    assert amount.isna().sum() == table["amount"].isna().sum()  # not imputed: the booster routes missing values
    codes = featurizer.transform(table)
    assert isinstance(codes, np.ndarray) and codes.shape == frame.shape
    expected = plan.cat.codes.to_numpy().astype(float)
    expected[expected < 0] = np.nan
    assert np.array_equal(codes[:, names.index("plan")], expected, equal_nan=True)
    assert np.array_equal(codes[:, names.index("amount")], amount.to_numpy(), equal_nan=True)
    # One row is looked up value by value, many through pandas: the same codes.
    assert np.array_equal(featurizer.transform(table.iloc[[7]]), codes[[7]], equal_nan=True)


def test_unseen_and_rare_values_read_as_missing_with_the_training_categories(table):
    featurizer = NativeFeaturizer(max_categories=2).fit(table)
    assert list(featurizer.categories_["plan"]) == ["basic", "plus"]  # the two most frequent
    column = list(featurizer.get_feature_names_out()).index("plan")
    fresh = table.head(3).assign(plan=["pro", "enterprise", "plus"])
    for rows in (fresh, pd.concat([fresh] * 30)):  # looked up one by one, and through pandas
        assert np.array_equal(featurizer.transform(rows)[:3, column], [np.nan, np.nan, 1.0], equal_nan=True)


def test_a_table_with_free_text_is_encoded_instead(mixed_frame):
    X = mixed_frame.drop(columns="label")
    assert sparse.issparse(NativeFeaturizer().fit(X).transform(X))
    dense = NativeFeaturizer(sparse_output=False).fit(X)
    assert isinstance(dense.transform(X), np.ndarray) and dense.encoded_ is not None
    assert len(dense.get_feature_names_out()) == dense.transform(X).shape[1]


def test_bad_settings_and_useless_tables_are_refused(table):
    with pytest.raises(ValueError, match="max_categories"):
        NativeFeaturizer(max_categories=0).fit(table)
    with pytest.raises(ValueError, match="no usable feature columns"):
        NativeFeaturizer().fit(table[["customer_id"]])


def _categorical_features(model) -> list[bool]:
    """Which features the fitted booster itself treats as categorical, as each library records it."""
    model = getattr(model, "estimator_", model)  # XGBoost's and CatBoost's label encoding wrapper
    if hasattr(model, "get_cat_feature_indices"):  # CatBoost keeps the categorical positions in its model
        return [j in model.get_cat_feature_indices() for j in range(len(model.feature_names_))]
    if hasattr(model, "booster_"):  # LightGBM lists a categorical feature's values; a numeric one has its range only
        return [bool(info["values"]) for info in model.booster_.dump_model()["feature_infos"].values()]
    return [kind == "c" for kind in model.get_booster().feature_types]


@pytest.mark.parametrize("name", ["LightGBM", "XGBoost", "CatBoost"])
def test_boosters_split_on_the_categories_themselves(name):
    rng = np.random.default_rng(0)
    n = 2000
    code = rng.integers(0, 40, n)
    X = pd.DataFrame({"shop": [f"s{c}" for c in code], "noise": rng.normal(size=n)})
    y = pd.Series(np.where(np.isin(code, [3, 7, 11, 19, 23, 31, 37]), "yes", "no"))
    pipeline = build_pipeline(name, get_problem("classification"), {"n_estimators": 20}, 0)
    fitted = pipeline.fit(X.iloc[:1500], y.iloc[:1500])
    assert _categorical_features(fitted.named_steps["model"]) == [False, True]  # features: noise, then shop
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # predicting from the codes' array: no warning about feature names
        fitted.predict(X.head())
    assert (fitted.predict(X.iloc[1500:]) == y.iloc[1500:].to_numpy()).mean() > 0.97
    unseen = X.head(2).assign(shop=["s999", None])
    assert len(fitted.predict_proba(unseen)) == 2  # an unseen or missing shop is scored, not refused
    loaded = skops.io.loads(skops.io.dumps(fitted), trusted=trusted_types_for(fitted))  # as registration saves it
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_codes_read_back_as_the_training_frame(table):
    from components.features.native import like_training_frame

    featurizer = NativeFeaturizer()
    frame = featurizer.fit_transform(table)
    again = like_training_frame(featurizer.transform(table), frame)
    pd.testing.assert_frame_equal(again, frame.reset_index(drop=True))
    codes = featurizer.transform(table)
    assert like_training_frame(codes, codes) is codes  # a table with text (no frame) passes as it is


def test_a_categorical_read_from_a_files_dictionary_gives_the_same_codes(table):
    featurizer = NativeFeaturizer().fit(table)
    rows = pd.concat(
        [table, table.head(3).assign(plan=["enterprise", None, "pro"])], ignore_index=True
    )  # an unseen value, a missing one
    as_read = rows.assign(
        plan=rows["plan"].astype("category")
    )  # as components.batches.read_batches decodes a text column
    assert isinstance(as_read["plan"].dtype, pd.CategoricalDtype)
    assert np.array_equal(featurizer.transform(as_read), featurizer.transform(rows), equal_nan=True)
