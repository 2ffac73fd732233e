"""Feature importance of a fitted pipeline, in the user's own column names.

Permutation importance (scikit-learn's ``permutation_importance``) on the raw
table: a column's importance is how much the primary metric drops when that
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
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from components.ensemble import tiebreak
from components.metrics import Metric
from components.trial import class_labels, score_predictions, validation_predictions

# Enough rows and shuffles for a stable ranking at a few seconds' cost (each shuffle is one prediction of EXPLAIN_ROWS rows per column).
EXPLAIN_ROWS = 1000
EXPLAIN_REPEATS = 3
_MIN_ROWS = 200


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
    def from_json(cls, text: str) -> "Explanation":
        return cls(**json.loads(text))

    def rows(self, limit: int | None = None) -> list[dict[str, str]]:
        """Table rows, most important first: column, importance (± std) and each class's importance."""
        rows = []
        for column in list(self.overall)[:limit]:
            row = {"column": column, f"importance ({self.metric_name} drop)": f"{self.overall[column]:.4f} ± {self.overall_std[column]:.4f}"}
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
            f"{self.method} on {self.n_rows} {self.rows_from}, {self.n_repeats} shuffles per column: how much {self.metric_name} drops "
            "when the column is shuffled" + (" and, per class, how much that class's probability drops on its own rows." if self.per_class else ".")
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


def explain_pipeline(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
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
        time_budget_s: Seconds it may take, about: one prediction is timed,
            and fewer shuffles (down to one), then fewer rows (down to
            ``_MIN_ROWS``), are used when columns x shuffles predictions would
            take longer. The explanation says what was used.
    """
    X, y = _sample(X, y, max_rows, seed)
    if not columns:
        return Explanation(metric.name, {}, {}, {}, len(X), n_repeats, rows_from)
    if time_budget_s is not None:
        started = time.perf_counter()
        pipeline.predict(X[columns])
        per_prediction = max(time.perf_counter() - started, 1e-4)
        predictions = time_budget_s / per_prediction  # that fit in the budget
        n_repeats = int(max(1, min(n_repeats, predictions // len(columns))))
        if len(columns) * n_repeats > predictions:  # one shuffle each is still too slow: fewer rows (cost is about linear in rows)
            keep = max(_MIN_ROWS, int(len(X) * predictions / len(columns)))
            X, y = _sample(X, y, keep, seed)
    classes = class_labels(y, metric.task)
    sign = 1.0 if metric.greater_is_better else -1.0
    with_classes = metric.task == "classification" and hasattr(pipeline, "predict_proba")
    ties_by_log_loss = with_classes and metric.name != "log_loss"  # a log loss metric is its own tie-break

    # One prediction per shuffle serves every score (permutation_importance takes a scorer returning a dict).
    def scores(estimator, X_part, y_part) -> dict[str, float]:
        predictions = validation_predictions(estimator, X_part, metric.task, classes)
        values = {"overall": sign * score_predictions(metric, np.asarray(y_part), predictions, classes)}
        if with_classes:
            truth = np.asarray(y_part)
            for j, label in enumerate(classes):
                mine = truth == label
                values[f"class:{label}"] = float(predictions[mine, j].mean()) if mine.any() else 0.0
            if ties_by_log_loss:
                values["tiebreak"] = tiebreak(metric, truth, predictions, classes)  # minus the log loss: its drop is the loss's rise
        return values

    X_used = X[columns]
    found = permutation_importance(pipeline, X_used, y, scoring=scores, n_repeats=n_repeats, random_state=seed, n_jobs=1)
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
    """A horizontal bar chart (PNG) of the overall importance, most important on top, with the spread of the shuffles."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = list(explanation.overall)[:limit][::-1]
    figure, axes = plt.subplots(figsize=(7, 0.35 * len(columns) + 1.2))
    if explanation.log_loss_rise and not any(explanation.overall.values()):  # the metric moved for no column: show what did
        axes.barh(columns, [explanation.log_loss_rise[c] for c in columns], color="#3b7dd8")
        axes.set_xlabel(f"rise in log loss when shuffled ({explanation.metric_name} did not drop for any column)")
    else:
        axes.barh(columns, [explanation.overall[c] for c in columns], xerr=[explanation.overall_std[c] for c in columns], color="#3b7dd8")
        axes.set_xlabel(f"drop in {explanation.metric_name} when shuffled")
    axes.set_title(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
