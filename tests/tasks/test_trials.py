"""Trial placement on real Dask clusters: CPU workers, and workers that advertise GPUs.

No GPU exists here, so the GPU workers below are given made-up GPU ids: Dask
only sees the resource they advertise, which is what placement relies on.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import pytest
from distributed import Client, Scheduler, SpecCluster, get_worker

from components.spec import build_spec
from tasks.trials import (
    WorkerTable, _placement, cluster_gpus, dask_client, lines_up, local_workers, records_in_a_process, spawn_environment,
    threads_on_this_machine, visible_gpus,
)


def _where() -> tuple[str, str | None]:
    return get_worker().name, os.environ.get("CUDA_VISIBLE_DEVICES")


def _hold(seconds: float) -> tuple[str, float, float]:
    started = time.time()
    time.sleep(seconds)
    return get_worker().name, started, time.time()


def test_local_workers_pin_their_gpus_and_share_only_when_asked():
    workers = local_workers(2, ["0", "1", "2", "3"], 1)
    assert sorted(workers) == ["cpu-0", "cpu-1", "gpu-0", "gpu-1", "gpu-2", "gpu-3"]
    assert workers["gpu-2"]["options"]["env"] == {"CUDA_VISIBLE_DEVICES": "2"}
    assert workers["gpu-2"]["options"]["resources"] == {"GPU": 1} and workers["gpu-2"]["options"]["nthreads"] == 1
    assert "resources" not in workers["cpu-0"]["options"]
    assert workers["cpu-0"]["options"]["env"] == {"CUDA_VISIBLE_DEVICES": ""}
    pairs = local_workers(0, ["0", "1", "2", "3", "4"], 2)  # the fifth GPU cannot hold a 2-GPU trial
    assert {name: spec["options"]["env"]["CUDA_VISIBLE_DEVICES"] for name, spec in pairs.items()} == {"gpu-0-1": "0,1", "gpu-2-3": "2,3"}
    assert local_workers(0, ["0"], 0.5)["gpu-0"]["options"]["nthreads"] == 2


@pytest.mark.parametrize("value, expected", [("0,2", ["0", "2"]), ("", []), ("-1", []), (" 1 ", ["1"])])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, value, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert visible_gpus() == expected


@pytest.fixture(scope="module")
def gpu_cluster():
    workers = local_workers(1, ["fake-a"], 1)
    with SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": {"dashboard_address": ":0", "dashboard": False}}, silence_logs=logging.ERROR) as cluster:
        with Client(cluster) as client:
            client.wait_for_workers(2)
            yield client


def test_cpu_trials_never_take_a_gpu_worker(gpu_cluster):
    client = gpu_cluster
    options, address, _ = _placement(WorkerTable(client), 0, {}, {})
    futures = [client.submit(_where, key=f"trial-cpu-{i}", pure=False, **options) for i in range(6)]
    assert {f.result() for f in futures} == {("cpu-0", "")}  # and the CPU worker sees no GPU
    # A trial just sent to the CPU worker holds its one thread before the scheduler lists it.
    assert _placement(WorkerTable(client), 0, {}, {"trial-cpu-next": address}) is None
    assert _placement(WorkerTable(client), 0, {}, {"trial-cpu-next": "tcp://gone:1"}) is not None


def test_gpu_trials_hold_their_gpu_and_do_not_share_it(gpu_cluster):
    client = gpu_cluster
    assert cluster_gpus(client) == 1
    options, _, _ = _placement(WorkerTable(client), 1, {}, {})
    assert options["resources"] == {"GPU": 1}
    first = client.submit(_hold, 1.5, key="trial-gpu-0", pure=False, **options)
    while not any("trial-gpu-0" in keys for keys in client.processing().values()):
        time.sleep(0.05)
    assert _placement(WorkerTable(client), 1, {"trial-gpu-0": 1}, {}) is None  # its one GPU is held
    assert _placement(WorkerTable(client), 0, {"trial-gpu-0": 1}, {})[0]["workers"]  # CPU trials still have their worker
    # Submitted anyway, a second GPU trial waits for the GPU instead of sharing it.
    second = client.submit(_hold, 0.2, key="trial-gpu-1", pure=False, resources={"GPU": 1})
    (name_a, _, end_a), (name_b, start_b, _) = first.result(), second.result()
    assert name_a == name_b == "gpu-fake-a" and start_b >= end_a
    assert client.submit(_where, resources={"GPU": 1}, pure=False).result() == ("gpu-fake-a", "fake-a")


@pytest.fixture(scope="module")
def two_workers():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        yield client


def test_a_cpu_trial_waits_behind_a_running_one_only_once_every_slot_runs_one(two_workers):
    table = WorkerTable(two_workers)
    first, second = sorted(table.processing())
    options, address, waits = _placement(table, 0, {}, {}, slots=2, line_up=True)
    assert not waits and options["allow_other_workers"]  # a free slot: no waiting
    both_run = {"trial-a": first, "trial-b": second}
    assert _placement(table, 0, {}, both_run, slots=2, line_up=False) is None
    options, address, waits = _placement(table, 0, {}, both_run, slots=2, line_up=True)
    assert waits and options == {"workers": [table.workers[address][2]], "allow_other_workers": False}  # bound by name: no thief takes it
    one_waits = {**both_run, "trial-c": address}
    assert _placement(table, 0, {}, one_waits, slots=2, line_up=True)[1] != address  # one waiting trial per busy thread
    assert _placement(table, 0, {}, {**one_waits, "trial-d": ({first, second} - {address}).pop()}, slots=2, line_up=True) is None
    # With one slot, the next trial waits behind the running one rather than start on the idle worker.
    assert _placement(table, 0, {}, {"trial-a": first}, slots=1, line_up=True)[1:] == (first, True)
    assert _placement(table, 0, {}, {"trial-a": first}, slots=1, line_up=False) is None
    # GPU trials never wait behind another.
    assert _placement(table, 1, {"trial-a": 0, "trial-b": 0}, both_run, slots=2, line_up=True) is None


def test_a_trial_waits_only_on_a_worker_that_holds_the_data_the_trials_take(two_workers):
    from components.trial import shipped

    first, second = sorted(WorkerTable(two_workers).processing())
    part = two_workers.submit(shipped, np.arange(1000), workers=[first], pure=False)
    part.result()  # on the first worker only
    table = WorkerTable(two_workers, [part])
    assert table.processing() and table.holding([first, second]) == [first]
    both_run = {"trial-a": first, "trial-b": second}
    # A trial lined up on the worker that would still fetch the data could start before the one it waits behind.
    assert _placement(table, 0, {}, both_run, slots=2, line_up=True)[1:] == (first, True)
    assert _placement(table, 0, {}, {**both_run, "trial-c": first}, slots=2, line_up=True) is None
    two_workers.replicate([part], workers=[second])
    assert _placement(table, 0, {}, {**both_run, "trial-c": first}, slots=2, line_up=True)[1:] == (second, True)


def test_trials_line_up_once_the_last_few_took_under_a_second():
    from components.leaderboard import Leaderboard
    from components.trial import TrialResult

    board = Leaderboard("AUC_weighted")
    for i in range(3):
        board.add(TrialResult(i, "SGD", {}, "completed", 0.9, 0.05))
    assert not lines_up(board, "random", 2)  # too few to go by
    board.add(TrialResult(3, "SGD", {}, "failed", None, 0.01))
    assert lines_up(board, "random", 2) and lines_up(board, "random", 1) and lines_up(board, "bayesian", 2)
    assert not lines_up(board, "bayesian", 1)  # each trial sampled knowing every result before it
    for i in range(4, 9):  # the last eight: five of 3 s and three short ones
        board.add(TrialResult(i, "RandomForest", {}, "completed", 0.9, 3.0))
    assert not lines_up(board, "random", 2)


def test_dask_client_starts_gpu_workers_for_the_gpus_it_sees(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "fake-x,fake-y")
    base = {"name": "g", "task": "classification", "training_data": "t.csv", "target_column": "y", "compute": {"n_workers": 1}}
    with dask_client(build_spec({**base, "compute": {"n_workers": 1, "gpus_per_trial": 1}})) as client:
        client.wait_for_workers(3)
        assert cluster_gpus(client) == 2
        seen = {client.submit(_where, resources={"GPU": 1}, pure=False, key=f"w{i}").result()[1] for i in range(8)}
        assert seen <= {"fake-x", "fake-y"} and seen
    with dask_client(build_spec(base)) as client:  # no GPU asked for: plain CPU workers
        assert cluster_gpus(client) == 0


def test_the_sweep_is_one_prefect_task():
    from prefect import Task

    from tasks.trials import portfolio, run_trials

    assert isinstance(run_trials, Task) and run_trials.name == "run-trials"
    assert not isinstance(portfolio, Task)  # a helper of that task, not a task of its own


def _worker_settings() -> dict[str, str | None]:
    import torch

    return {"threads": str(torch.get_num_threads()), "omp": os.environ.get("OMP_NUM_THREADS"), "malloc": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "gpus": os.environ.get("CUDA_VISIBLE_DEVICES")}


def test_local_workers_share_the_cores_and_keep_the_default_allocator(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as a Dask cluster started earlier in this process leaves it
    spec = build_spec({"name": "w", "task": "classification", "training_data": "x.csv", "target_column": "y", "compute": {"n_workers": 1}})
    with dask_client(spec) as client:
        seen = client.submit(_worker_settings, pure=False).result()
    assert spawn_environment(1)["OMP_NUM_THREADS"] == str(os.cpu_count())
    assert seen == {"threads": str(os.cpu_count()), "omp": str(os.cpu_count()), "malloc": None, "gpus": ""}


def test_the_sweep_leaves_time_for_the_refit_of_its_best_trials():
    from components.leaderboard import Leaderboard
    from components.trial import TrialResult
    from tasks.trials import post_sweep_reserve

    board = Leaderboard("r2_score")
    for i, (metric, seconds) in enumerate([(0.5, 30.0), (0.9, 12.0), (0.8, 6.0), (0.1, 300.0)]):
        board.add(TrialResult(i, "ElasticNet", {}, "completed", metric, seconds))
    board.add(TrialResult(9, "ElasticNet", {}, "failed", None, 500.0))
    # The best three completed trials (not the 300 s one), one refit each of 1/3 of a 3-fold trial, plus the fixed part.
    assert post_sweep_reserve(board, 3, 3600) == pytest.approx(12.0 + (30 + 12 + 6) / 3)
    assert post_sweep_reserve(board, 3, 40) == 20.0  # never more than half the budget
    assert post_sweep_reserve(Leaderboard("r2_score"), 3, 3600) == 12.0
    # Forests and histogram boosting keep scikit-learn trees, which take time to register; LightGBM's do not.
    board.add(TrialResult(10, "ExtremeRandomTrees", {"n_estimators": 400}, "completed", 0.95, 3.0))
    board.add(TrialResult(11, "HistGradientBoosting", {"max_iter": 200}, "completed", 0.94, 3.0))
    board.add(TrialResult(12, "LightGBM", {"n_estimators": 2000}, "completed", 0.93, 3.0))
    expected = 12.0 + (3 + 3 + 3) / 3 + 0.005 * (400 + 200)
    assert post_sweep_reserve(board, 3, 3600) == pytest.approx(expected)


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
    spec = build_spec({"name": "e", "task": "classification", "training_data": "x.csv", "target_column": "y", "compute": {"n_workers": 2}})
    try:
        with dask_client(spec) as client:
            client.wait_for_workers(2)
            held = client.submit(_hold, 0.01, pure=False)
            held.result()
            running = client.submit(_hold, 30, pure=False)
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

    spec = build_spec({"name": "e", "task": "classification", "training_data": "x.csv", "target_column": "y", "compute": {"n_workers": 1}})
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "0.2s"}), dask_client(spec) as client:
        (first,) = client.nthreads()
        client.restart_workers([first], timeout=30)
        time.sleep(1)  # well past the timer
        assert client.submit(_where, pure=False).result(timeout=30)[0] == 0  # the restarted worker, under its name
        assert list(client.nthreads()) != [first] and len(client.nthreads()) == 1


def test_the_recorder_gets_a_process_only_where_a_core_is_left_for_it():
    assert records_in_a_process(cores=16, trials_here=2) and records_in_a_process(cores=16, trials_here=0)  # a remote cluster's
    assert records_in_a_process(cores=4, trials_here=2)
    assert not records_in_a_process(cores=3, trials_here=2)  # the sweep's loop needs the third core
    assert not records_in_a_process(cores=2, trials_here=2) and not records_in_a_process(cores=2, trials_here=1)


def test_threads_on_this_machine_count_its_workers_on_any_of_its_addresses(two_workers):
    from distributed import LocalCluster

    assert threads_on_this_machine(two_workers) == 2  # on the loopback address
    with LocalCluster(n_workers=1, threads_per_worker=3, host="0.0.0.0", dashboard_address=":0", silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        assert threads_on_this_machine(client) == 3  # on the machine's own address
