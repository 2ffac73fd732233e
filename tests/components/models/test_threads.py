"""The boosters use the threads OpenMP has in their process, not every core: a worker's share, one while serving."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from components.experiment.trial import build_pipeline
from components.models._threads import ONE_THREAD_ROWS, openmp_threads, prediction_threads
from components.problems import get_problem


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_lightgbm_fits_on_the_threads_openmp_has_here_and_keeps_its_parameters(task):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = np.where(X[:, 0] > 0, "yes", "no") if task == "classification" else X[:, 0] * 3
    model = build_pipeline("LightGBM", get_problem(task), {"n_estimators": 5}, 0).named_steps["model"]
    with threadpool_limits(1):  # as in a Dask worker of one thread, or jido serve
        model.fit(X, y)
    assert model.booster_.params["num_threads"] == 1  # not LightGBM's default of every physical core
    assert model.n_jobs is None  # the parameter stays as set: a clone is the same estimator
    with threadpool_limits(2):
        model.fit(X, y)
    assert model.booster_.params["num_threads"] == min(2, openmp_threads())


def test_a_few_rows_predict_on_one_thread_and_many_on_openmps():
    assert prediction_threads(ONE_THREAD_ROWS) == 1
    with threadpool_limits(1):
        assert prediction_threads(ONE_THREAD_ROWS + 1) == 1
