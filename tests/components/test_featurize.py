import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from components.featurize import AutoFeaturizer, profile_column, profile_table


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
        dense = (lambda m: m.toarray() if sparse.issparse(m) else m)
        assert np.allclose(dense(ours), dense(theirs), equal_nan=True)
