"""How many threads a booster may use here: what OpenMP has in this process.

jido sets that count where the boosters run: a Dask worker's share of the cores
(``OMP_NUM_THREADS`` at its spawn), the refit's cores, one thread while
serving (``threadpoolctl`` limits). LightGBM (``n_jobs=None``: every physical
core) and CatBoost (its own pool: every core) would otherwise ignore it, and
two workers of two threads each on two cores slowed a trial tenfold while
another program used the machine (benchmarks/under_load.py).
"""

from __future__ import annotations

import os

# Up to this many rows, prediction runs on one thread without asking OpenMP (asking costs ~2 ms, most of a request).
ONE_THREAD_ROWS = 1000


def openmp_threads() -> int:
    """The threads the OpenMP runtime loaded here would use now (every core when none is loaded).

    scikit-learn's OpenMP runtime is loaded by the time a family fits (its
    registry imports scikit-learn's ensembles), and it has read the worker's
    ``OMP_NUM_THREADS`` itself.
    """
    from threadpoolctl import ThreadpoolController

    found = [library.num_threads for library in ThreadpoolController().select(user_api="openmp").lib_controllers]
    return max(found, default=os.cpu_count() or 1)


def prediction_threads(n_rows: int) -> int:
    """Threads to predict ``n_rows`` rows with: one for a request's few rows, else OpenMP's count here."""
    return 1 if n_rows <= ONE_THREAD_ROWS else openmp_threads()
