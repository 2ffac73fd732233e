import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from components.features.auto import AutoFeaturizer
from components.features.columns import profile_column, profile_table
from components.problems import get_problem


def test_column_kinds_are_inferred(mixed_frame):
    kinds = {p.name: p.kind for p in profile_table(mixed_frame.drop(columns="label"))}
    assert kinds == {
        "customer_id": "dropped",
        "amount": "numeric",
        "amount_text": "numeric",
        "colour": "categorical",
        "signup": "datetime",
        "review": "text",
    }


@pytest.mark.parametrize(
    "values, kind",
    [
        ([None, None, None], "dropped"),
        ([3, 3, 3], "dropped"),
        ([True, False, True], "numeric"),
        (pd.to_datetime(["2020-01-01", "2021-05-03", None]), "datetime"),
        (["x", "y", "x"], "categorical"),
    ],
)
def test_edge_kinds(values, kind):
    assert profile_column(pd.Series(values, name="c")).kind == kind


def test_fit_learns_from_training_rows_only(mixed_frame):
    X = mixed_frame.drop(columns="label")
    train = X.iloc[:120]
    featurizer = AutoFeaturizer(sparse_output=False).fit(train)
    imputer = featurizer.transformer_.named_transformers_["numeric"].named_steps["impute"]
    expected = pd.to_numeric(train["amount"]).median()
    assert imputer.statistics_[0] == pytest.approx(expected)
    assert expected != pytest.approx(pd.to_numeric(X["amount"]).median())


def test_transform_handles_unseen_categories_missing_values_and_new_words(mixed_frame):
    X = mixed_frame.drop(columns="label")
    featurizer = AutoFeaturizer(scale_numeric=True, sparse_output=False).fit(X)
    new = X.head(3).copy()
    new["colour"] = ["purple", None, "red"]
    new["amount"] = [np.nan, 1e6, 3.0]
    new["review"] = ["never seen words", None, "great"]
    new["signup"] = ["not a date", None, "2022-02-02"]
    out = featurizer.transform(new)
    assert isinstance(out, np.ndarray) and out.shape[0] == 3
    assert np.isfinite(out).all()
    assert out.shape[1] == featurizer.transform(X.head(1)).shape[1]


def test_sparse_output_keeps_text_sparse(mixed_frame):
    X = mixed_frame.drop(columns="label")
    assert sparse.issparse(AutoFeaturizer(sparse_output=True).fit_transform(X))
    assert isinstance(AutoFeaturizer(sparse_output=False).fit_transform(X), np.ndarray)


def test_datetime_parts_are_features(mixed_frame):
    featurizer = AutoFeaturizer(sparse_output=False).fit(mixed_frame[["signup", "amount"]])
    names = list(featurizer.get_feature_names_out())
    assert any("signup_month" in n for n in names) and any("signup_day_of_week" in n for n in names)


def test_no_usable_column_is_an_error():
    with pytest.raises(ValueError, match="no usable feature columns"):
        AutoFeaturizer().fit(pd.DataFrame({"a": [1, 1, 1], "b": [None, None, None]}))


@pytest.mark.parametrize("scale_numeric, sparse_output", [(False, False), (True, False), (False, True), (True, True)])
def test_transform_equals_the_fitted_column_transformer_on_every_column_kind(mixed_frame, scale_numeric, sparse_output):
    X = mixed_frame.drop(columns="label")
    featurizer = AutoFeaturizer(scale_numeric=scale_numeric, sparse_output=sparse_output).fit(X.iloc[:150])
    new = X.iloc[150:].copy()
    new.iloc[0, new.columns.get_loc("colour")] = "purple"  # unseen
    new.iloc[1, new.columns.get_loc("amount")] = None
    for rows in (new, new.iloc[:1]):
        ours, theirs = featurizer.transform(rows), featurizer.transformer_.transform(featurizer._as_strings(rows))
        assert sparse.issparse(ours) == sparse.issparse(theirs) and ours.shape == theirs.shape
        assert np.allclose(_dense(ours), _dense(theirs), equal_nan=True)


@pytest.fixture()
def many_categories():
    """A 300-category column whose category sets the label's odds, and a 3-category one."""
    rng = np.random.default_rng(1)
    n = 3000
    shop = rng.integers(0, 300, n)
    odds = (shop % 3) / 2.0  # thirds of the shops: never, half the time, always
    label = np.where(rng.random(n) < odds, "yes", "no")
    frame = pd.DataFrame({"shop": [f"S{s:03d}" for s in shop], "size": rng.choice(["s", "m", "l"], n)})
    return frame, pd.Series(label)


def test_a_column_of_many_categories_is_target_encoded_in_a_few_features(many_categories):
    X, y = many_categories
    featurizer = AutoFeaturizer(sparse_output=False)
    features = featurizer.fit_transform(X, y)
    assert features.shape == (len(X), 3 + 1)  # one-hot "size", one encoding of "shop" (two classes)
    names = list(featurizer.get_feature_names_out())
    assert sum(n.startswith("high_cardinality__") for n in names) == 1
    encoded = features[:, names.index("high_cardinality__shop")]
    share = pd.Series(y.eq("yes").to_numpy()).groupby(X["shop"].to_numpy()).transform("mean").to_numpy()
    assert np.corrcoef(encoded, share)[0, 1] > 0.9  # the encoding is the category's share of "yes"
    # The training rows' encodings are cross-fitted: not what transform gives the same rows.
    assert not np.allclose(encoded, featurizer.transform(X)[:, names.index("high_cardinality__shop")])
    unseen = featurizer.transform(pd.DataFrame({"shop": ["S999"], "size": ["m"]}))[
        0, names.index("high_cardinality__shop")
    ]
    assert unseen == pytest.approx(y.eq("yes").mean(), abs=0.02)  # an unseen category gets the overall rate


def test_several_classes_get_one_encoding_each(many_categories):
    X, y = many_categories
    labels = pd.Series(np.where(X["shop"].str[-1].isin(["0", "1", "2"]), "low", np.where(y == "yes", "yes", "no")))
    features = AutoFeaturizer(sparse_output=False).fit_transform(X, labels)
    assert features.shape[1] == 3 + 3


def test_featurization_off_passes_number_columns_through_and_leaves_missing_values(mixed_frame):
    from components.experiment.trial import build_pipeline
    from components.features.auto import NumericPassthrough

    X = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1, 2, 3]})
    passed = NumericPassthrough().fit(X)
    assert np.array_equal(passed.transform(X[["b", "a"]]), X.to_numpy(dtype=float), equal_nan=True)
    assert passed.used_columns() == ["a", "b"]
    pipeline = build_pipeline(
        "RandomForest",
        get_problem("classification"),
        {"n_estimators": 10, "max_features": "sqrt", "min_samples_leaf": 1, "featurization": "off"},
        0,
    )
    assert isinstance(pipeline.named_steps["featurize"], NumericPassthrough)
    assert "featurization" not in pipeline.named_steps["model"].get_params()


def _dense(matrix):
    return matrix.toarray() if sparse.issparse(matrix) else matrix
