"""Online scoring: a request's JSON rows, checked against the model's contract, scored all or none."""

from __future__ import annotations

import pandas as pd

from components.contract.validate import JSON_SCALARS, keeps_contract, row_reasons, table_problems
from components.errors import InputProblems, at_most
from components.features.records import Records, takes_records
from components.scoring.bundle import ModelBundle

# A real-time request scores at most this many rows; larger inputs belong to batch scoring.
MAX_REQUEST_ROWS = 10_000
# Requests of at most this many clean rows are featurized as records, without pandas (components/features/records.py).
# See benchmarks/serve_latency.py for what that saves.
RECORDS_AT_MOST = 256
# Problems listed in one answer at most.
_PROBLEMS_SHOWN = 20


def records_frame(rows: object) -> pd.DataFrame:
    """The table of a request's JSON rows: a list of objects mapping column to a scalar value.

    Raises:
        InputProblems: not a non-empty list of such objects, or more than ``MAX_REQUEST_ROWS``.
    """
    if not isinstance(rows, list):
        raise InputProblems([f"rows must be a JSON list of objects (column: value), got {type(rows).__name__}"])
    if not rows:
        raise InputProblems(["no rows given; send at least one object (column: value)"])
    if len(rows) > MAX_REQUEST_ROWS:
        raise InputProblems(
            [
                f"{len(rows)} rows in one request, more than {MAX_REQUEST_ROWS:,}; send fewer, or use batch scoring "
                "(jido score)"
            ]
        )
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"row {i} is {type(row).__name__}, not an object (column: value)")
            continue
        nested = [str(k) for k, v in row.items() if not isinstance(v, JSON_SCALARS)]
        if nested:
            problems.append(
                f"row {i}: column(s) {', '.join(nested)} hold a list or an object; give one value per column"
            )
    if problems:
        raise InputProblems(at_most(problems, _PROBLEMS_SHOWN))
    frame = pd.DataFrame.from_records(rows)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def score_records(model: ModelBundle, rows: object) -> list[dict]:
    """Predictions for JSON rows, checked against the data contract: all of them, or none.

    Returns:
        Per row what the task type answers: ``{"prediction": ...}``, plus ``"probabilities": {class: p}`` for a
            classifier.

    Raises:
        InputProblems: the rows are malformed, miss columns, or any row breaks the contract (named by its index).
    """
    pipeline, contract = model.pipeline, model.contract
    needed = model.required_columns()
    if (
        isinstance(rows, list)
        and 0 < len(rows) <= RECORDS_AT_MOST
        and keeps_contract(rows, contract)
        and takes_records(pipeline)
    ):
        prediction = model.problem.predict(pipeline, Records(rows, needed))
    else:
        frame = records_frame(rows)
        problems = table_problems(frame, contract)
        if not problems:
            reasons = row_reasons(frame, contract)
            problems = [f"row {i}: {reason}" for i, reason in enumerate(reasons) if reason]
        missing = [c for c in needed if c not in frame.columns]
        if missing and not any(p.startswith("missing") for p in problems):  # a model kept without a contract
            problems.insert(0, f"missing column(s) the model was trained on: {', '.join(missing)}")
        if problems:
            raise InputProblems(at_most(problems, _PROBLEMS_SHOWN))
        prediction = model.problem.predict(
            pipeline, frame if list(frame.columns) == needed else frame[needed]
        )  # selecting costs ~1 ms a request
    return model.problem.records(prediction)
