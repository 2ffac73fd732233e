import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from components.evaluate.metrics import get_metric
from components.experiment.results import TrialResult
from components.experiment.selection import (
    EnsembleCandidates,
    best_calibrated,
    fold_segments,
    greedy_selection,
    tied_vote,
)
from components.experiment.trial import build_pipeline
from components.experiment.voting import ensemble_pipeline
from components.problems import get_problem
from components.scoring.bundle import required_columns
from tests.support.skops import trusted_types_for

CLASSIFICATION, REGRESSION = get_problem("classification"), get_problem("regression")


def test_fold_segments_cover_the_kept_rows_fold_after_fold():
    assert fold_segments([3, 2, 4]) == [slice(0, 3), slice(3, 5), slice(5, 9)]


def test_greedy_selection_pairs_errors_that_cancel():
    # Hand-computed: A and B are each off by 0.5 (in opposite directions), C by 1.0.
    # Round 1 takes A (first of the tie with B); round 2 takes B, whose average
    # with A is exact; round 3 can only move away from it, so two picks win.
    y = np.array([0.0, 1.0, 2.0, 3.0])
    candidates = {0: y + 0.5, 1: y - 0.5, 2: y + 1.0}
    choice = greedy_selection(
        candidates, y, fold_segments([2, 2]), REGRESSION, get_metric("normalized_mean_absolute_error"), None, rounds=5
    )
    assert choice.weights == {0: 0.5, 1: 0.5}
    assert (
        choice.metric == pytest.approx(0.0) and choice.fold_metrics == pytest.approx((0.0, 0.0)) and choice.rounds == 2
    )


def test_greedy_selection_votes_classifiers_by_their_probabilities():
    # Probability of "b" per row; y = a a b b. A misses row 1, B row 0, C every row.
    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "b", "b"])

    def proba(p_b):
        p_b = np.asarray(p_b)
        return np.column_stack([1 - p_b, p_b])

    candidates = {7: proba([0.6, 0.1, 0.9, 0.9]), 8: proba([0.1, 0.6, 0.9, 0.9]), 9: proba([0.9, 0.9, 0.1, 0.1])}
    choice = greedy_selection(
        candidates, y, fold_segments([4]), CLASSIFICATION, get_metric("accuracy"), classes, rounds=10
    )
    assert choice.weights == {7: 0.5, 8: 0.5} and choice.metric == 1.0  # alone each scores 0.75


def test_greedy_selection_keeps_one_model_when_averaging_does_not_help():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    choice = greedy_selection(
        {3: y.copy(), 4: y + 1.0},
        y,
        fold_segments([4]),
        REGRESSION,
        get_metric("normalized_root_mean_squared_error"),
        None,
    )
    assert choice.weights == {3: 1.0} and choice.rounds == 1


def test_candidates_keep_the_best_trials_within_the_cap():
    metric = get_metric("r2_score")
    kept = EnsembleCandidates(REGRESSION, metric, max_candidates=2)
    for iteration, value in enumerate([0.5, 0.9, 0.7, 0.8]):
        kept.add(TrialResult(iteration, "ElasticNet", {}, "completed", value, 1.0), np.zeros(5, dtype=np.float32))
    assert sorted(kept.predictions) == [1, 3]
    small = EnsembleCandidates(REGRESSION, metric, max_candidates=30, max_bytes=50)
    for iteration in range(4):
        small.add(
            TrialResult(iteration, "ElasticNet", {}, "completed", float(iteration), 1.0), np.zeros(5, dtype=np.float32)
        )
    assert sorted(small.predictions) == [2, 3]  # 20 bytes each: two fit in 50


def test_classifier_labels_are_not_candidates():
    kept = EnsembleCandidates(CLASSIFICATION, get_metric("accuracy"))
    kept.add(TrialResult(0, "X", {}, "completed", 1.0, 1.0), np.array(["a", "b"]))
    assert kept.predictions == {}


def test_the_ensemble_averages_its_refitted_members_and_serialises(cancer_frame):
    import skops.io

    X, y = cancer_frame.drop(columns="diagnosis"), cancer_frame["diagnosis"]
    members = [
        build_pipeline("LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0),
        build_pipeline(
            "RandomForest",
            get_problem("classification"),
            {"n_estimators": 30, "max_features": "sqrt", "min_samples_leaf": 1},
            0,
        ),
    ]
    pipeline = ensemble_pipeline(members, [0.75, 0.25], "classification", list(X.columns)).fit(X, y)
    expected = 0.75 * clone(members[0]).fit(X, y).predict_proba(X) + 0.25 * clone(members[1]).fit(X, y).predict_proba(X)
    assert np.allclose(pipeline.predict_proba(X), expected)
    assert list(pipeline.classes_) == ["benign", "malignant"]
    assert (pipeline.predict(X) == pipeline.classes_[np.argmax(expected, axis=1)]).all()
    assert required_columns(pipeline) == list(X.columns)
    loaded = skops.io.loads(skops.io.dumps(pipeline), trusted=trusted_types_for(pipeline))
    assert np.allclose(loaded.predict_proba(X), expected)


def test_a_regression_ensemble_is_the_weighted_sum_of_its_members():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    members = [
        build_pipeline("ElasticNet", get_problem("regression"), {"alpha": 0.01, "l1_ratio": 0.5}, 0),
        build_pipeline("KNN", get_problem("regression"), {"n_neighbors": 7, "weights": "distance"}, 0),
    ]
    pipeline = ensemble_pipeline(members, [2.0, 1.0], "regression", list(X.columns)).fit(X, y)
    expected = (2 * clone(members[0]).fit(X, y).predict(X) + clone(members[1]).fit(X, y).predict(X)) / 3
    assert np.allclose(pipeline.predict(X), expected)
    assert not hasattr(pipeline, "predict_proba")
    with pytest.raises(ValueError, match="one weight per member"):
        ensemble_pipeline(members, [1.0], "regression", list(X.columns)).fit(X, pd.Series(y))


def test_only_the_best_candidates_take_part():
    y = np.array([0.0, 1.0, 2.0, 3.0])
    # 0 and 1 would cancel out, but 1 alone is the worst of three and only two take part.
    candidates = {0: y + 0.5, 1: y - 0.9, 2: y + 0.6}
    choice = greedy_selection(
        candidates,
        y,
        fold_segments([4]),
        REGRESSION,
        get_metric("normalized_mean_absolute_error"),
        None,
        rounds=5,
        max_candidates=2,
    )
    assert set(choice.weights) <= {0, 2}


def test_ties_on_the_primary_metric_go_to_the_better_calibrated():
    # Both rank every row right (AUC 1.0); the average is as sure as the surer one where that one is right and less
    # wrong elsewhere.
    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "b", "b"])
    candidates = {
        0: np.array([[0.6, 0.4], [0.55, 0.45], [0.45, 0.55], [0.4, 0.6]]),
        1: np.array([[0.99, 0.01], [0.9, 0.1], [0.2, 0.8], [0.01, 0.99]]),
    }
    choice = greedy_selection(
        candidates, y, fold_segments([4]), CLASSIFICATION, get_metric("AUC_weighted"), classes, rounds=3
    )
    assert choice.metric == 1.0 and list(choice.weights) == [1]  # the sharper one alone: averaging only blurs it
    assert choice.tiebreak == pytest.approx(np.mean(np.log([0.99, 0.9, 0.8, 0.99])))  # minus its log loss


def test_of_trials_tied_for_the_best_the_better_calibrated_is_chosen():
    from components.experiment.leaderboard import Leaderboard

    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "b", "b"])
    unsure = np.array([[0.6, 0.4], [0.55, 0.45], [0.45, 0.55], [0.4, 0.6]])
    sure = np.array([[0.99, 0.01], [0.9, 0.1], [0.2, 0.8], [0.01, 0.99]])
    surest_but_worse = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    board = Leaderboard("AUC_weighted")
    for iteration, metric in enumerate([1.0, 0.75, 1.0, 1.0]):
        board.add(TrialResult(iteration, "LogisticRegression", {}, "completed", metric, 1.0))
    candidates = {0: unsure, 1: surest_but_worse, 2: sure, 3: sure}
    metric = get_metric("AUC_weighted")
    chosen, its_value, best_value = best_calibrated(
        board.best(), board.results, candidates, y, CLASSIFICATION, metric, classes
    )
    assert chosen.iteration == 2  # not 1 (it does not tie), and not 3 (as good as 2, and later)
    assert its_value == pytest.approx(np.mean(np.log([0.99, 0.9, 0.8, 0.99])))
    assert best_value == pytest.approx(np.mean(np.log([0.6, 0.55, 0.55, 0.6])))
    board.prefer(chosen)
    assert board.best().iteration == 2 and board.ranked()[0].iteration == 2
    with pytest.raises(ValueError, match="does not tie"):
        board.prefer(board.results[1])

    # The best stays when its own predictions were not kept, and for a regressor (no log loss to compare).
    assert (
        best_calibrated(board.results[0], board.results, {2: sure}, y, CLASSIFICATION, metric, classes)[0].iteration
        == 0
    )
    regression = Leaderboard("r2_score")
    for iteration in range(2):
        regression.add(TrialResult(iteration, "ElasticNet", {}, "completed", 0.5, 1.0))
    values = np.array([1.0, 2.0, 3.0])
    chosen = best_calibrated(
        regression.best(),
        regression.results,
        {0: values, 1: values + 0.1},
        values,
        REGRESSION,
        get_metric("r2_score"),
        None,
    )[0]
    assert chosen.iteration == 0


def _two_class(p_b) -> np.ndarray:
    p_b = np.asarray(p_b, dtype=float)
    return np.column_stack([1 - p_b, p_b])


def test_trials_tied_for_the_best_vote_with_equal_weights_when_three_or_more_tie():
    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "b", "b"])
    metric = get_metric("AUC_weighted")
    # Four rank every row right, some surer than others; trial 4 does not tie.
    candidates = {
        0: _two_class([0.45, 0.4, 0.55, 0.6]),
        1: _two_class([0.1, 0.2, 0.8, 0.9]),
        2: _two_class([0.2, 0.3, 0.7, 0.8]),
        3: _two_class([0.01, 0.02, 0.98, 0.99]),
        4: _two_class([0.9, 0.1, 0.2, 0.8]),
    }
    results = [TrialResult(i, "LogisticRegression", {}, "completed", 1.0 if i < 4 else 0.5, 1.0) for i in range(5)]
    vote = tied_vote(results[0], results, candidates, y, fold_segments([4]), CLASSIFICATION, metric, classes)
    assert vote.weights == {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25}
    assert vote.metric == 1.0 and vote.fold_metrics == (1.0,)
    # A cap keeps the earliest (how sure a trial is does not pick it: on tied rows the surest are not the best on new
    # ones).
    assert tied_vote(
        results[0], results, candidates, y, fold_segments([4]), CLASSIFICATION, metric, classes, max_members=3
    ).weights == {0: 1 / 3, 1: 1 / 3, 2: 1 / 3}
    # Two tied are not enough (the log-loss tie-break decides between them), nor are trials whose predictions were not
    # kept.
    assert (
        tied_vote(
            results[0], results[:2] + results[4:], candidates, y, fold_segments([4]), CLASSIFICATION, metric, classes
        )
        is None
    )
    assert (
        tied_vote(
            results[0],
            results,
            {i: candidates[i] for i in (0, 1, 4)},
            y,
            fold_segments([4]),
            CLASSIFICATION,
            metric,
            classes,
        )
        is None
    )


def test_a_tied_vote_that_scores_worse_than_its_members_is_not_taken():
    # Three trials of AUC 0.5 each, whose average ranks worse (0.33).
    classes = np.array(["a", "b"])
    y = np.array(["a", "a", "a", "b", "b", "b"])
    predictions = [[0.4, 0.7, 0.1, 0.7, 0.3, 0.2], [0.2, 0.8, 0.9, 0.4, 0.7, 0.9], [0.0, 0.2, 0.8, 0.0, 0.4, 0.4]]
    candidates = {i: _two_class(p) for i, p in enumerate(predictions)}
    results = [TrialResult(i, "LogisticRegression", {}, "completed", 0.5, 1.0) for i in range(3)]
    assert (
        tied_vote(
            results[0], results, candidates, y, fold_segments([6]), CLASSIFICATION, get_metric("AUC_weighted"), classes
        )
        is None
    )


def test_a_tied_ensemble_can_still_be_crowned_on_the_leaderboard():
    from components.experiment.leaderboard import Leaderboard

    board = Leaderboard("AUC_weighted")
    board.add(TrialResult(0, "LogisticRegression", {}, "completed", 1.0, 1.0))
    board.add(TrialResult(1, "VotingEnsemble", {}, "completed", 1.0, 1.0))
    assert board.best().iteration == 0  # a plain tie keeps the first
    board.add(TrialResult(2, "VotingEnsemble", {}, "completed", 1.0 - 1e-12, 1.0), wins_tie=True)
    assert board.best().iteration == 2 and board.ranked()[0].iteration == 2
    board.add(TrialResult(3, "VotingEnsemble", {}, "completed", 0.9, 1.0), wins_tie=True)
    assert board.best().iteration == 2  # a worse one does not


def test_members_configured_alike_share_one_featurizer_and_featurize_once(cancer_frame, monkeypatch):
    import skops.io

    from components.features.auto import AutoFeaturizer
    from components.features.native import NativeFeaturizer

    X, y = cancer_frame.drop(columns="diagnosis"), cancer_frame["diagnosis"]
    forest = {"n_estimators": 20, "max_features": "sqrt", "min_samples_leaf": 1}
    members = [
        build_pipeline("RandomForest", get_problem("classification"), forest, 0),
        build_pipeline("LogisticRegression", get_problem("classification"), {"C": 1.0, "class_weight": None}, 0),
        build_pipeline(
            "HistGradientBoosting", get_problem("classification"), {"max_iter": 30}, 0
        ),  # dense features, from the forest's sparse ones
        build_pipeline("ExtremeRandomTrees", get_problem("classification"), forest, 0),
        build_pipeline("LightGBM", get_problem("classification"), {"n_estimators": 30}, 0),
        build_pipeline("CatBoost", get_problem("classification"), {"n_estimators": 30}, 0),
    ]
    weights = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    pipeline = ensemble_pipeline(members, weights, "classification", list(X.columns)).fit(X, y)
    ensemble = pipeline.named_steps["model"]
    # The trees encode alike, the linear model scales numbers, LightGBM and CatBoost keep categories and missing values.
    assert ensemble.feature_groups_ == [[0, 2, 3], [1], [4, 5]]
    shared = ensemble.members_[0].named_steps["featurize"]
    assert (
        ensemble.members_[2].named_steps["featurize"] is shared
        and ensemble.members_[3].named_steps["featurize"] is shared
    )
    assert ensemble.members_[5].named_steps["featurize"] is ensemble.members_[4].named_steps["featurize"]
    expected = sum(w / 7.0 * clone(m).fit(X, y).predict_proba(X) for m, w in zip(members, weights))
    assert np.allclose(pipeline.predict_proba(X), expected)
    calls = []
    for featurizer in (AutoFeaturizer, NativeFeaturizer):
        monkeypatch.setattr(
            featurizer,
            "transform",
            lambda self, frame, original=featurizer.transform: calls.append(type(self)) or original(self, frame),
        )
    loaded = skops.io.loads(skops.io.dumps(pipeline), trusted=trusted_types_for(pipeline))
    assert np.allclose(loaded.predict_proba(X), expected)
    assert sorted(c.__name__ for c in calls) == [
        "AutoFeaturizer",
        "AutoFeaturizer",
        "NativeFeaturizer",
    ]  # once per group, after a round trip too


def test_a_member_that_needs_dense_features_gets_them_from_the_shared_sparse_ones(mixed_frame):
    from scipy import sparse

    X, y = mixed_frame.drop(columns="label"), mixed_frame["label"]
    members = [
        build_pipeline(
            "RandomForest",
            get_problem("classification"),
            {"n_estimators": 20, "max_features": "sqrt", "min_samples_leaf": 1},
            0,
        ),
        build_pipeline("HistGradientBoosting", get_problem("classification"), {"max_iter": 30}, 0),
    ]
    pipeline = ensemble_pipeline(members, [1.0, 1.0], "classification", list(X.columns)).fit(X, y)
    ensemble = pipeline.named_steps["model"]
    assert ensemble.feature_groups_ == [[0, 1]] and sparse.issparse(
        ensemble.members_[0].named_steps["featurize"].transform(X)
    )
    expected = sum(0.5 * clone(m).fit(X, y).predict_proba(X) for m in members)
    assert np.allclose(pipeline.predict_proba(X), expected)
    assert np.allclose(
        ensemble.members_[1].predict_proba(X), clone(members[1]).fit(X, y).predict_proba(X)
    )  # still a whole pipeline
