"""The sweep's durable record: finding, resuming and closing sweeps, and continuing one where it stopped."""

from __future__ import annotations

import pytest

from components.experiment.results import TrialResult
from components.problems import get_problem
from components.search.sampler import TrialPlanner, parse_search_space, portfolio_subspaces
from components.search.store import SweepStore, sqlite_url

MODELS = ["LogisticRegression", "RandomForest", "KNN"]


def _score(config) -> float:
    # A deterministic stand-in for fitting: the sampler only sees the number.
    return round(sum(hash(str(v)) % 997 for v in config.params.values()) / 997 / max(1, len(config.params)), 6)


def _result(config, status: str = "completed") -> TrialResult:
    metric = _score(config) if status != "failed" else None
    curve = (metric * 0.9, metric) if status == "early_terminated" else ()
    return TrialResult(
        config.iteration,
        config.model_name,
        config.params,
        status,
        metric,
        0.1,
        "boom" if status == "failed" else None,
        (metric,) if metric else (),
        curve,
    )


def _status(iteration: int) -> str:
    return {3: "failed", 5: "early_terminated"}.get(iteration, "completed")


def _planner(sampling: str, subspaces=None) -> TrialPlanner:
    subspaces = subspaces or portfolio_subspaces(MODELS, get_problem("classification"))
    return TrialPlanner(subspaces, get_problem("classification"), True, 42, sampling, defaults_first=sampling != "grid")


def test_open_resumes_the_latest_unclosed_sweep_and_starts_a_new_one_after_close(tmp_path):
    url = sqlite_url(tmp_path / "exp")
    first = SweepStore.open(url, "churn", "abc", True)
    assert (first.study_name, first.resumed) == ("churn-abc-1", False)
    first.parent_run_id = "run-1"
    again = SweepStore.open(url, "churn", "abc", True)
    assert (again.study_name, again.resumed, again.parent_run_id) == ("churn-abc-1", True, "run-1")
    assert SweepStore.open(url, "churn", "other", True).study_name == "churn-other-1"
    again.close()
    after = SweepStore.open(url, "churn", "abc", True)
    assert (after.study_name, after.resumed, after.parent_run_id) == ("churn-abc-2", False, None)


@pytest.mark.parametrize("sampling", ["random", "bayesian", "grid"])
def test_a_resumed_sweep_continues_exactly_like_an_uninterrupted_one(tmp_path, sampling):
    subspaces = None
    if sampling == "grid":
        space = [
            {"model_name": ["RandomForest"], "min_samples_leaf": [1, 2, 3]},
            {"model_name": ["KNN"], "n_neighbors": [3, 5, 9]},
        ]
        subspaces = parse_search_space(space, MODELS, get_problem("classification"), "grid")
    n, k = (6, 4) if sampling == "grid" else (14, 6)

    uninterrupted = _planner(sampling, subspaces)
    expected = []
    for i in range(n):
        config = uninterrupted.ask(i)
        expected.append(config)
        uninterrupted.tell(_result(config, _status(i)))

    store = SweepStore.open(sqlite_url(tmp_path / "exp"), "exp", "f", True)
    interrupted = _planner(sampling, subspaces)
    for i in range(k):
        config = interrupted.ask(i)
        store.add(interrupted.tell(_result(config, _status(i))))
    interrupted.ask(k)  # running when the process was killed: never recorded

    resumed_store = SweepStore.open(store.url, "exp", "f", True)
    assert resumed_store.resumed
    resumed = _planner(sampling, subspaces)
    restored = resumed.restore(resumed_store.finished())
    assert [r.iteration for r in restored] == list(range(k))
    assert [r.status for r in restored] == [_status(i) for i in range(k)]
    assert restored[3].status == "failed" and restored[3].error == "boom"
    assert [(r.model_name, r.params) for r in restored] == [(c.model_name, c.params) for c in expected[:k]]
    continued = []
    for i in range(k, n):
        config = resumed.ask(i)
        continued.append(config)
        resumed.tell(_result(config, _status(i)))
    assert [(c.model_name, c.params) for c in continued] == [(c.model_name, c.params) for c in expected[k:]]


def test_restored_trials_count_for_pruning(tmp_path):
    import optuna

    planner = TrialPlanner(
        portfolio_subspaces(["RandomForest"], get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "random",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    store = SweepStore.open(sqlite_url(tmp_path), "p", "f", True)
    config = planner.ask(0)
    store.add(
        planner.tell(TrialResult(0, config.model_name, config.params, "completed", 0.9, 1.0, None, (0.9,), (0.8, 0.9)))
    )
    resumed = TrialPlanner(
        portfolio_subspaces(["RandomForest"], get_problem("classification")),
        get_problem("classification"),
        True,
        0,
        "random",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    resumed.restore(store.finished())
    resumed.ask(1)
    reporter = resumed.reporter(1)
    assert reporter(0.5, 1) is True  # below the restored trial's 0.8 at step 1
