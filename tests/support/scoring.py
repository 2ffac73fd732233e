"""What the batch-scoring tests share: a fitted classifier and the contract of the mixed table, and Parquet row
groups."""

from __future__ import annotations

import pandas as pd

from components.contract.contract import learn_contract
from components.experiment.trial import build_pipeline
from components.features.columns import profile_table
from components.problems import get_problem

CLASSIFICATION = get_problem("classification")


def fitted_classifier(mixed_frame: pd.DataFrame):
    """A logistic regression fitted on the mixed table's label."""
    data = CLASSIFICATION.learning_data(mixed_frame, "label")
    return build_pipeline("LogisticRegression", CLASSIFICATION, {"C": 1.0, "class_weight": None}, 0).fit(data.X, data.y)


def mixed_contract(mixed_frame: pd.DataFrame):
    """The data contract of the mixed table's features."""
    X = mixed_frame.drop(columns="label")
    return learn_contract(X, profile_table(X))


def write_row_groups(frame: pd.DataFrame, path, rows_per_group: int) -> None:
    """``frame`` as a Parquet file of row groups of ``rows_per_group`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows_per_group)
