"""Orchestration overhead of jido's sweep against bare Dask futures driven by Optuna ask/tell.

Both sides run the same trials (a featurizer fit plus a fixed ~50 ms fit, see
benchmarks/sleepy.py) on the same 2-worker LocalCluster: jido through its
run-trials task (progress table, MLflow nested runs, Prefect progress
artifact), bare as futures with an in-memory Optuna study and nothing else.

Both run in turn, ``--repeats`` times: on a shared 2-core machine one bare run
of the same trials took anywhere from 8.5 to 13.7 s, so one pair can mislead.

Run: .venv/bin/python -m benchmarks.sweep_overhead [--trials 200] [--repeats 3] [--also-unlined]
Prints each pair's times, then the median of the pairs' ratios last. With
``--also-unlined`` each pair also times jido's sweep without lining short
trials up on the workers (see tasks.sweep.lining.lines_up), in the same run.
A pair counts only when both sides completed every trial: a side whose trials
failed (in milliseconds) or never ran is reported, left out of the median, and
makes the run exit non-zero. Goal (issue 3): the ratio printed last <= 1.05.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from benchmarks._harness import scratch_environment, time_jido_sweep
from components.problems import get_problem


def bare(client, data, metric, n_trials: int, seed: int) -> tuple[float, list]:
    """Optuna ask/tell feeding bare futures, one in flight on each of the two workers.

    Each trial goes to the worker the last one freed, as jido places them:
    left to the scheduler, both sometimes queued on one worker while the other
    idled, and a bare run took 14 s instead of 9.
    """
    from distributed import as_completed

    from components.experiment.trial import run_trial
    from components.search.sampler import TrialPlanner, portfolio_subspaces

    problem = get_problem("classification")
    planner = TrialPlanner(portfolio_subspaces(["FixedTime"], problem), problem, True, seed, "random")
    X, y, plan = client.scatter([data.X, data.y, data.plan], broadcast=True, hash=False)
    started = time.perf_counter()
    futures = as_completed()
    on: dict[str, str] = {}  # future key -> worker

    def start(iteration: int, worker: str) -> None:
        future = client.submit(
            run_trial, planner.ask(iteration), X, y, plan, problem, metric, seed, workers=[worker], pure=False
        )
        on[future.key] = worker
        futures.add(future)

    for i, worker in enumerate(sorted(client.scheduler_info()["workers"])[:2]):
        start(i, worker)
    n_started = 2
    results = []
    for future in futures:
        results.append(future.result())
        planner.tell(results[-1])
        if n_started < n_trials:
            start(n_started, on.pop(future.key))
            n_started += 1
    return time.perf_counter() - started, results


def incomplete(side: str, results: list, n_trials: int) -> str | None:
    """Why a side's sweep does not count (not every trial completed), or None when it does."""
    completed = sum(r.status == "completed" for r in results)
    if completed == n_trials:
        return None
    errors = sorted({(r.error or r.status).splitlines()[0] for r in results if r.status != "completed"})
    return f"{side}: {completed} of {n_trials} trials completed ({'; '.join(errors[:3]) or 'the others never ran'})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--also-unlined", action="store_true", help="also time each pair's jido sweep without lining trials up"
    )
    args = parser.parse_args()
    scratch_environment("jido-overhead-")

    from distributed import Client, LocalCluster

    from benchmarks.sleepy import RegisterFixedTime, register
    from components.evaluate.metrics import get_metric
    from components.features.columns import profile_table
    from tasks.types import ExperimentData

    register()
    rng = np.random.default_rng(args.seed)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["x", "y", "z"], 300)})
    y = pd.Series(rng.choice(["no", "yes"], 300))
    data = ExperimentData(
        X,
        y,
        get_problem("classification").plan_split(y, args.seed, validation_size=0.25),
        "bench",
        tuple(profile_table(X)),
    )
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(RegisterFixedTime())
        # Both sides warm first: the workers' imports, and Prefect's temporary API, whose start-up
        # (~5 s of CPU in a process of its own) otherwise overlaps the first timed sweep.
        bare(client, data, get_metric("AUC_weighted"), 10, args.seed)
        time_jido_sweep(cluster.scheduler_address, data, "y", ["FixedTime"], 10, 2, args.seed)
        ratios, unlined, invalid = [], [], []
        for repeat in range(args.repeats):
            bare_s, bare_results = bare(client, data, get_metric("AUC_weighted"), args.trials, args.seed)
            jido_s, jido_results = time_jido_sweep(
                cluster.scheduler_address, data, "y", ["FixedTime"], args.trials, 2, args.seed
            )
            line = (
                f"pair {repeat + 1}: {args.trials} trials of ~50 ms on 2 workers "
                f"(ideal {args.trials * 0.05 / 2:.1f} s): "
                f"bare {bare_s:.2f} s, jido {jido_s:.2f} s"
            )
            why = [
                w
                for w in (incomplete("bare", bare_results, args.trials), incomplete("jido", jido_results, args.trials))
                if w
            ]
            if args.also_unlined:
                unlined_s, unlined_results = time_unlined(cluster.scheduler_address, data, args.trials, args.seed)
                why += [w for w in [incomplete("jido without lining up", unlined_results, args.trials)] if w]
                line += f", jido without lining up {unlined_s:.2f} s ({unlined_s / bare_s:.3f})"
            if why:
                invalid.append(repeat + 1)
                print(f"{line}: not counted, {'; '.join(why)}", flush=True)
                continue
            ratios.append(jido_s / bare_s)
            if args.also_unlined:
                unlined.append(unlined_s / bare_s)
            print(f"{line}, ratio {ratios[-1]:.3f}", flush=True)
    if not ratios:
        raise SystemExit(f"no valid pair: every pair had a side whose trials did not all complete (pairs {invalid})")
    if unlined:
        print(f"without lining trials up on the workers, median ratio: {float(np.median(unlined)):.3f}")
    print(f"jido/bare wall-time ratio, median of {len(ratios)} valid pairs: {float(np.median(ratios)):.3f}")
    if invalid:
        raise SystemExit(1)


def time_unlined(address: str, data, n_trials: int, seed: int) -> tuple[float, list]:
    """jido's sweep with lining up switched off (see tasks.sweep.lining.lines_up), for what it saves measured side by
    side."""
    import tasks.sweep.lining

    saved = tasks.sweep.lining.LINE_UP_BELOW_S
    tasks.sweep.lining.LINE_UP_BELOW_S = 0.0
    try:
        return time_jido_sweep(address, data, "y", ["FixedTime"], n_trials, 2, seed)
    finally:
        tasks.sweep.lining.LINE_UP_BELOW_S = saved


if __name__ == "__main__":
    main()
