"""Each early termination policy against curves whose outcome is computed by hand."""

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from components.search.termination import BanditPolicy, MedianStoppingPolicy, TruncationSelectionPolicy, make_policy


def _study(direction: str, curves: list[dict[int, float]]) -> optuna.Study:
    study = optuna.create_study(direction=direction)
    for curve in curves:
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=curve[max(curve)], intermediate_values=curve))
    return study


def _judge(policy, study, curve: dict[int, float]) -> bool:
    return policy.prune(study, create_trial(state=TrialState.RUNNING, intermediate_values=curve))


def test_bandit_slack_factor_maximize():
    # best at step 2 is 0.9; slack 0.2 -> limit 0.9 / 1.2 = 0.75
    study = _study("maximize", [{1: 0.5, 2: 0.9}, {1: 0.6, 2: 0.7}])
    policy = BanditPolicy(slack_factor=0.2)
    assert _judge(policy, study, {1: 0.5, 2: 0.74})
    assert not _judge(policy, study, {1: 0.5, 2: 0.76})


def test_bandit_slack_amount_minimize():
    # best loss at step 3 is 0.30; amount 0.1 -> stop above 0.40
    study = _study("minimize", [{3: 0.30}, {3: 0.50}])
    policy = BanditPolicy(slack_amount=0.1)
    assert _judge(policy, study, {3: 0.41})
    assert not _judge(policy, study, {3: 0.39})


def test_bandit_slack_factor_minimize():
    # best 0.5 * 1.1 = 0.55
    study = _study("minimize", [{1: 0.5}])
    assert _judge(BanditPolicy(slack_factor=0.1), study, {1: 0.56})
    assert not _judge(BanditPolicy(slack_factor=0.1), study, {1: 0.54})


def test_interval_and_delay_decide_when_to_evaluate():
    study = _study("maximize", [dict.fromkeys(range(1, 11), 1.0)])
    policy = BanditPolicy(slack_factor=0.1, evaluation_interval=3, delay_evaluation=5)
    hopeless = dict.fromkeys(range(1, 11), 0.1)
    judged = {step for step in range(1, 11) if _judge(policy, study, {s: v for s, v in hopeless.items() if s <= step})}
    assert judged == {6, 9}  # steps >= 5 that are multiples of 3


def test_median_stopping_uses_running_averages():
    # running averages up to step 3: (0.2+0.4+0.6)/3 = 0.4, (0.5+0.6+0.7)/3 = 0.6, (0.9+0.9+0.9)/3 = 0.9 -> median 0.6
    study = _study("maximize", [{1: 0.2, 2: 0.4, 3: 0.6}, {1: 0.5, 2: 0.6, 3: 0.7}, {1: 0.9, 2: 0.9, 3: 0.9}])
    policy = MedianStoppingPolicy()
    assert _judge(policy, study, {1: 0.55, 2: 0.58, 3: 0.59})  # best so far 0.59 < 0.6
    assert not _judge(policy, study, {1: 0.61, 2: 0.3, 3: 0.2})  # best so far 0.61 >= 0.6


def test_median_stopping_minimize():
    study = _study("minimize", [{1: 1.0, 2: 0.6}, {1: 2.0, 2: 1.0}])  # averages 0.8 and 1.5 -> median 1.15
    assert _judge(MedianStoppingPolicy(), study, {1: 1.3, 2: 1.2})
    assert not _judge(MedianStoppingPolicy(), study, {1: 1.3, 2: 1.1})


def test_truncation_selection_cuts_the_lowest_percentage():
    # nine others plus the judged trial: 10 values, 20% -> the 2 worst are cut
    study = _study("maximize", [{1: v} for v in (0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)])
    policy = TruncationSelectionPolicy(truncation_percentage=20)
    assert _judge(policy, study, {1: 0.2})  # second worst
    assert not _judge(policy, study, {1: 0.35})  # third worst


def test_truncation_with_too_few_trials_cuts_nothing():
    study = _study("minimize", [{1: 0.1}, {1: 0.2}])
    assert not _judge(TruncationSelectionPolicy(truncation_percentage=10), study, {1: 9.9})  # floor(3 * 0.1) = 0


def test_no_comparison_without_other_trials():
    study = _study("maximize", [])
    for policy in (BanditPolicy(slack_factor=0.1), MedianStoppingPolicy(), TruncationSelectionPolicy(50)):
        assert not _judge(policy, study, {1: 0.0})


@pytest.mark.parametrize(
    "name, settings, message",
    [
        ("bandit", {}, "exactly one of slack_factor and slack_amount"),
        ("bandit", {"slack_factor": 0.1, "slack_amount": 0.1}, "exactly one"),
        ("bandit", {"slack_factor": -1}, "slack_factor must be positive"),
        ("median_stopping", {"evaluation_interval": 0}, "evaluation_interval must be at least 1"),
        ("truncation_selection", {"truncation_percentage": 100}, "1 to 99"),
        ("anneal", {}, "unknown early termination policy 'anneal'"),
    ],
)
def test_impossible_settings_are_refused(name, settings, message):
    with pytest.raises(ValueError, match=message):
        make_policy(name, **settings)


def test_optunas_pruners_come_from_optuna():
    assert isinstance(make_policy("asha"), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_policy("hyperband", min_resource=2), optuna.pruners.HyperbandPruner)
