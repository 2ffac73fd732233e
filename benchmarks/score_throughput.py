"""Batch-scoring throughput against the raw fitted pipeline, and the scoring process's peak memory.

A generated classification table (16 numeric and 4 categorical columns, a
target that depends on both) trains a real jido model with `jido train` on
20,000 rows. Then a Parquet input of `--rows` rows (default 5,000,000, in row
groups of 100,000) is scored twice, side by side:

- `jido score MODEL --input big.parquet --output scored.parquet` in its own
  process, as a user runs it: the Prefect flow, the model and its contract
  from MLflow, reading in batches, the contract check, drift, writing the
  output atomically. Its wall time counts everything from the command's start;
  its peak memory is the process's resident set, sampled every 50 ms.
- The same fitted pipeline's `predict` on the same rows already in memory
  (read before the clock starts): the raw model's speed.

Run: .venv/bin/python -m benchmarks.score_throughput [--rows 5000000] [--workers N]
(``--workers 2`` scores the input's partitions on a LocalCluster of 2 workers; ``--also-one-process``
also times ``--workers 1`` first, on the same model and input.)
Also times the same flow in this (warm) process, after a first small run has
paid for imports and Prefect's temporary API: the per-row path alone.

Prints the rates, jido's peak memory; last, the ratio of the whole command to raw.
Goal (issue 5): >= 0.8 with <= 2 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import scratch_environment, train_with_cli

N_NUMERIC, CATEGORIES = 16, {"region": 8, "plan": 4, "channel": 5, "segment": 12}


def generate(n_rows: int, seed: int):
    """``n_rows`` of the benchmark's table (a pandas frame with a ``label`` column)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns = {f"x{i}": rng.normal(size=n_rows).astype(float) for i in range(N_NUMERIC)}
    for name, n in CATEGORIES.items():
        columns[name] = np.char.add(f"{name}_", rng.integers(0, n, n_rows).astype(str))
    frame = pd.DataFrame(columns)
    signal = (
        frame["x0"]
        - 0.8 * frame["x1"]
        + 0.5 * frame["x2"] * frame["x3"]
        + (frame["plan"] == "plan_1")
        - 0.6 * (frame["region"] == "region_2")
    )
    frame["label"] = np.where(signal + rng.normal(scale=0.7, size=n_rows) > 0.2, "yes", "no")
    return frame


def peak_rss_of(
    command: list[str], env: dict[str, str], cwd: str
) -> tuple[float, float, float, subprocess.CompletedProcess]:
    """Runs ``command``; returns its wall seconds, its peak resident memory and that of it with its child processes
    (Dask workers it started) together, in bytes, sampled every 50 ms."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak = peak_tree = 0
    while process.poll() is None:
        try:
            own = watched.memory_info().rss
            children = 0
            for child in watched.children(recursive=True):
                try:
                    children += child.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            peak, peak_tree = max(peak, own), max(peak_tree, own + children)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate()
    return (
        time.perf_counter() - started,
        peak,
        peak_tree,
        subprocess.CompletedProcess(command, process.returncode, stdout, stderr),
    )


def write_input(big: Path, n_rows: int) -> Path:
    """The input to score: ``n_rows`` generated rows in row groups of 100,000."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    chunk = 500_000
    schema = pa.Schema.from_pandas(generate(10, seed=1).drop(columns="label"), preserve_index=False)
    with pq.ParquetWriter(big, schema) as writer:
        for start in range(0, n_rows, chunk):
            part = generate(min(chunk, n_rows - start), seed=start + 1).drop(columns="label")
            writer.write_table(pa.Table.from_pandas(part, preserve_index=False), row_group_size=100_000)
    size = big.stat().st_size / 2**20
    print(f"input: {n_rows:,} rows x {N_NUMERIC + len(CATEGORIES)} columns, {size:.0f} MiB of Parquet", flush=True)
    return big


def time_command(
    big: Path, workers: int | None, env: dict[str, str], folder: str, n_rows: int
) -> tuple[float, int, int]:
    """`jido score` of `big` in a process of its own: its seconds, and its peak memory, alone and with its workers."""
    import pyarrow.parquet as pq

    command = [sys.executable, "-m", "deployments.cli", "score", "models:/throughput@champion", "--input", str(big)]
    command += ["--output", "scored.parquet", *(["--workers", str(workers)] if workers else [])]
    seconds, peak, peak_tree, scored = peak_rss_of(command, env, folder)
    if scored.returncode:
        raise SystemExit(scored.stderr[-3000:])
    print(scored.stdout.strip().splitlines()[-1], flush=True)
    n_out = pq.ParquetFile(Path(folder) / "scored.parquet").metadata.num_rows
    assert n_out == n_rows, f"{n_out} rows written of {n_rows}"
    return seconds, peak, peak_tree


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--iterations", type=int, default=6, help="trials of the training experiment")
    parser.add_argument(
        "--workers", type=int, default=None, help="jido score --workers (default: jido chooses; 1 = one process)"
    )
    parser.add_argument(
        "--also-one-process",
        action="store_true",
        help="with --workers N, also time `jido score --workers 1` first, on the same model and input",
    )
    args = parser.parse_args()
    folder = scratch_environment("jido-score-throughput-")

    import pyarrow.parquet as pq

    generate(20_000, seed=0).to_csv(f"{folder}/train.csv", index=False)
    train_with_cli(folder, "throughput", f"{folder}/train.csv", "label", args.iterations)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    big = write_input(Path(folder) / "big.parquet", args.rows)
    runs = {}
    for workers in ([1] if args.also_one_process and args.workers != 1 else []) + [args.workers]:
        runs[workers or "auto"] = time_command(big, workers, env, folder, args.rows)

    # The same flow in a warm process (imports done, Prefect's API started by a first small run): the per-row path
    # without the command's fixed start-up, which does not grow with the input.
    from flows.score import score

    pq.write_table(pq.ParquetFile(big).read_row_group(0).slice(0, 100), Path(folder) / "small.parquet")
    score(
        "models:/throughput@champion", str(Path(folder) / "small.parquet"), str(Path(folder) / "small-scored.parquet")
    )
    started = time.perf_counter()
    score("models:/throughput@champion", str(big), str(Path(folder) / "warm-scored.parquet"), workers=args.workers)
    warm_seconds = time.perf_counter() - started

    from components.registry.models import load_pipeline, resolve_model

    pipeline = load_pipeline(
        resolve_model("models:/throughput@champion", os.environ["MLFLOW_TRACKING_URI"]),
        os.environ["MLFLOW_TRACKING_URI"],
    )
    X = pq.read_table(big).to_pandas()
    started = time.perf_counter()
    pipeline.predict(X)
    raw_seconds = time.perf_counter() - started

    raw_rate = args.rows / raw_seconds
    print(f"model: {type(pipeline[-1]).__name__}; this machine has {os.cpu_count()} cores")
    for workers, (seconds, peak, peak_tree) in runs.items():
        print(
            f"jido score --workers {workers} (whole command): {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s "
            f"(ratio to raw {raw_seconds / seconds:.3f}), peak memory {peak / 2**30:.2f} GiB (with its Dask workers "
            f"{peak_tree / 2**30:.2f} GiB)"
        )
    jido_rate, warm_rate = args.rows / runs[args.workers or "auto"][0], args.rows / warm_seconds
    print(
        f"jido-score flow in a warm process: {warm_seconds:.1f} s, {warm_rate:,.0f} rows/s (ratio to raw "
        f"{warm_rate / raw_rate:.3f})"
    )
    print(f"raw pipeline.predict in memory: {raw_seconds:.1f} s, {raw_rate:,.0f} rows/s")
    print(f"ratio (whole command / raw) {jido_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
