"""The fixed cost of `jido score`: the whole command on a 100-row input, median of several runs in fresh processes.

A real model is trained first with `jido train` (the throughput benchmark's
table, 6 trials). No ``PREFECT_API_URL`` is set, as on a new user's machine,
so every run starts Prefect's temporary API. This is what the throughput
ratio of a large input pays once, and what a small scheduled scoring run
pays in full.

``--baseline-tree DIR`` also times another checkout of jido (for example a
``git worktree`` of an earlier commit) on the same model, the runs of the two
alternating, so the pair is measured side by side.

Run: .venv/bin/python -m benchmarks.score_startup [--repeats 5] [--baseline-tree DIR]   (the last line is the figure)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import scratch_environment, train_with_cli
from benchmarks.score_throughput import generate


def time_score(tree: Path, folder: str, output: str) -> float:
    """Seconds `jido score` of the checkout at ``tree`` takes on the 100-row input, from start to exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PYTHONPATH"] = str(tree)
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deployments.cli",
            "score",
            "models:/startup@champion",
            "--input",
            "small.parquet",
            "--output",
            output,
        ],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--baseline-tree", type=Path, default=None, help="another jido checkout to time beside this one"
    )
    args = parser.parse_args()
    folder = scratch_environment("jido-score-startup-")
    generate(20_000, seed=0).to_csv(f"{folder}/train.csv", index=False)
    train_with_cli(folder, "startup", f"{folder}/train.csv", "label", 6)
    generate(100, seed=1).drop(columns="label").to_parquet(f"{folder}/small.parquet", index=False)

    this_tree = Path(__file__).resolve().parents[1]
    trees = (
        {"baseline": args.baseline_tree, "this checkout": this_tree}
        if args.baseline_tree
        else {"this checkout": this_tree}
    )
    timings: dict[str, list[float]] = {name: [] for name in trees}
    for run in range(args.repeats):
        for name, tree in trees.items():
            timings[name].append(time_score(tree, folder, f"out-{run}.parquet"))
    medians = {name: statistics.median(seconds) for name, seconds in timings.items()}
    for name, seconds in timings.items():
        print(f"{name} ({trees[name]}): {', '.join(f'{s:.2f}' for s in seconds)} s; median {medians[name]:.2f} s")
    if args.baseline_tree:
        print(f"median ratio this / baseline: {medians['this checkout'] / medians['baseline']:.3f}")
    print(f"jido score of 100 rows, whole command, median: {medians['this checkout']:.2f} s")


if __name__ == "__main__":
    main()
