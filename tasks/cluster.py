"""Dask clusters for jido's work: trials of a sweep, partitions of a scoring run.

An existing scheduler (``compute.address``), a cluster class with its
arguments (``compute.cluster_class``), or a LocalCluster of one-thread worker
processes that jido starts and ends.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from components.errors import JidoError
from components.spec import Compute

# CPU workers see no GPU: a trial uses a GPU only when it holds one.
_CPU_WORKER_ENV = {"CUDA_VISIBLE_DEVICES": ""}

# Dask settings for a local cluster of workers with nannies, jido's own and the tests' alike.
# - A trial that kills its worker is not retried: it would die again, and the nanny has
#   already replaced the worker.
# - The cluster never closes a nanny whose worker is away. When the scheduler removes a
#   worker, a LocalCluster (any SpecCluster) closes that worker's nanny for good if,
#   lost-worker-timeout (15 s) later, no worker of its name is connected; a later restart
#   does not reset that timer. A worker restarted twice about 15 s apart (trials past their
#   timeout, or crashing) was down for the second restart when the first timer fired: its
#   nanny closed, the cluster lost the worker, and the sweep waited 300 s for a worker that
#   never came. With the nannies in this process there is no lost job to clean up, so the
#   timer is put off.
NANNY_CLUSTER_SETTINGS = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.deploy.lost-worker-timeout": "3650 days",
}


def spawn_environment(n_workers: int) -> dict[str, str]:
    """The thread settings jido's local worker processes start with.

    Each worker gets its share of the cores for OpenMP/MKL/torch threads (Dask
    would give it 1), so one trial at a time trains a deep model on every core.
    Dask's MALLOC_TRIM_THRESHOLD_ is left out: setting it turns off glibc's
    dynamic mmap threshold, so every large tensor is a fresh mmap and torch
    slows down (a BiLSTM epoch over 1,000 reviews: 10 s without it, 32 s with it).
    """
    threads = str(max(1, (os.cpu_count() or 1) // max(1, n_workers)))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}


@contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Sets (or, for None, removes) environment variables of this process, and puts them back after."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


@contextmanager
def compute_client(
    compute: Compute, n_workers: int, gpus_per_trial: float = 0, address_setting: str = "compute.address"
) -> Iterator[distributed.Client]:  # noqa: F821
    """A client of the scheduler at ``compute.address``, of a ``compute.cluster_class`` cluster, or of a LocalCluster of
    ``n_workers``.

    A local cluster adds workers that own GPUs when ``gpus_per_trial`` is set and the machine has GPUs.
    ``address_setting`` names, in the error for an unreachable scheduler, the setting the user gave the address in.
    """
    import dask
    from distributed import Client, LocalCluster, Scheduler, SpecCluster

    if compute.address:
        try:
            client = Client(compute.address, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise JidoError(
                f"{address_setting}: cannot reach the Dask scheduler at {compute.address}: {error}"
            ) from None
        with client:
            yield client
        return
    if compute.cluster_class:
        module, _, name = compute.cluster_class.rpartition(".")
        try:
            cluster_class = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise JidoError(f"compute.cluster_class: cannot load {compute.cluster_class!r}: {error}") from None
        with cluster_class(**compute.cluster_kwargs) as cluster, Client(cluster) as client:
            yield client
        return
    logging.getLogger("distributed").setLevel(logging.WARNING)
    gpu_ids = visible_gpus() if gpus_per_trial else []
    # One thread per worker: a trial that must be stopped is stopped by
    # restarting its worker, which then touches no other trial.
    # A nanny spawns its worker with this process's environment, which overrides
    # Dask's pre-spawn settings (and a cluster started earlier in this process
    # has left them here): the variables are set here while the cluster lives.
    settings = {**NANNY_CLUSTER_SETTINGS, "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
    with _environment({**spawn_environment(n_workers), "MALLOC_TRIM_THRESHOLD_": None}), dask.config.set(settings):
        if gpu_ids:
            cluster = SpecCluster(
                workers=local_workers(n_workers, gpu_ids, gpus_per_trial),
                scheduler={"cls": Scheduler, "options": {"dashboard_address": ":0", "dashboard": False}},
                silence_logs=logging.ERROR,
            )
        else:
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
                env=_CPU_WORKER_ENV,
            )
        with cluster:
            try:
                with Client(cluster) as client:
                    yield client
            finally:
                # The client goes first: the scheduler then forgets its tasks, running ones included,
                # so ending the workers loses nothing it would warn about or try to recompute.
                cluster.sync(_end_workers, cluster)


async def _end_workers(cluster) -> None:
    """Ends a local cluster's worker processes at once, trials still running included.

    A graceful close waits 4 s for a busy worker; when the work is over
    nothing on the workers is needed any more, so each is killed after 0.5 s.
    Each nanny is closed rather than told to kill its worker: a nanny that is
    not closing restarts a worker whose process ends, and the cluster's close
    then waited for that new worker to start before ending it too.
    """
    import asyncio

    from distributed import Nanny

    # Even an idle worker takes longer than 0.4 s to close, and each nanny then warns that it kills
    # its worker: that is what is meant here, so the warning is kept off the console.
    nanny_log = logging.getLogger("distributed.nanny")
    level = nanny_log.level
    nanny_log.setLevel(logging.ERROR)
    try:
        await asyncio.gather(
            *(
                worker.close(timeout=0.5, reason="jido-work-done")
                for worker in cluster.workers.values()
                if isinstance(worker, Nanny)
            )
        )
    finally:
        nanny_log.setLevel(level)


def threads_on_this_machine(client) -> int:
    """Threads of the cluster's workers that run on this machine, whose trials share its cores with this process."""
    import socket

    import psutil
    from distributed.comm import get_address_host

    here = {"localhost", socket.gethostname()} | {
        address.address for addresses in psutil.net_if_addrs().values() for address in addresses
    }
    return sum(
        n
        for worker, n in client.nthreads().items()
        if (host := get_address_host(worker)) in here or host.startswith("127.")
    )


def visible_gpus() -> list[str]:
    """The GPUs this machine gives jido: ``CUDA_VISIBLE_DEVICES`` when set, else those ``nvidia-smi`` lists."""
    if "CUDA_VISIBLE_DEVICES" in os.environ:
        return [g.strip() for g in os.environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip() and g.strip() != "-1"]
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return []
    try:
        listed = subprocess.run(
            [nvidia_smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return (
        [line.strip() for line in listed.stdout.splitlines() if line.strip().isdigit()]
        if listed.returncode == 0
        else []
    )


def local_workers(n_cpu_workers: int, gpu_ids: list[str], gpus_per_trial: float) -> dict[str, dict]:
    """Worker specs of a local cluster: CPU workers, and GPU workers that each own some GPUs.

    A GPU worker sees only its own GPUs (``CUDA_VISIBLE_DEVICES``) and
    advertises them as the resource ``GPU``; it has a thread per trial that
    fits on them, so trials share a GPU only when ``gpus_per_trial`` < 1.
    """
    from distributed import Nanny

    per_worker = max(1, math.ceil(gpus_per_trial))
    groups = [gpu_ids[i : i + per_worker] for i in range(0, len(gpu_ids) - per_worker + 1, per_worker)]
    workers = {
        f"cpu-{i}": {"cls": Nanny, "options": {"nthreads": 1, "silence_logs": logging.ERROR, "env": _CPU_WORKER_ENV}}
        for i in range(n_cpu_workers)
    }
    for group in groups:
        workers[f"gpu-{'-'.join(group)}"] = {
            "cls": Nanny,
            "options": {
                "nthreads": max(1, math.floor(len(group) / gpus_per_trial)),
                "resources": {"GPU": len(group)},
                "env": {"CUDA_VISIBLE_DEVICES": ",".join(group)},
                "silence_logs": logging.ERROR,
            },
        }
    return workers
