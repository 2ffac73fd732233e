"""jido's Dask clusters: local workers (CPU and GPU), their thread settings, and their end."""

from __future__ import annotations

import logging
import os
import time

import pytest
from distributed import Client, LocalCluster

from components.spec import build_spec
from tasks.cluster import local_workers, spawn_environment, threads_on_this_machine, visible_gpus
from tasks.sweep.placement import cluster_gpus
from tasks.trials import dask_client
from tests.support.workers import hold, where


def test_local_workers_pin_their_gpus_and_share_only_when_asked():
    workers = local_workers(2, ["0", "1", "2", "3"], 1)
    assert sorted(workers) == ["cpu-0", "cpu-1", "gpu-0", "gpu-1", "gpu-2", "gpu-3"]
    assert workers["gpu-2"]["options"]["env"] == {"CUDA_VISIBLE_DEVICES": "2"}
    assert workers["gpu-2"]["options"]["resources"] == {"GPU": 1} and workers["gpu-2"]["options"]["nthreads"] == 1
    assert "resources" not in workers["cpu-0"]["options"]
    assert workers["cpu-0"]["options"]["env"] == {"CUDA_VISIBLE_DEVICES": ""}
    pairs = local_workers(0, ["0", "1", "2", "3", "4"], 2)  # the fifth GPU cannot hold a 2-GPU trial
    assert {name: spec["options"]["env"]["CUDA_VISIBLE_DEVICES"] for name, spec in pairs.items()} == {
        "gpu-0-1": "0,1",
        "gpu-2-3": "2,3",
    }
    assert local_workers(0, ["0"], 0.5)["gpu-0"]["options"]["nthreads"] == 2


@pytest.mark.parametrize("value, expected", [("0,2", ["0", "2"]), ("", []), ("-1", []), (" 1 ", ["1"])])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, value, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert visible_gpus() == expected


def test_dask_client_starts_gpu_workers_for_the_gpus_it_sees(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "fake-x,fake-y")
    base = {
        "name": "g",
        "task": "classification",
        "training_data": "t.csv",
        "target_column": "y",
        "compute": {"n_workers": 1},
    }
    with dask_client(build_spec({**base, "compute": {"n_workers": 1, "gpus_per_trial": 1}})) as client:
        client.wait_for_workers(3)
        assert cluster_gpus(client) == 2
        seen = {client.submit(where, resources={"GPU": 1}, pure=False, key=f"w{i}").result()[1] for i in range(8)}
        assert seen <= {"fake-x", "fake-y"} and seen
    with dask_client(build_spec(base)) as client:  # no GPU asked for: plain CPU workers
        assert cluster_gpus(client) == 0


def _worker_settings() -> dict[str, str | None]:
    import torch

    return {
        "threads": str(torch.get_num_threads()),
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "malloc": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def test_local_workers_share_the_cores_and_keep_the_default_allocator(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as a Dask cluster started earlier in this process leaves it
    spec = build_spec(
        {
            "name": "w",
            "task": "classification",
            "training_data": "x.csv",
            "target_column": "y",
            "compute": {"n_workers": 1},
        }
    )
    with dask_client(spec) as client:
        seen = client.submit(_worker_settings, pure=False).result()
    assert spawn_environment(1)["OMP_NUM_THREADS"] == str(os.cpu_count())
    assert seen == {"threads": str(os.cpu_count()), "omp": str(os.cpu_count()), "malloc": None, "gpus": ""}


class _Messages(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.seen.append(f"{record.name}: {record.getMessage()}")


def test_a_local_cluster_ends_at_once_without_restarting_its_workers(monkeypatch):
    """A result still held and a trial still running when the work ends: both workers end, none is started again."""
    import psutil
    from distributed import Nanny

    started = []  # every worker process a nanny starts, the first ones included
    instantiate = Nanny.instantiate

    async def counted(self):
        started.append(self.name)
        return await instantiate(self)

    monkeypatch.setattr(Nanny, "instantiate", counted)
    messages = _Messages()
    loggers = [logging.getLogger(name) for name in ("distributed.nanny", "distributed.scheduler")]
    for logger in loggers:
        logger.addHandler(messages)
    spec = build_spec(
        {
            "name": "e",
            "task": "classification",
            "training_data": "x.csv",
            "target_column": "y",
            "compute": {"n_workers": 2},
        }
    )
    try:
        with dask_client(spec) as client:
            client.wait_for_workers(2)
            held = client.submit(hold, 0.01, pure=False)
            held.result()
            running = client.submit(hold, 30, pure=False)
            while not any(running.key in keys for keys in client.processing().values()):
                time.sleep(0.05)
            workers = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
            ended = time.perf_counter()
        took = time.perf_counter() - ended
    finally:
        for logger in loggers:
            logger.removeHandler(messages)
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert sorted(started) == [0, 1]  # each worker started once: none restarted when its process ended
    assert messages.seen == []  # no result lost, no task failed for its worker's end, no warning of the kill
    assert took < 5  # not the 30 s trial's length, nor a graceful close's wait


def test_a_local_cluster_keeps_a_restarted_worker_when_the_lost_worker_timer_fires_meanwhile():
    """A worker is still starting again when distributed's lost-worker timer for it fires: the cluster keeps it.

    The timer (15 s by default) is set to fire 0.2 s after the restart here. In the
    test runs it was a timer left by an earlier restart of the same worker that fired
    while a later restart was under way, and the cluster lost that worker for good.
    """
    import dask

    spec = build_spec(
        {
            "name": "e",
            "task": "classification",
            "training_data": "x.csv",
            "target_column": "y",
            "compute": {"n_workers": 1},
        }
    )
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0.2s"}), dask_client(spec) as client:
        (first,) = client.nthreads()
        client.restart_workers([first], timeout=30)
        time.sleep(1)  # well past the timer
        assert client.submit(where, pure=False).result(timeout=30)[0] == 0  # the restarted worker, under its name
        assert list(client.nthreads()) != [first] and len(client.nthreads()) == 1


def test_threads_on_this_machine_count_its_workers_on_any_of_its_addresses(two_workers):
    assert threads_on_this_machine(two_workers) == 2  # on the loopback address
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=3, host="0.0.0.0", dashboard_address=":0", silence_logs=logging.ERROR
        ) as cluster,
        Client(cluster) as client,
    ):
        assert threads_on_this_machine(client) == 3  # on the machine's own address
