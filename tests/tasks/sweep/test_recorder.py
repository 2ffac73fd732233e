"""The sweep's recorder: where it runs, and that it writes every trial in order."""

from __future__ import annotations

from tasks.sweep.recorder import records_in_a_process


def test_the_recorder_gets_a_process_only_where_a_core_is_left_for_it():
    assert records_in_a_process(cores=16, trials_here=2) and records_in_a_process(
        cores=16, trials_here=0
    )  # a remote cluster's
    assert records_in_a_process(cores=4, trials_here=2)
    assert not records_in_a_process(cores=3, trials_here=2)  # the sweep's loop needs the third core
    assert not records_in_a_process(cores=2, trials_here=2) and not records_in_a_process(cores=2, trials_here=1)
