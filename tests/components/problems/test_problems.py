"""The contract every registered Problem keeps, run over each one (as tests/components/models/test_models.py runs over
every family).

A new task type adds its sample here: a table it learns, and a target it must refuse. The suite then holds it to
what the rest of jido relies on: its metrics, its checks, its splits, what a trial hands back, what scoring writes.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import get_args

import numpy as np
import orjson
import pandas as pd
import pytest

from components.contract.contract import DataContract
from components.errors import JidoError
from components.evaluate.metrics import METRICS, get_metric
from components.experiment.trial import build_pipeline
from components.features.columns import profile_table
from components.models import family_names, get_family
from components.problems import PROBLEMS, Problem, TaskType, get_problem
from components.spec import build_spec
from tests.conftest import make_mixed_frame


def _classification() -> tuple[pd.DataFrame, str, pd.DataFrame]:
    frame = make_mixed_frame()
    return frame, "label", frame.assign(label="yes")  # a single class cannot be learned


def _regression() -> tuple[pd.DataFrame, str, pd.DataFrame]:
    frame = make_mixed_frame()
    frame["spend"] = frame["amount"].fillna(50.0) * 3 + (frame["colour"] == "red") * 20
    return frame.drop(columns="label"), "spend", frame.drop(columns="label").assign(spend="lots")  # words, not numbers


# Per task type: a table it learns, its target column, and a table whose target it must refuse.
SAMPLES: dict[str, Callable[[], tuple[pd.DataFrame, str, pd.DataFrame]]] = {
    "classification": _classification,
    "regression": _regression,
}

problems = pytest.mark.parametrize("problem", list(PROBLEMS.values()), ids=list(PROBLEMS))


def test_the_spec_offers_exactly_the_registered_task_types():
    assert set(get_args(TaskType)) == set(PROBLEMS)
    assert set(SAMPLES) == set(PROBLEMS), "each task type needs a sample in this suite"
    for name, problem in PROBLEMS.items():
        assert problem.name == name and get_problem(name) is problem


@problems
def test_a_problem_allows_the_metrics_that_name_it_and_defaults_to_one(problem: Problem):
    allowed = problem.metric_names()
    assert allowed and problem.default_metric in allowed
    assert allowed == [name for name, metric in METRICS.items() if problem.name in metric.tasks]
    _, target, _ = SAMPLES[problem.name]()
    spec = build_spec({"name": "p", "task": problem.name, "training_data": "t.csv", "target_column": target})
    assert spec.problem() is problem and spec.metric_name() == problem.default_metric
    other = next(name for name in METRICS if name not in allowed)
    with pytest.raises(JidoError, match=f"primary_metric '{other}' does not fit task '{problem.name}'"):
        build_spec(
            {
                "name": "p",
                "task": problem.name,
                "training_data": "t.csv",
                "target_column": target,
                "primary_metric": other,
            }
        )


@problems
def test_a_problem_is_stateless_and_travels_to_workers(problem: Problem):
    travelled = pickle.loads(pickle.dumps(problem))
    assert type(travelled) is type(problem) and vars(travelled) == vars(problem) == {}


@problems
def test_a_problem_reads_its_data_and_refuses_a_target_it_cannot_learn(problem: Problem):
    frame, target, bad = SAMPLES[problem.name]()
    data = problem.learning_data(frame, target)
    assert len(data.X) == len(data.y) == len(frame) and target not in data.X.columns
    assert (data.classes is not None) == problem.has_classes
    with pytest.raises(JidoError, match=repr(target)):
        problem.learning_data(bad, target)


@problems
@pytest.mark.parametrize(
    "choice", [{"validation_size": 0.25}, {"n_cross_validations": 3}, {}, {"n_validation_rows": 40}]
)
def test_a_problems_folds_never_validate_on_rows_they_train_on(problem: Problem, choice):
    frame, target, _ = SAMPLES[problem.name]()
    data = problem.learning_data(frame, target)
    plan = problem.plan_split(data.y, 0, **choice)
    assert plan.folds and all(not set(train) & set(valid) and len(valid) for train, valid in plan.folds)
    assert len(plan.validation_rows()) == sum(plan.fold_sizes())
    if plan.method == "cross_validation":
        assert sorted(plan.validation_rows()) == list(range(len(data.y)))  # every row validated once
    again = problem.plan_split(data.y, 0, **choice)  # the same seed, the same folds
    assert all(np.array_equal(a, b) for fold, other in zip(plan.folds, again.folds) for a, b in zip(fold, other))


@problems
def test_every_family_of_a_problem_hands_back_what_its_metrics_ensembles_and_scoring_take(problem: Problem):
    frame, target, _ = SAMPLES[problem.name]()
    data = problem.learning_data(frame, target)
    ((train, valid),) = problem.plan_split(data.y, 0, validation_size=0.25).folds
    classes = problem.classes(data.y)
    y_valid = data.y.iloc[valid].to_numpy()
    names = [name for name in family_names(problem.name) if not get_family(name).needs_text]
    assert names, f"no model family serves {problem.name}"
    for name in names:
        family = get_family(name)
        params = {
            **family.defaults(problem),
            **({"n_estimators": 20} if "n_estimators" in family.defaults(problem) else {}),
        }
        pipeline = build_pipeline(name, problem, params, 0).fit(data.X.iloc[train], data.y.iloc[train])
        predictions = problem.validation_predictions(pipeline, data.X.iloc[valid], classes)
        assert len(predictions) == len(valid), name
        for metric_name in problem.metric_names():
            metric = get_metric(metric_name)
            if metric.needs_proba and predictions.ndim != 2:
                with pytest.raises(ValueError, match="needs class probabilities"):
                    problem.score(metric, y_valid, predictions, classes)
                continue
            assert np.isfinite(problem.score(metric, y_valid, predictions, classes)), (name, metric_name)
            assert np.isfinite(problem.tiebreak(metric, y_valid, predictions, classes))
        if problem.averages(predictions):  # what an ensemble averages scores like a trial's own predictions
            metric = get_metric(problem.default_metric)
            assert problem.score(metric, y_valid, (predictions + predictions) / 2, classes) == pytest.approx(
                problem.score(metric, y_valid, predictions, classes)
            )
        _scoring_writes_a_prediction_per_row(problem, pipeline, data.X.iloc[valid])


def _scoring_writes_a_prediction_per_row(problem: Problem, pipeline, X: pd.DataFrame) -> None:
    prediction = problem.predict(pipeline, X)
    columns = problem.output_columns(prediction, X.index)
    assert "prediction" in columns and all(len(values) == len(X) for values in columns.values())
    records = problem.records(prediction)
    assert len(records) == len(X) and all("prediction" in record for record in records)
    orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY)  # what jido serve answers
    if problem.has_classes:
        assert {f"probability_{c}" for c in pipeline.classes_} <= set(columns)
        assert all(set(record["probabilities"]) == {str(c) for c in pipeline.classes_} for record in records)


@problems
def test_a_problems_contract_covers_its_feature_columns(problem: Problem):
    frame, target, _ = SAMPLES[problem.name]()
    data = problem.learning_data(frame, target)
    contract = problem.learn_contract(data.X, tuple(profile_table(data.X)))
    assert isinstance(contract, DataContract) and contract.column_names() == [str(c) for c in data.X.columns]
    assert DataContract.from_json(contract.to_json()) == contract
