import numpy as np
import pandas as pd
import pytest

from components.data.split import plan_split


@pytest.mark.parametrize(
    "n_rows, method, n_folds", [(500, "cross_validation", 10), (5000, "cross_validation", 3), (25000, "holdout", 1)]
)
def test_azure_default_validation_by_size(n_rows, method, n_folds):
    y = pd.Series(np.arange(n_rows) % 2)
    plan = plan_split(y, seed=0, stratify=True)
    assert plan.method == method and len(plan.folds) == n_folds


def test_holdout_is_stratified_and_disjoint():
    y = pd.Series(["a"] * 90 + ["b"] * 10)
    plan = plan_split(y, seed=0, validation_size=0.2, stratify=True)
    ((train, valid),) = plan.folds
    assert not set(train) & set(valid) and len(train) + len(valid) == 100
    assert (y.iloc[valid] == "b").sum() == 2


def test_separate_validation_rows_come_last():
    plan = plan_split(pd.Series(range(10)), 0, n_validation_rows=3)
    ((_, valid),) = plan.folds
    assert list(valid) == [7, 8, 9] and plan.method == "validation_data"


def test_a_plan_lists_its_validation_rows_fold_after_fold():
    plan = plan_split(pd.Series(np.arange(30) % 3), seed=0, n_cross_validations=3, stratify=True)
    assert plan.fold_sizes() == [10, 10, 10]
    assert sorted(plan.validation_rows()) == list(range(30))
    assert list(plan.validation_rows()[:10]) == list(plan.folds[0][1])
