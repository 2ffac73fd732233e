import numpy as np
import pandas as pd
import pytest
import skops.io
from scipy import sparse

from components.native_features import NativeFeaturizer
from components.register import trusted_types_for
from components.trial import build_pipeline


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


def test_numbers_keep_missing_values_and_categories_stay_categories(table):
    featurizer = NativeFeaturizer().fit(table)
    features = featurizer.transform(table)
    assert list(features.columns) == list(featurizer.get_feature_names_out())
    assert "customer_id" not in featurizer.used_columns() and "customer_id" not in features.columns  # an identifier
    assert features["amount"].isna().sum() == table["amount"].isna().sum()  # not imputed: the booster routes them
    assert "visits__30_d_" in features.columns and features["visits__30_d_"].dtype == float
    plan = features["plan"]
    assert isinstance(plan.dtype, pd.CategoricalDtype) and list(plan.cat.categories) == ["basic", "plus", "pro"]
    assert plan.isna().sum() == table["plan"].isna().sum()
    assert {"signup_year", "signup_month", "signup_day_of_week"} <= set(features.columns)
    assert features.shape[0] == len(table) and (features.index == table.index).all()


def test_unseen_and_rare_values_read_as_missing_with_the_training_categories(table):
    featurizer = NativeFeaturizer(max_categories=2).fit(table)
    assert list(featurizer.categories_["plan"]) == ["basic", "plus"]  # the two most frequent
    fresh = table.head(3).assign(plan=["pro", "enterprise", "basic"])
    plan = featurizer.transform(fresh)["plan"]
    assert list(plan.cat.categories) == ["basic", "plus"]
    assert plan.isna().tolist() == [True, True, False]


def test_fit_transform_gives_what_fit_then_transform_gives(table):
    pd.testing.assert_frame_equal(NativeFeaturizer().fit_transform(table), NativeFeaturizer().fit(table).transform(table))


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
    model = getattr(model, "estimator_", model)  # XGBoost's label encoding wrapper
    if hasattr(model, "booster_"):  # LightGBM lists a categorical feature's values; a numeric one has its range only
        return [bool(info["values"]) for info in model.booster_.dump_model()["feature_infos"].values()]
    if hasattr(model, "get_booster"):
        return [kind == "c" for kind in model.get_booster().feature_types]
    return list(model.is_categorical_)


@pytest.mark.parametrize("name", ["LightGBM", "XGBoost", "HistGradientBoosting"])
def test_boosters_split_on_the_categories_themselves(name):
    rng = np.random.default_rng(0)
    n = 2000
    code = rng.integers(0, 40, n)
    X = pd.DataFrame({"shop": [f"s{c}" for c in code], "noise": rng.normal(size=n)})
    y = pd.Series(np.where(np.isin(code, [3, 7, 11, 19, 23, 31, 37]), "yes", "no"))
    pipeline = build_pipeline(name, "classification", {"max_iter": 20} if name == "HistGradientBoosting" else {"n_estimators": 20}, 0)
    fitted = pipeline.fit(X.iloc[:1500], y.iloc[:1500])
    assert _categorical_features(fitted.named_steps["model"]) == [False, True]  # features: noise, then shop
    assert (fitted.predict(X.iloc[1500:]) == y.iloc[1500:].to_numpy()).mean() > 0.97
    unseen = X.head(2).assign(shop=["s999", None])
    assert len(fitted.predict_proba(unseen)) == 2  # an unseen or missing shop is scored, not refused
    loaded = skops.io.loads(skops.io.dumps(fitted), trusted=trusted_types_for(fitted))  # as registration saves it
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
