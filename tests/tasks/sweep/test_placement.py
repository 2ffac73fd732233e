"""Trial placement on real Dask clusters: CPU workers, and workers that advertise GPUs.

No GPU exists here, so the GPU workers below are given made-up GPU ids: Dask
only sees the resource they advertise, which is what placement relies on.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
from distributed import Client, Scheduler, SpecCluster

from tasks.cluster import local_workers
from tasks.sweep.placement import WorkerTable, cluster_gpus, placement
from tests.support.workers import hold, where


@pytest.fixture(scope="module")
def gpu_cluster():
    workers = local_workers(1, ["fake-a"], 1)
    with SpecCluster(
        workers=workers,
        scheduler={"cls": Scheduler, "options": {"dashboard_address": ":0", "dashboard": False}},
        silence_logs=logging.ERROR,
    ) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            yield client


def test_cpu_trials_never_take_a_gpu_worker(gpu_cluster):
    client = gpu_cluster
    options, address, _ = placement(WorkerTable(client), 0, {}, {})
    futures = [client.submit(where, key=f"trial-cpu-{i}", pure=False, **options) for i in range(6)]
    assert {f.result() for f in futures} == {("cpu-0", "")}  # and the CPU worker sees no GPU
    # A trial just sent to the CPU worker holds its one thread before the scheduler lists it.
    assert placement(WorkerTable(client), 0, {}, {"trial-cpu-next": address}) is None
    assert placement(WorkerTable(client), 0, {}, {"trial-cpu-next": "tcp://gone:1"}) is not None


def test_gpu_trialshold_their_gpu_and_do_not_share_it(gpu_cluster):
    client = gpu_cluster
    assert cluster_gpus(client) == 1
    options, _, _ = placement(WorkerTable(client), 1, {}, {})
    assert options["resources"] == {"GPU": 1}
    first = client.submit(hold, 1.5, key="trial-gpu-0", pure=False, **options)
    while not any("trial-gpu-0" in keys for keys in client.processing().values()):
        time.sleep(0.05)
    assert placement(WorkerTable(client), 1, {"trial-gpu-0": 1}, {}) is None  # its one GPU is held
    assert placement(WorkerTable(client), 0, {"trial-gpu-0": 1}, {})[0]["workers"]  # CPU trials still have their worker
    # Submitted anyway, a second GPU trial waits for the GPU instead of sharing it.
    second = client.submit(hold, 0.2, key="trial-gpu-1", pure=False, resources={"GPU": 1})
    (name_a, _, end_a), (name_b, start_b, _) = first.result(), second.result()
    assert name_a == name_b == "gpu-fake-a" and start_b >= end_a
    assert client.submit(where, resources={"GPU": 1}, pure=False).result() == ("gpu-fake-a", "fake-a")


def test_a_cpu_trial_waits_behind_a_running_one_only_once_every_slot_runs_one(two_workers):
    table = WorkerTable(two_workers)
    first, second = sorted(table.processing())
    options, address, waits = placement(table, 0, {}, {}, slots=2, line_up=True)
    assert not waits and options["allow_other_workers"]  # a free slot: no waiting
    both_run = {"trial-a": first, "trial-b": second}
    assert placement(table, 0, {}, both_run, slots=2, line_up=False) is None
    options, address, waits = placement(table, 0, {}, both_run, slots=2, line_up=True)
    assert waits and options == {
        "workers": [table.workers[address][2]],
        "allow_other_workers": False,
    }  # bound by name: no thief takes it
    one_waits = {**both_run, "trial-c": address}
    assert placement(table, 0, {}, one_waits, slots=2, line_up=True)[1] != address  # one waiting trial per busy thread
    assert (
        placement(table, 0, {}, {**one_waits, "trial-d": ({first, second} - {address}).pop()}, slots=2, line_up=True)
        is None
    )
    # With one slot, the next trial waits behind the running one rather than start on the idle worker.
    assert placement(table, 0, {}, {"trial-a": first}, slots=1, line_up=True)[1:] == (first, True)
    assert placement(table, 0, {}, {"trial-a": first}, slots=1, line_up=False) is None
    # GPU trials never wait behind another.
    assert placement(table, 1, {"trial-a": 0, "trial-b": 0}, both_run, slots=2, line_up=True) is None


def test_a_trial_waits_only_on_a_worker_thatholds_the_data_the_trials_take(two_workers):
    from components.experiment.trial import shipped

    first, second = sorted(WorkerTable(two_workers).processing())
    part = two_workers.submit(shipped, np.arange(1000), workers=[first], pure=False)
    part.result()  # on the first worker only
    table = WorkerTable(two_workers, [part])
    assert table.processing() and table.holding([first, second]) == [first]
    both_run = {"trial-a": first, "trial-b": second}
    # A trial lined up on the worker that would still fetch the data could start before the one it waits behind.
    assert placement(table, 0, {}, both_run, slots=2, line_up=True)[1:] == (first, True)
    assert placement(table, 0, {}, {**both_run, "trial-c": first}, slots=2, line_up=True) is None
    two_workers.replicate([part], workers=[second])
    assert placement(table, 0, {}, {**both_run, "trial-c": first}, slots=2, line_up=True)[1:] == (second, True)
