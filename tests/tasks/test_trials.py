"""The sweep as one Prefect task over bare Dask futures."""

from __future__ import annotations


def test_the_sweep_is_one_prefect_task_and_its_loop_is_not_one():
    from prefect import Task

    from tasks.sweep.loop import Sweep
    from tasks.trials import _planner, run_trials

    assert isinstance(run_trials, Task) and run_trials.name == "run-trials"
    assert not isinstance(_planner, Task) and not isinstance(
        Sweep.run, Task
    )  # helpers of that task, not tasks of their own
