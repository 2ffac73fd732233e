"""Feature importance of a fitted pipeline, in the user's own column names.

Permutation importance on the raw table: a column's importance is how much the primary metric drops when that
column's values are shuffled, so one-hot, TF-IDF and date parts all count
for the column they came from, and any model (an ensemble included) can be
explained the same way. For a classifier, each class also gets its own
importance from the same shuffles: how much the model's probability of that
class drops, on average, for the rows of that class.

Columns whose shuffling leaves the primary metric where it was are ordered by
how much it raises the log loss of a classifier's probabilities. A model that
ranks its training rows perfectly (an AUC of 1.0 on them) keeps that AUC
when any one of several redundant columns is shuffled, so every drop would be
zero and the ranking would say nothing; its probabilities still move.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from components.evaluate.metrics import Metric
from components.problems import Problem

# Enough rows and shuffles for a stable ranking at a few seconds' cost (each shuffle is one prediction of EXPLAIN_ROWS
# rows per column).
EXPLAIN_ROWS = 1000
EXPLAIN_REPEATS = 3
_MIN_ROWS = 200
# Rows per prediction call when the shuffled copies of the sample are scored together.
_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Explanation:
    """Importance of each input column, overall and per class.

    Attributes:
        metric_name: The metric whose drop measures overall importance.
        overall: Column -> mean drop of the metric over the shuffles, most important first.
        overall_std: Column -> standard deviation of that drop.
        per_class: Class -> column -> mean drop of the class's probability on its own rows (classification only).
        n_rows: Rows the importance was measured on.
        n_repeats: Shuffles per column.
        rows_from: Which rows those were.
        log_loss_rise: Column -> mean rise of the log loss over the shuffles
            (classification with probabilities), which orders columns the metric ties.
    """

    metric_name: str
    overall: dict[str, float]
    overall_std: dict[str, float]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    n_rows: int = 0
    n_repeats: int = 0
    rows_from: str = ""
    method: str = "permutation importance"
    log_loss_rise: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Explanation:
        return cls(**json.loads(text))

    def rows(self, limit: int | None = None) -> list[dict[str, str]]:
        """Table rows, most important first: column, importance (± std) and each class's importance."""
        rows = []
        for column in list(self.overall)[:limit]:
            row = {
                "column": column,
                f"importance ({self.metric_name} drop)": f"{self.overall[column]:.4f} ± {self.overall_std[column]:.4f}",
            }
            if self.log_loss_rise:
                row["log loss rise"] = f"{self.log_loss_rise[column]:.4f}"
            for label, by_column in self.per_class.items():
                row[f"class {label}"] = f"{by_column[column]:.4f}"
            rows.append(row)
        return rows

    def markdown(self, title: str, limit: int = 20) -> str:
        rows = self.rows(limit)
        if not rows:
            return f"### {title}\n\nNo columns to explain."
        header = list(rows[0])
        lines = [
            f"### {title}",
            "",
            f"{self.method} on {self.n_rows} {self.rows_from}, {self.n_repeats} shuffles per column: how much "
            f"{self.metric_name} drops "
            "when the column is shuffled"
            + (" and, per class, how much that class's probability drops on its own rows." if self.per_class else ".")
            + (" Columns with the same drop are ordered by how much the log loss rises." if self.log_loss_rise else ""),
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ] + ["| " + " | ".join(row[h] for h in header) + " |" for row in rows]
        return "\n".join(lines)


def _sample(X: pd.DataFrame, y: pd.Series, max_rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
    return X.iloc[rows], y.iloc[rows]


@dataclass(frozen=True)
class _Importance:
    importances_mean: np.ndarray
    importances_std: np.ndarray


def _shuffled_drops(
    predict, X: pd.DataFrame, y: np.ndarray, scores, n_repeats: int, seed: int
) -> dict[str, np.ndarray]:
    """How much each score drops when each column of ``X`` is shuffled, per shuffle: arrays of (columns, shuffles).

    Written here rather than calling scikit-learn's ``permutation_importance``,
    which predicts once per column and shuffle: a pipeline's fixed cost per
    call (featurizing a frame, every ensemble member's input checks) then
    dominates. On modeldata/ames' 73 columns a five-member vote took 9.4 s for
    200 rows and one shuffle that way. Here the shuffled copies of the sample
    are stacked and predicted together, up to ``_BATCH_ROWS`` rows a call.
    """
    n_rows = len(X)
    baseline = scores(predict(X), y)
    drops = {key: np.zeros((X.shape[1], n_repeats)) for key in baseline}
    rng = np.random.default_rng(seed)
    jobs = [(j, r, rng.permutation(n_rows)) for j in range(X.shape[1]) for r in range(n_repeats)]
    per_call = max(1, _BATCH_ROWS // max(1, n_rows))
    for start in range(0, len(jobs), per_call):
        chunk = jobs[start : start + per_call]
        stacked = pd.concat([X] * len(chunk), ignore_index=True)
        for k, (j, _, order) in enumerate(chunk):
            stacked.iloc[k * n_rows : (k + 1) * n_rows, j] = X.iloc[order, j].to_numpy()
        predictions = predict(stacked)
        for k, (j, r, _) in enumerate(chunk):
            for key, value in scores(predictions[k * n_rows : (k + 1) * n_rows], y).items():
                drops[key][j, r] = baseline[key] - value
    return drops


def _fit_to_budget(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    columns: list[str],
    n_repeats: int,
    time_budget_s: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.Series, int]:
    """The rows and shuffles that fit in ``time_budget_s``: fewer shuffles (down to one) first, then fewer rows."""
    # Shuffled copies are predicted in large batches, so time one such batch: a call's fixed cost is not a row's.
    probe = pd.concat([X[columns]] * max(1, min(_BATCH_ROWS, 5000) // len(X)), ignore_index=True)
    started = time.perf_counter()
    pipeline.predict(probe)
    per_prediction = max((time.perf_counter() - started) * len(X) / len(probe), 1e-4)  # of the sample's rows
    predictions = time_budget_s / per_prediction  # that fit in the budget
    n_repeats = int(max(1, min(n_repeats, predictions // len(columns))))
    if len(columns) * n_repeats > predictions:  # one shuffle each is still too slow: fewer rows (cost is about linear)
        X, y = _sample(X, y, max(_MIN_ROWS, int(len(X) * predictions / len(columns))), seed)
    return X, y, n_repeats


def explain_pipeline(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    problem: Problem,
    metric: Metric,
    columns: list[str],
    rows_from: str,
    seed: int = 0,
    max_rows: int = EXPLAIN_ROWS,
    n_repeats: int = EXPLAIN_REPEATS,
    time_budget_s: float | None = None,
) -> Explanation:
    """Permutation importance of ``columns`` for a fitted pipeline, on up to ``max_rows`` rows of ``X``.

    Args:
        columns: The input columns to explain (the ones the pipeline reads).
        rows_from: Says which rows ``X`` holds, for the report ("training rows").
        time_budget_s: Seconds it may take, about: a batch of predictions is
            timed, and fewer shuffles (down to one), then fewer rows (down to
            ``_MIN_ROWS``), are used when columns x shuffles predictions would
            take longer. The explanation says what was used.
    """
    X, y = _sample(X, y, max_rows, seed)
    if not columns:
        return Explanation(metric.name, {}, {}, {}, len(X), n_repeats, rows_from)
    if time_budget_s is not None:
        X, y, n_repeats = _fit_to_budget(pipeline, X, y, columns, n_repeats, time_budget_s, seed)
    classes = problem.classes(y)
    sign = 1.0 if metric.greater_is_better else -1.0
    with_classes = problem.has_classes and hasattr(pipeline, "predict_proba")
    ties_by_log_loss = with_classes and metric.name != "log_loss"  # a log loss metric is its own tie-break

    # One prediction per shuffle serves every score.
    def scores(predictions: np.ndarray, y_part: np.ndarray) -> dict[str, float]:
        values = {"overall": sign * problem.score(metric, y_part, predictions, classes)}
        if with_classes:
            for j, label in enumerate(classes):
                mine = y_part == label
                values[f"class:{label}"] = float(predictions[mine, j].mean()) if mine.any() else 0.0
            if ties_by_log_loss:
                values["tiebreak"] = problem.tiebreak(
                    metric, y_part, predictions, classes
                )  # minus the log loss: its drop is the loss's rise
        return values

    X_used = X[columns]
    drops = _shuffled_drops(
        lambda frame: problem.validation_predictions(pipeline, frame, classes),
        X_used,
        np.asarray(y),
        scores,
        n_repeats,
        seed,
    )
    found = {key: _Importance(values.mean(axis=1), values.std(axis=1)) for key, values in drops.items()}
    overall = found["overall"]
    rise = found["tiebreak"].importances_mean if ties_by_log_loss else np.zeros(len(columns))
    order = np.lexsort((-rise, -overall.importances_mean))  # by the metric's drop, ties by the log loss's rise
    per_class = {}
    if with_classes:
        for label in classes:
            means = found[f"class:{label}"].importances_mean
            per_class[str(label)] = {columns[i]: float(means[i]) for i in order}
    return Explanation(
        metric_name=metric.name,
        overall={columns[i]: float(overall.importances_mean[i]) for i in order},
        overall_std={columns[i]: float(overall.importances_std[i]) for i in order},
        per_class=per_class,
        n_rows=len(X_used),
        n_repeats=n_repeats,
        rows_from=rows_from,
        log_loss_rise={columns[i]: float(rise[i]) for i in order} if ties_by_log_loss else {},
    )


def importance_chart(explanation: Explanation, title: str, limit: int = 20) -> bytes:
    """A horizontal bar chart (PNG) of the overall importance, most important on top, with the spread of the
    shuffles."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = list(explanation.overall)[:limit][::-1]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(columns) + 1.2))
    if explanation.log_loss_rise and not any(
        explanation.overall.values()
    ):  # the metric moved for no column: show what did
        axes.barh(columns, [explanation.log_loss_rise[c] for c in columns], color="#3b7dd8")
        axes.set_xlabel(f"rise in log loss when shuffled ({explanation.metric_name} did not drop for any column)")
    else:
        axes.barh(
            columns,
            [explanation.overall[c] for c in columns],
            xerr=[explanation.overall_std[c] for c in columns],
            color="#3b7dd8",
        )
        axes.set_xlabel(f"drop in {explanation.metric_name} when shuffled")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
