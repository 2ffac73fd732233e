"""How long `jido --help` takes, median of several runs in fresh processes.

Run: .venv/bin/python benchmarks/cli_startup.py   (goal: under 2 s; the last line is the figure)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def main(repeats: int = 7) -> None:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "deployments.cli", "--help"], check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    print(f"runs: {', '.join(f'{t:.3f}' for t in timings)} s")
    print(f"jido --help median: {statistics.median(timings):.3f} s")


if __name__ == "__main__":
    main()
