import numpy as np
import pytest

from components.evaluate.metrics import METRICS, get_metric, metric_names


def test_every_azure_metric_is_registered_with_its_task():
    assert metric_names("classification") == [
        "accuracy",
        "AUC_weighted",
        "average_precision_score_weighted",
        "norm_macro_recall",
        "precision_score_weighted",
        "f1_score_weighted",
        "log_loss",
    ]
    assert metric_names("regression") == [
        "r2_score",
        "spearman_correlation",
        "normalized_root_mean_squared_error",
        "normalized_mean_absolute_error",
    ]


CLASSES = np.array(["a", "b", "c"])
Y = np.array(["a", "a", "b", "b", "c", "c"])
PRED = np.array(["a", "b", "b", "b", "c", "a"])


def test_accuracy_and_norm_macro_recall_by_hand():
    assert get_metric("accuracy").score(Y, PRED, CLASSES) == pytest.approx(4 / 6)
    # recalls: a 1/2, b 2/2, c 1/2 -> macro 2/3; chance 1/3 -> (2/3 - 1/3) / (2/3) = 0.5
    assert get_metric("norm_macro_recall").score(Y, PRED, CLASSES) == pytest.approx(0.5)


def test_weighted_precision_and_f1_by_hand():
    # precision: a 1/2, b 2/3, c 1/1; supports 2,2,2 -> mean
    assert get_metric("precision_score_weighted").score(Y, PRED, CLASSES) == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    f1 = [2 * p * r / (p + r) for p, r in [(0.5, 0.5), (2 / 3, 1.0), (1.0, 0.5)]]
    assert get_metric("f1_score_weighted").score(Y, PRED, CLASSES) == pytest.approx(np.mean(f1))


def test_auc_weighted_for_binary_equals_plain_auc():
    y = np.array(["n", "n", "p", "p"])
    proba_p = np.array([0.1, 0.6, 0.4, 0.9])
    proba = np.column_stack([1 - proba_p, proba_p])
    # pairs (neg, pos): (0.1,0.4) ok, (0.1,0.9) ok, (0.6,0.4) wrong, (0.6,0.9) ok -> 3/4
    assert get_metric("AUC_weighted").score(y, proba, np.array(["n", "p"])) == pytest.approx(0.75)


def test_log_loss_by_hand_and_lower_is_better():
    y = np.array(["a", "b"])
    proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    metric = get_metric("log_loss")
    assert metric.score(y, proba, np.array(["a", "b"])) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    assert metric.is_better(0.1, 0.2) and not metric.is_better(0.3, 0.2)


def test_normalized_errors_divide_by_the_target_range():
    y = np.array([0.0, 10.0, 20.0])
    pred = np.array([2.0, 10.0, 14.0])
    assert get_metric("normalized_mean_absolute_error").score(y, pred) == pytest.approx((2 + 0 + 6) / 3 / 20)
    assert get_metric("normalized_root_mean_squared_error").score(y, pred) == pytest.approx(np.sqrt((4 + 36) / 3) / 20)


def test_r2_and_spearman():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert get_metric("r2_score").score(y, y) == pytest.approx(1.0)
    assert get_metric("spearman_correlation").score(y, np.array([10.0, 20.0, 30.0, 35.0])) == pytest.approx(1.0)
    assert get_metric("spearman_correlation").score(y, -y) == pytest.approx(-1.0)


def test_is_better_never_prefers_nan():
    metric = get_metric("accuracy")
    assert metric.is_better(0.5, None)
    assert not metric.is_better(float("nan"), 0.1)
    assert not metric.is_better(0.5, 0.5)


def test_directions():
    lower = {name for name, m in METRICS.items() if not m.greater_is_better}
    assert lower == {"log_loss", "normalized_root_mean_squared_error", "normalized_mean_absolute_error"}
